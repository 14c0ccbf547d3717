"""Sending through messaging: every message commerce sends (an invoice, its payment request, a receipt) is a
MessagingService.SendMessage call, so messaging's rules apply to it as to every message (24-hour window,
consent, templates outside the window) and a repeated idempotency key sends nothing twice.

What messaging cannot carry yet is said by `supports_order_messages`: WhatsApp's interactive `order_details` and
`order_status` need an interactive kind for them in messaging's Content (see the commerce README section and the
report of issue 17); until then they are refused here with ORDER_MESSAGES_UNSUPPORTED and invoices go with a
payment link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from runtime.errors import DomainError, FailedPrecondition, InvalidArgument, PermissionDenied, Unavailable
from wecare.messaging.v1 import messaging_service_pb2 as mpb
from wecare.messaging.v1 import messaging_service_pb2_grpc

SEND_TIMEOUT = 10.0


@dataclass(frozen=True)
class Outgoing:
    """One message to one contact: a messaging Content, its category and an idempotency key."""

    channel: int  # mpb.Channel
    contact: str  # contacts/{id}
    content: mpb.Content
    idempotency_key: str
    category: int = mpb.CATEGORY_UTILITY


class Messenger(Protocol):
    supports_order_messages: bool

    async def send(self, message: Outgoing, on_behalf_of: str = "") -> str:
        """Sends through messaging; returns the message's name (`messages/{id}`). Messaging's refusals come back
        as the same domain error (FAILED_PRECONDITION naming its rule, INVALID_ARGUMENT naming its field)."""
        ...

    async def send_interactive(
        self, contact: str, interactive: dict, idempotency_key: str, on_behalf_of: str = ""
    ) -> str:
        """An interactive `order_details` / `order_status` object (domain/order_details.py)."""
        ...


def _domain_error(exc: grpc.aio.AioRpcError) -> Exception:
    code = exc.code()
    detail = f"messaging: {exc.details()}"
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        reason = ""
        status = rpc_status.from_call(exc)
        for packed in status.details if status else ():
            info = error_details_pb2.ErrorInfo()
            if packed.Unpack(info):
                reason = info.reason
        return FailedPrecondition(detail, reason=reason or "MESSAGING_REFUSED")
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument("message", detail)
    if code is grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDenied(detail)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED):
        return Unavailable(detail)
    return DomainError(detail)


class MessagingMessenger:
    """SendMessage on messaging, as the person who asked (their token) or as commerce's service identity."""

    supports_order_messages = False  # messaging's Content has no order_details / order_status kind yet

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = messaging_service_pb2_grpc.MessagingServiceStub(channel)

    async def send(self, message: Outgoing, on_behalf_of: str = "") -> str:
        request = mpb.SendMessageRequest(
            message=mpb.Message(
                channel=message.channel,
                category=message.category,
                contact=message.contact,
                content=message.content,
                idempotency_key=message.idempotency_key,
            )
        )
        metadata = (("authorization", f"Bearer {on_behalf_of}"),) if on_behalf_of else None
        try:
            sent = await self._stub.SendMessage(request, timeout=SEND_TIMEOUT, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise _domain_error(exc) from None
        return sent.name

    async def send_interactive(
        self, contact: str, interactive: dict, idempotency_key: str, on_behalf_of: str = ""
    ) -> str:
        raise FailedPrecondition(
            f"messaging cannot send an interactive {interactive.get('type')} message yet",
            reason="ORDER_MESSAGES_UNSUPPORTED",
        )
