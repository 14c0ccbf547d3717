"""What every service's main() does before and after its own wiring: settings, logs, tracing, the token
verifier, the audit store, and running the process until SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable

from runtime import tls
from runtime.audit.dynamodb_store import DynamoAuditStore
from runtime.audit.model import AuditStore
from runtime.audit.sqlite_store import SqliteAuditStore
from runtime.auth import TokenVerifier
from runtime.aws import AwsClients
from runtime.logs import setup_logging
from runtime.server import GrpcProcess
from runtime.settings import Settings
from runtime.storage import open_table
from runtime.tracing import setup_tracing

log = logging.getLogger("wecare.process")


def audit_store(settings: Settings, aws: AwsClients) -> AuditStore:
    return open_table(settings, aws, settings.audit_table, sqlite=SqliteAuditStore, dynamodb=DynamoAuditStore)


def tune_collector() -> None:
    """For a process whose heap grows fast with long-lived work (messaging: a 25,000-message send in flight): what
    startup made is frozen out of the collector's scans, and collections run less often. With the defaults,
    messaging spent a tenth of its time in full collections (~100 ms each, every second, finding nothing), seen as
    dips in the send rate. Not for every process: bulk's short-lived cycles hold large pages, and collecting them
    late took its peak memory for a 1,000,000-recipient job from 1.2x to 5x that of a small one (measured)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def run_service(
    name: str,
    address: Callable[[Settings], str],
    wire: Callable[[GrpcProcess, AwsClients], Awaitable[None]],
    started: Callable[[], None] | None = None,
) -> None:
    settings = Settings.from_env()
    setup_logging(name, settings.log_level)
    tracer_provider = setup_tracing(settings, name)
    tls.use(settings)
    aws = AwsClients(settings, owner=name)
    audit = audit_store(settings, aws)
    process = GrpcProcess(name, settings, address(settings), audit, TokenVerifier(settings))
    process.depends_on("audit", audit.ping)
    process.on_close(aws.close)
    process.on_close(audit.close)
    await wire(process, aws)
    log.info("settings", extra={"settings": settings.redacted()})
    if started is not None:
        started()  # the process's own settings once startup is done (e.g. tune_collector)
    try:
        await process.run()
    finally:
        tracer_provider.shutdown()


def main(name: str, address: Callable[[Settings], str], wire, started: Callable[[], None] | None = None) -> None:
    asyncio.run(run_service(name, address, wire, started))
