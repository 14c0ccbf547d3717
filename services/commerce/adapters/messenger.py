"""Sending through messaging: every message commerce sends (an invoice, its payment request, a receipt) goes
through messaging's public API, so messaging's rules apply to it as to every message (24-hour window, consent,
templates outside the window) and a repeated idempotency key sends nothing twice.

- On behalf of a person (SendInvoice): SendMessage with that person's own token, so messaging applies their
  role and its audit names them.
- As commerce itself (receipts, after a webhook): SendMessages, the send RPC messaging opens to services, with
  one message and keep_on_cancel; the call returns once messaging has accepted or refused it, and the accepted
  message is sent like any other.

WhatsApp's interactive `order_details` and `order_status` go as messaging's interactive ORDER_DETAILS and
ORDER_STATUS, carrying Meta's object as JSON (messaging checks that it adds up before it accepts it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from runtime.errors import DomainError, FailedPrecondition, InvalidArgument, PermissionDenied, Unavailable
from wecare.messaging.v1 import messaging_service_pb2 as mpb
from wecare.messaging.v1 import messaging_service_pb2_grpc

SEND_TIMEOUT = 10.0
INTERACTIVE_KINDS = {
    "order_details": mpb.INTERACTIVE_KIND_ORDER_DETAILS,
    "order_status": mpb.INTERACTIVE_KIND_ORDER_STATUS,
}


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


def _refusal(status: status_pb2.Status) -> Exception:
    """A SendMessages refusal (google.rpc.Status) as the domain error SendMessage would have raised."""
    reason = ""
    for packed in status.details:
        info = error_details_pb2.ErrorInfo()
        if packed.Unpack(info):
            reason = info.reason
    if status.code == code_pb2.FAILED_PRECONDITION:
        return FailedPrecondition(f"messaging: {status.message}", reason=reason or "MESSAGING_REFUSED")
    if status.code == code_pb2.INVALID_ARGUMENT:
        return InvalidArgument("message", f"messaging: {status.message}")
    return DomainError(f"messaging: {status.message}")


class MessagingMessenger:
    """SendMessage as the person who asked (their token); SendMessages as commerce's service identity."""

    supports_order_messages = True  # messaging's interactive ORDER_DETAILS / ORDER_STATUS

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = messaging_service_pb2_grpc.MessagingServiceStub(channel)

    async def send(self, message: Outgoing, on_behalf_of: str = "") -> str:
        proto = mpb.Message(
            channel=message.channel,
            category=message.category,
            contact=message.contact,
            content=message.content,
            idempotency_key=message.idempotency_key,
        )
        try:
            if on_behalf_of:
                sent = await self._stub.SendMessage(
                    mpb.SendMessageRequest(message=proto),
                    timeout=SEND_TIMEOUT,
                    metadata=(("authorization", f"Bearer {on_behalf_of}"),),
                )
                return sent.name
            return await self._send_as_service(proto)
        except grpc.aio.AioRpcError as exc:
            raise _domain_error(exc) from None

    async def _send_as_service(self, proto: mpb.Message) -> str:
        call = self._stub.SendMessages(
            mpb.SendMessagesRequest(messages=[proto], keep_on_cancel=True), timeout=SEND_TIMEOUT
        )
        try:
            async for progress in call:
                for result in progress.results:
                    if result.index != 0:
                        continue
                    if result.HasField("refusal"):
                        raise _refusal(result.refusal)
                    if result.message:
                        return result.message
            raise Unavailable("messaging ended the send without accepting or refusing the message")
        finally:
            call.cancel()  # keep_on_cancel: an accepted message is still sent

    async def send_interactive(
        self, contact: str, interactive: dict, idempotency_key: str, on_behalf_of: str = ""
    ) -> str:
        kind = INTERACTIVE_KINDS.get(str(interactive.get("type")))
        if kind is None:
            raise InvalidArgument("interactive.type", "order_details or order_status")
        content = mpb.Content(
            interactive=mpb.InteractiveContent(
                kind=kind, interactive_json=json.dumps(interactive, separators=(",", ":"), ensure_ascii=False)
            )
        )
        return await self.send(Outgoing(mpb.CHANNEL_WHATSAPP, contact, content, idempotency_key), on_behalf_of)
