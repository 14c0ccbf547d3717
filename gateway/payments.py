"""`POST /v1/events/payments`: the payment provider's webhooks (docs/DESIGN.md routes). Public: no token, but nothing
is done with a request until its signature verifies.

- The body is capped (WECARE_PAYMENT_WEBHOOK_MAX_BODY_BYTES, 413 past it) and read raw: the signature is over the
  exact bytes sent, never over re-serialised JSON.
- `X-Razorpay-Signature` must be the hex HMAC-SHA256 of the body keyed with the webhook secret
  (WECARE_PAYMENT_WEBHOOK_SECRET), compared in constant time. Anything else (no header, a wrong one, no secret
  configured) is 401 and nothing is changed or passed on.
- Then commerce's RecordPaymentEvents (with the gateway's service identity) gets the raw body and the event id
  (`X-Razorpay-Event-Id`, the same on every retry of an event; without one, the body's SHA-256, which a retry
  repeats too): commerce deduplicates by it. 200 once commerce has recorded it (or found it a repeat, or could
  not understand it: a retry would not help); 503 / 500 when commerce could not take it, so the provider retries
  (Razorpay retries for 24 hours)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web

from runtime.auth import ServiceTokens
from runtime.clients import service_channel
from runtime.settings import Settings
from wecare.commerce.v1 import commerce_service_pb2_grpc
from wecare.commerce.v1 import payments_pb2 as pb

log = logging.getLogger("wecare.gateway.payments")

ROUTE = "/v1/events/payments"
SIGNATURE = "X-Razorpay-Signature"
EVENT_ID = "X-Razorpay-Event-Id"
RECORD_TIMEOUT = 4.0  # Razorpay wants an answer within 5 seconds
RETRY_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}

Record = Callable[[pb.RecordPaymentEventsRequest], Awaitable[pb.RecordPaymentEventsResponse]]


def signature_of(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verified(secret: bytes, body: bytes, given: str) -> bool:
    """Whether `given` is the body's signature; constant time in the signature's bytes."""
    if not secret or not given:
        return False
    return hmac.compare_digest(signature_of(secret, body).encode(), given.strip().encode("utf-8", "replace"))


class PaymentWebhookEndpoint:
    def __init__(self, settings: Settings, record: Record):
        self._secret = settings.payment_webhook_secret.encode()
        self._max_body = settings.payment_webhook_max_body_bytes
        self._record = record
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        if not self._secret:
            log.warning("no payment webhook secret (WECARE_PAYMENT_WEBHOOK_SECRET): every webhook will be refused")

    @classmethod
    def for_settings(cls, settings: Settings) -> PaymentWebhookEndpoint:
        """Production wiring: RecordPaymentEvents on commerce with the gateway's service identity."""
        tokens = ServiceTokens(settings, "gateway")
        channel = service_channel(settings.commerce_address, tokens.token)
        stub = commerce_service_pb2_grpc.CommerceServiceStub(channel)

        async def record(request: pb.RecordPaymentEventsRequest) -> pb.RecordPaymentEventsResponse:
            return await stub.RecordPaymentEvents(request, timeout=RECORD_TIMEOUT)

        endpoint = cls(settings, record)
        endpoint._closers.append(channel.close)
        return endpoint

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(ROUTE, self.handle)]

    async def close(self) -> None:
        for close in self._closers:
            await close()

    async def handle(self, request: web.Request) -> web.Response:
        body = await self._read(request)
        if body is None:
            return _answer(413, f"the body is over the limit of {self._max_body} bytes")
        if not verified(self._secret, body, request.headers.get(SIGNATURE, "")):
            log.warning("payment webhook refused: bad signature", extra={"bytes": len(body)})
            return _answer(401, "the signature does not verify")
        event_id = request.headers.get(EVENT_ID, "").strip()[:200] or hashlib.sha256(body).hexdigest()
        event = pb.PaymentEvent(source=pb.PAYMENT_EVENT_SOURCE_PROVIDER, event_id=event_id, payload=body)
        try:
            reply = await self._record(pb.RecordPaymentEventsRequest(events=[event]))
        except grpc.aio.AioRpcError as exc:
            log.error(
                "payment event not recorded; the provider will retry",
                extra={"event_id": event_id, "code": exc.code().name, "detail": exc.details()},
            )
            return _answer(503 if exc.code() in RETRY_CODES else 500, "not recorded; retry")
        outcome = pb.PaymentEventOutcome.Name(reply.results[0].outcome) if reply.results else "UNKNOWN"
        return _answer(200, outcome.removeprefix("PAYMENT_EVENT_OUTCOME_"))

    async def _read(self, request: web.Request) -> bytes | None:
        if request.content_length is not None and request.content_length > self._max_body:
            return None
        chunks, size = [], 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > self._max_body:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


def _answer(status: int, text: str) -> web.Response:
    return web.json_response({"status": text}, status=status)
