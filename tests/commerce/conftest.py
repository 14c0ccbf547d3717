"""The commerce world of the invoice and payment tests, all in this event loop over real sockets: commerce wired as
its main() wires it (SQLite in tmp_path, its PDFs in a moto S3 bucket), the sandbox's payment provider
(localrun/sandbox/payments.py) as its Razorpay, a gateway with the payment webhook endpoint and commerce's
transcoded routes, and a messaging double."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass

import boto3
import grpc
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import Gateway
from gateway.backends import BACKENDS
from gateway.payments import PaymentWebhookEndpoint
from localrun.procs import free_port
from localrun.sandbox.config import Config
from localrun.sandbox.payments import PaymentsSandbox
from runtime.auth import ServiceTokens
from services.commerce.main import wire as wire_commerce
from tests.commerce.messaging_double import MessagingDouble
from tests.support.identity import TestPool
from tests.support.servers import running, serving
from wecare.commerce.v1 import commerce_service_pb2_grpc as pb_grpc
from wecare.messaging.v1 import messaging_service_pb2_grpc as mpb_grpc

POOL = TestPool()
KEY_ID, KEY_SECRET, WEBHOOK_SECRET = "rzp_test_world", "world-key-secret", "world-webhook-secret"


def bearer(*groups: str, sub: str = "") -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {POOL.token(*groups, sub=sub or 'user-' + '-'.join(groups))}"),)


ADMIN, OPERATOR, VIEWER = bearer("admin"), bearer("operator"), bearer("viewer")


@dataclass
class World:
    stub: pb_grpc.CommerceServiceStub
    http: TestClient  # the gateway
    sandbox: PaymentsSandbox
    messaging: MessagingDouble
    service: tuple[tuple[str, str], ...]  # a service identity's metadata
    s3: object
    bucket: str
    data_dir: object

    async def settled(self, within: float = 60.0) -> None:
        """Until the sandbox has no webhook left to deliver."""
        deadline = asyncio.get_running_loop().time() + within
        while self.sandbox.pending():
            assert asyncio.get_running_loop().time() < deadline, f"{self.sandbox.pending()} webhooks undelivered"
            await asyncio.sleep(0.05)


@pytest.fixture
async def world(tmp_path, moto_endpoint):
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    double = MessagingDouble()
    sandbox_port = free_port()
    config = Config()
    sandbox = PaymentsSandbox(
        config,
        key_id=KEY_ID,
        key_secret=KEY_SECRET,
        webhook_url="",  # set once the gateway listens
        webhook_secret=WEBHOOK_SECRET,
        public_url=f"http://127.0.0.1:{sandbox_port}",
    )
    app = web.Application()
    app.add_routes(sandbox.routes())
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", sandbox_port).start()
    async with contextlib.AsyncExitStack() as stack:
        messaging_address = await stack.enter_async_context(
            serving(double, mpb_grpc.add_MessagingServiceServicer_to_server)
        )
        settings = dict(
            aws_endpoint_url=moto_endpoint,
            media_bucket=bucket,
            payment_api_url=f"http://127.0.0.1:{sandbox_port}",
            payment_key_id=KEY_ID,
            payment_key_secret=KEY_SECRET,
            messaging_address=messaging_address,
            links_base_url="https://go.example",
            payments_sweep_seconds=0.5,
        )
        commerce = await stack.enter_async_context(running("commerce", wire_commerce, POOL, tmp_path, **settings))
        gateway_settings = POOL.settings(
            commerce_address=commerce.address, payment_webhook_secret=WEBHOOK_SECRET, max_body_bytes=1_048_576
        )
        endpoint = PaymentWebhookEndpoint.for_settings(gateway_settings)
        gateway = Gateway(
            gateway_settings,
            POOL.verifier(gateway_settings),
            backends=tuple(b for b in BACKENDS if b.address_setting == "commerce_address"),
            extra_routes=endpoint.routes(),
        )
        http = TestClient(TestServer(gateway.app(), host="127.0.0.1"))
        await http.start_server()
        sandbox.webhook_url = str(http.make_url("/v1/events/payments"))
        delivering = asyncio.create_task(sandbox.run())
        channel = grpc.aio.insecure_channel(commerce.address)
        service = (("authorization", f"Bearer {ServiceTokens(commerce.settings, 'gateway').token()}"),)
        try:
            yield World(pb_grpc.CommerceServiceStub(channel), http, sandbox, double, service, s3, bucket, tmp_path)
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
            await channel.close()
            await http.close()
            await endpoint.close()
    await runner.cleanup()
