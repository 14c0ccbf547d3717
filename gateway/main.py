"""Wiring of the gateway process: settings, JSON logs, tracing, the token verifier, the app on
settings.gateway_address (settings.listen_address overrides), and a graceful stop on SIGTERM: readiness turns 503,
after drain_seconds the listener closes, in-flight requests get grace_seconds to finish (open event streams end
cleanly), the backend channels close, exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from gateway.app import Gateway
from gateway.console import Console
from gateway.links import LinkEndpoint
from gateway.payments import PaymentWebhookEndpoint
from gateway.ratelimit import RateLimiter
from gateway.sns import SnsEndpoint
from runtime import tls
from runtime.auth import TokenVerifier
from runtime.logs import setup_logging
from runtime.settings import Settings
from runtime.tracing import setup_tracing

log = logging.getLogger("wecare.gateway")


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


async def serve(gateway: Gateway, stop: asyncio.Event, started: asyncio.Event | None = None) -> None:
    """Serves until `stop` is set, then stops gracefully."""
    settings = gateway.settings
    runner = web.AppRunner(
        gateway.app(), handler_cancellation=True, shutdown_timeout=settings.grace_seconds, access_log=None
    )
    await runner.setup()
    address = settings.listen_address or settings.gateway_address
    host, port = host_port(address)
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    log.info("serving", extra={"address": address, "routes": len(gateway.routes.routes)})
    if started is not None:
        started.set()
    await stop.wait()
    log.info("stopping: readiness 503, draining", extra={"grace_seconds": settings.grace_seconds})
    gateway.draining = True
    if settings.drain_seconds:
        await asyncio.sleep(settings.drain_seconds)
    await runner.cleanup()  # stop listening, let in-flight requests finish, close the channels
    log.info("stopped")


async def run() -> None:
    settings = Settings.from_env()
    setup_logging("gateway", settings.log_level)
    tracer_provider = setup_tracing(settings, "gateway")
    log.info("settings", extra={"settings": settings.redacted()})
    tls.use(settings)
    sns = SnsEndpoint.for_settings(settings)
    links = LinkEndpoint.for_settings(settings)
    payments = PaymentWebhookEndpoint.for_settings(settings)
    gateway = Gateway(
        settings,
        TokenVerifier(settings),
        extra_routes=[*sns.routes(), *links.routes(), *payments.routes()],
        admission=RateLimiter.for_settings(settings),
        console=Console(settings),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(gateway, stop)
    finally:
        await sns.close()
        await links.close()
        await payments.close()
        tracer_provider.shutdown()


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
