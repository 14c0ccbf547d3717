"""What every service's main() does before and after its own wiring: settings, logs, tracing, the token
verifier, the audit store, and running the process until SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable

from runtime import tls
from runtime.audit.model import AuditStore
from runtime.auth import TokenVerifier
from runtime.aws import AwsClients
from runtime.logs import setup_logging
from runtime.server import GrpcProcess
from runtime.settings import Settings
from runtime.tracing import setup_tracing

log = logging.getLogger("wecare.process")


def audit_store(settings: Settings, aws: AwsClients) -> AuditStore:
    if settings.store == "dynamodb":
        from runtime.audit.dynamodb_store import DynamoAuditStore

        return DynamoAuditStore(aws, settings.table(settings.audit_table))
    from runtime.audit.sqlite_store import SqliteAuditStore

    return SqliteAuditStore(settings.data_dir / f"{settings.table(settings.audit_table)}.sqlite3")


def tune_collector() -> None:
    """The cyclic garbage collector, set for a long-running server once its startup is done: what startup made is
    frozen out of its scans, and it runs every 50,000 net allocations instead of 700. With the defaults, messaging
    accepting a 20,000-message send spent a tenth of its time in full collections (~100 ms each, every second,
    finding nothing), which showed as dips in the send rate; measured in docs/BENCHMARKS.md."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def run_service(
    name: str, address: Callable[[Settings], str], wire: Callable[[GrpcProcess, AwsClients], Awaitable[None]]
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
    tune_collector()
    try:
        await process.run()
    finally:
        tracer_provider.shutdown()


def main(name: str, address: Callable[[Settings], str], wire) -> None:
    asyncio.run(run_service(name, address, wire))
