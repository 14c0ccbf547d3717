"""`POST /v1/events/payments` (gateway/payments.py) on its own, with commerce's RecordPaymentEvents played by the
test: what reaches commerce is exactly the signed raw body and the provider's event id (or the body's SHA-256);
no secret configured refuses everything; commerce unreachable is 503 (the provider retries), any other failure
500; the size cap is checked before the body is read."""

from __future__ import annotations

import hashlib
import hmac

import grpc
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.payments import PaymentWebhookEndpoint
from runtime.settings import Settings
from wecare.commerce.v1 import payments_pb2 as pb

SECRET = "gateway-test-webhook-secret"
BODY = b'{"entity":"event","event":"payment.captured","payload":{}}'


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
async def endpoint():
    clients = []

    async def make(record, secret: str = SECRET, max_body: int = 1024) -> TestClient:
        settings = Settings(payment_webhook_secret=secret, payment_webhook_max_body_bytes=max_body)
        app = web.Application()
        app.add_routes(PaymentWebhookEndpoint(settings, record).routes())
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def answering(outcome=pb.PAYMENT_EVENT_OUTCOME_APPLIED):
    seen: list[pb.RecordPaymentEventsRequest] = []

    async def record(request: pb.RecordPaymentEventsRequest) -> pb.RecordPaymentEventsResponse:
        seen.append(request)
        return pb.RecordPaymentEventsResponse(results=[pb.PaymentEventResult(outcome=outcome)])

    return record, seen


async def test_the_signed_raw_body_and_its_event_id_reach_commerce(endpoint):
    record, seen = answering()
    client = await endpoint(record)
    reply = await client.post(
        "/v1/events/payments", data=BODY, headers={"X-Razorpay-Signature": sign(BODY), "X-Razorpay-Event-Id": "evt_1"}
    )
    assert reply.status == 200 and (await reply.json()) == {"status": "APPLIED"}
    (event,) = seen[0].events
    assert (event.source, event.event_id, event.payload) == (pb.PAYMENT_EVENT_SOURCE_PROVIDER, "evt_1", BODY)
    await client.post("/v1/events/payments", data=BODY, headers={"X-Razorpay-Signature": sign(BODY)})
    assert seen[1].events[0].event_id == hashlib.sha256(BODY).hexdigest()  # no id: the same for every retry


async def test_refusals_change_nothing(endpoint):
    record, seen = answering()
    client = await endpoint(record)
    for headers in ({}, {"X-Razorpay-Signature": sign(BODY, "other")}, {"X-Razorpay-Signature": sign(BODY).upper()}):
        assert (await client.post("/v1/events/payments", data=BODY, headers=headers)).status == 401
    big = b"x" * 2048
    assert (
        await client.post("/v1/events/payments", data=big, headers={"X-Razorpay-Signature": sign(big)})
    ).status == 413
    unconfigured = await endpoint(record, secret="")
    empty_key = hmac.new(b"", BODY, hashlib.sha256).hexdigest()
    assert (
        await unconfigured.post("/v1/events/payments", data=BODY, headers={"X-Razorpay-Signature": empty_key})
    ).status == 401
    assert seen == []


@pytest.mark.parametrize(("code", "status"), [(grpc.StatusCode.UNAVAILABLE, 503), (grpc.StatusCode.INTERNAL, 500)])
async def test_commerce_failing_asks_the_provider_to_retry(endpoint, code, status):
    async def record(request):
        raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "down")

    client = await endpoint(record)
    reply = await client.post("/v1/events/payments", data=BODY, headers={"X-Razorpay-Signature": sign(BODY)})
    assert reply.status == status
