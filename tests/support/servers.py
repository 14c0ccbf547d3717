"""Run a service in this test's event loop exactly as its main() wires it, on a free port, with SQLite in a
temporary folder and the test pool's tokens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc

from localrun.procs import free_port
from runtime.audit.sqlite_store import SqliteAuditStore
from runtime.aws import AwsClients
from runtime.server import GrpcProcess
from tests.support.identity import TestPool

Wire = Callable[[GrpcProcess, AwsClients], Awaitable[None]]


@contextlib.asynccontextmanager
async def running(name: str, wire: Wire, pool: TestPool, data_dir: Path, **settings) -> AsyncIterator[GrpcProcess]:
    address = f"127.0.0.1:{free_port()}"
    config = pool.settings(data_dir=data_dir, grace_seconds=1.0, **settings)
    aws = AwsClients(config)
    audit = SqliteAuditStore(data_dir / "AuditTable.sqlite3")
    process = GrpcProcess(name, config, address, audit, pool.verifier(config), probe_interval=0.2)
    process.depends_on("audit", audit.ping)
    process.on_close(aws.close)
    process.on_close(audit.close)
    await wire(process, aws)
    stop = asyncio.Event()
    task = asyncio.create_task(process.run(stop, handle_signals=False))
    ready = asyncio.create_task(process.ready.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises why it could not start
    try:
        yield process
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def serving(servicer, add_to_server) -> AsyncIterator[str]:
    """A bare grpc.aio server of one servicer (a double) on a free port; yields its address."""
    server = grpc.aio.server()
    add_to_server(servicer, server)
    address = f"127.0.0.1:{free_port()}"
    server.add_insecure_port(address)
    await server.start()
    try:
        yield address
    finally:
        await server.stop(0)
