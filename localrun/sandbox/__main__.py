"""`python -m localrun.sandbox`: serves the sandbox on settings.sandbox_address (127.0.0.1:4599), appends to
WECARE_SANDBOX_LOG, delivers status events to messaging at settings.messaging_address, and plays the payment
provider (its webhooks go to the gateway's /v1/events/payments). Stops on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal

from aiohttp import web

from localrun.sandbox.config import Config
from localrun.sandbox.events import EventSink
from localrun.sandbox.log import LogWriter
from localrun.sandbox.payments import PaymentsSandbox
from localrun.sandbox.server import Sandbox
from runtime.aws import AwsClients
from runtime.logs import setup_logging
from runtime.settings import Settings

log = logging.getLogger("wecare.sandbox")


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    config = Config()
    if settings.sandbox_config:
        config.update(json.loads(settings.sandbox_config))
    writer = LogWriter(settings.sandbox_log)
    sink = EventSink(settings, batch=config.ingest_batch, interval=config.ingest_interval)
    aws = AwsClients(settings)

    async def put_media(bucket: str, key: str, data: bytes, content_type: str) -> None:
        s3 = await aws.client("s3")
        await s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    media_store = put_media if settings.aws_endpoint_url else None  # S3 locally is the embedded AWS
    sandbox = Sandbox(
        writer, sink, config, settings.region, media_store=media_store, links_base=settings.links_base_url
    )
    payments = PaymentsSandbox(
        config,
        key_id=settings.payment_key_id,
        key_secret=settings.payment_key_secret,
        webhook_url=settings.sandbox_payment_webhook_url or f"http://{settings.gateway_address}/v1/events/payments",
        webhook_secret=settings.payment_webhook_secret,
        public_url=f"http://{settings.sandbox_address}",
    )
    sandbox.payments = payments  # WhatsApp order payments: the provider's side
    app = sandbox.app()
    app.add_routes(payments.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = settings.sandbox_address.rpartition(":")
    # SO_REUSEADDR, as every other server of the stack: a sandbox started again at once listens although its last
    # connections are still in TIME-WAIT (Linux refuses a second listener all the same).
    site = web.TCPSite(runner, host or "127.0.0.1", int(port), reuse_address=True)
    await site.start()
    delivering = asyncio.create_task(sink.run())
    webhooks = asyncio.create_task(payments.run())
    log.info("sandbox serving", extra={"address": settings.sandbox_address, "log": str(settings.sandbox_log)})
    try:
        await stop.wait()
    finally:
        for task in (delivering, webhooks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()
        await sandbox.customer.close()
        await aws.close()
        writer.close()
        log.info(
            "sandbox stopped", extra={"events_undelivered": sink.pending(), "webhooks_undelivered": payments.pending()}
        )


def main() -> None:
    settings = Settings.from_env()
    setup_logging("sandbox", settings.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
