"""The commerce service as messaging uses it, over its gRPC API with messaging's service identity: minting
tracked links at acceptance (BatchCreateLinks), the clicks of a message (ListClicks), a Flow's answer
(SubmitFormResponse) and WhatsApp payment statuses (RecordPaymentEvents).

Commerce's refusals come back as what they mean here: a passing fault is CommerceUnavailable (retry), a request
commerce refuses for good is CommerceRefused (its status code and message), a flow token that is not ours is
FormUnknown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import grpc

from runtime.names import seconds, timestamp
from services.messaging.domain.inbound import PaymentStatus
from services.messaging.domain.tracking import Minted
from wecare.commerce.v1 import commerce_service_pb2_grpc, forms_pb2, links_pb2, payments_pb2

TIMEOUT = 10.0
PASSING = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)


class CommerceUnavailable(Exception):
    """Commerce did not answer, or answered with a passing fault: try again."""


class CommerceRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class FormUnknown(Exception):
    """SubmitFormResponse: the flow token is not one of ours (NOT_FOUND)."""


@dataclass(frozen=True)
class LinkAsk:
    """One link to mint for one recipient of one message."""

    target_url: str
    request_id: str
    message: str  # messages/{id}
    contact: str = ""  # contacts/{id}
    recipient: str = ""
    job: str = ""  # bulkJobs/{id}


@dataclass(frozen=True)
class ClickRecord:
    link: str
    first_click_time: float
    last_click_time: float
    click_count: int


@dataclass(frozen=True)
class FormReply:
    response_json: str
    sender: str
    reply_wamid: str
    reply_message: str
    submit_time: float


class LinkMinter(Protocol):
    async def mint(self, asks: list[LinkAsk]) -> list[Minted]:
        """The links, in order; all or none. Raises CommerceUnavailable or CommerceRefused."""
        ...

    async def clicks(self, message: str) -> list[ClickRecord]:
        """The clicks on the links a message carries (`messages/{id}`)."""
        ...


class CommerceEvents(Protocol):
    async def submit_form(self, reply: FormReply) -> str:
        """Stores a Flow's answer; returns the response's name. Raises FormUnknown, CommerceRefused (the
        answer is invalid: nothing was stored) or CommerceUnavailable."""
        ...

    async def record_payments(self, statuses: list[PaymentStatus]) -> None:
        """Hands WhatsApp payment statuses over (commerce deduplicates them by event id). Raises
        CommerceUnavailable or CommerceRefused."""
        ...


def _fault(exc: grpc.aio.AioRpcError) -> Exception:
    if exc.code() in PASSING:
        return CommerceUnavailable(f"commerce: {exc.code().name} {exc.details()}")
    return CommerceRefused(exc.code().name, exc.details() or "")


class CommerceClient:
    """LinkMinter and CommerceEvents over one channel to commerce (messaging's service token)."""

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = commerce_service_pb2_grpc.CommerceServiceStub(channel)

    async def mint(self, asks: list[LinkAsk]) -> list[Minted]:
        request = links_pb2.BatchCreateLinksRequest(
            requests=[
                links_pb2.CreateLinkRequest(
                    link=links_pb2.Link(
                        target_url=a.target_url,
                        contact=a.contact,
                        recipient=a.recipient,
                        message=a.message,
                        job=a.job,
                    ),
                    request_id=a.request_id,
                )
                for a in asks
            ]
        )
        try:
            reply = await self._stub.BatchCreateLinks(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            raise _fault(exc) from None
        return [Minted(link.short_url, link.code) for link in reply.links]

    async def clicks(self, message: str) -> list[ClickRecord]:
        out: list[ClickRecord] = []
        token = ""
        while True:
            try:
                reply = await self._stub.ListClicks(
                    links_pb2.ListClicksRequest(message=message, page_size=1000, page_token=token), timeout=TIMEOUT
                )
            except grpc.aio.AioRpcError as exc:
                raise _fault(exc) from None
            out += [
                ClickRecord(c.link, seconds(c.first_click_time), seconds(c.last_click_time), int(c.click_count))
                for c in reply.clicks
            ]
            token = reply.next_page_token
            if not token:
                return out

    async def submit_form(self, reply: FormReply) -> str:
        request = forms_pb2.SubmitFormResponseRequest(
            response_json=reply.response_json,
            sender=reply.sender,
            reply_wamid=reply.reply_wamid,
            reply_message=reply.reply_message,
            submit_time=timestamp(reply.submit_time),
        )
        try:
            answer = await self._stub.SubmitFormResponse(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                raise FormUnknown(exc.details() or "") from None
            raise _fault(exc) from None
        return answer.response.name

    async def record_payments(self, statuses: list[PaymentStatus]) -> None:
        request = payments_pb2.RecordPaymentEventsRequest(
            events=[
                payments_pb2.PaymentEvent(
                    source=payments_pb2.PAYMENT_EVENT_SOURCE_WHATSAPP, event_id=s.event_id, payload=s.payload.encode()
                )
                for s in statuses
            ]
        )
        try:
            await self._stub.RecordPaymentEvents(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            raise _fault(exc) from None
