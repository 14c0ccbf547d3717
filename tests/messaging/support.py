"""Helpers for the messaging tests: the sandbox in this test's event loop, and whole processes (sandbox,
contacts, one or more messaging processes on one store) started as `python -m` exactly as the stack starts them."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from localrun.procs import free_port, start_python, stop, wait_http
from localrun.sandbox.config import Config
from localrun.sandbox.events import EventSink
from localrun.sandbox.log import LogWriter
from localrun.sandbox.server import Sandbox
from localrun.stack import grpc_serving
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters.store import InboundStores, OutboundStores
from services.messaging.main import stores

MESSAGING = "wecare.messaging.v1.MessagingService"
CONTACTS = "wecare.contacts.v1.ContactsService"


@contextlib.asynccontextmanager
async def stores_of(settings: Settings) -> AsyncIterator[tuple[OutboundStores, InboundStores]]:
    """The stores of a messaging process with these settings, opened as its main() opens them: another handle on
    the same tables, as a second messaging process has (tests reach a process's data the way production does)."""
    aws = AwsClients(settings)
    outbound, inbound = stores(settings, aws)
    try:
        yield outbound, inbound
    finally:
        await outbound.close()
        await inbound.close()
        await aws.close()


def phone_ids(n: int) -> list[str]:
    return [f"phone-number-id-{i + 1:032x}" for i in range(n)]


@contextlib.asynccontextmanager
async def sandbox_here(
    log_path: Path, messaging_address: str = "", media_store=None, **config
) -> AsyncIterator[tuple[str, Sandbox]]:
    """The sandbox served from this event loop on a free port; events go to messaging_address when given; media
    copies are written with media_store when given."""
    conf = Config()
    conf.update(config)
    writer = LogWriter(log_path)
    sink = None
    if messaging_address:
        sink = EventSink(Settings(messaging_address=messaging_address), conf.ingest_batch, conf.ingest_interval)
    sandbox = Sandbox(writer, sink, conf, media_store=media_store)
    runner = web.AppRunner(sandbox.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    import asyncio

    delivering = asyncio.create_task(sink.run()) if sink else None
    try:
        yield f"http://127.0.0.1:{port}", sandbox
    finally:
        if delivering:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
        await runner.cleanup()
        writer.close()


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen
    address: str
    log: Path

    def kill(self) -> None:
        """kill -9."""
        self.proc.kill()
        self.proc.wait()


@dataclass
class Processes:
    """A sandbox, contacts and messaging processes on one shared data dir (the embedded store)."""

    root: Path
    phones: list[str]
    moto: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    sandbox_config: dict = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    sandbox_url: str = ""
    sandbox_log: Path = Path()
    contacts_address: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "WECARE_DATA_DIR": str(self.root / "data"),
            "WECARE_WHATSAPP_PHONE_NUMBER_IDS": ",".join(self.phones),
            "WECARE_SOCIAL_MESSAGING_ENDPOINT_URL": self.sandbox_url,
            "WECARE_SMS_VOICE_ENDPOINT_URL": self.sandbox_url,
            "WECARE_CONTACTS_ADDRESS": self.contacts_address,
            "WECARE_LOG_LEVEL": "INFO",
            "WECARE_GRACE_SECONDS": "2",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        if self.moto:
            env["WECARE_AWS_ENDPOINT_URL"] = self.moto
        env.update(self.settings)
        env.update(extra)
        return env

    def start_sandbox(self, messaging_address: str) -> Proc:
        port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        self.sandbox_log = self.root / "sandbox-sent.jsonl"
        env = self.env(
            WECARE_SANDBOX_ADDRESS=f"127.0.0.1:{port}",
            WECARE_SANDBOX_LOG=str(self.sandbox_log),
            WECARE_MESSAGING_ADDRESS=messaging_address,
            WECARE_SANDBOX_CONFIG=json.dumps(self.sandbox_config),
        )
        log = self.root / "sandbox.log"
        proc = start_python("localrun.sandbox", env, log)
        wait_http(f"{self.sandbox_url}/sandbox/health", timeout=30, proc=proc)
        p = Proc("sandbox", proc, f"127.0.0.1:{port}", log)
        self.procs.append(p)
        return p

    def start_contacts(self) -> Proc:
        address = f"127.0.0.1:{free_port()}"
        self.contacts_address = address
        log = self.root / "contacts.log"
        proc = start_python("services.contacts", self.env(WECARE_CONTACTS_ADDRESS=address), log)
        self._wait(proc, address, CONTACTS, log)
        p = Proc("contacts", proc, address, log)
        self.procs.append(p)
        return p

    def start_messaging(self, address: str | None = None, **extra: str) -> Proc:
        address = address or f"127.0.0.1:{free_port()}"
        log = self.root / f"messaging-{address.rsplit(':', 1)[1]}.log"
        proc = start_python("services.messaging", self.env(WECARE_MESSAGING_ADDRESS=address, **extra), log)
        self._wait(proc, address, MESSAGING, log)
        p = Proc("messaging", proc, address, log)
        self.procs.append(p)
        return p

    @staticmethod
    def _wait(proc: subprocess.Popen, address: str, service: str, log: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not grpc_serving(address, service):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc, timeout=5)
                raise AssertionError(
                    f"{service} at {address} did not become SERVING:\n{log.read_text(errors='replace')}"
                )
            time.sleep(0.1)

    def configure_sandbox(self, **changes) -> dict:
        request = urllib.request.Request(
            f"{self.sandbox_url}/sandbox/config", data=json.dumps(changes).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            return json.loads(reply.read())

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            if p.proc.poll() is None:
                stop(p.proc, timeout=15)


@contextlib.contextmanager
def processes(root: Path, phones: list[str], **kwargs) -> Iterator[Processes]:
    root.mkdir(parents=True, exist_ok=True)
    ps = Processes(root, phones, **kwargs)
    try:
        yield ps
    finally:
        ps.stop_all()


def whatsapp_template(recipient: str, origination: str, key: str = "", name: str = "order_update"):
    """A utility template message as the tests send it in bulk (order_update takes two body values)."""
    from wecare.messaging.v1 import messaging_service_pb2 as pb

    return pb.Message(
        channel=pb.CHANNEL_WHATSAPP,
        category=pb.CATEGORY_UTILITY,
        origination=origination,
        recipient=recipient,
        idempotency_key=key,
        content=pb.Content(
            template=pb.TemplateContent(
                template_name=name,
                language="en_US",
                body_parameters=[pb.TemplateParameter(text="Asha"), pb.TemplateParameter(text="A-1")],
            )
        ),
    )


def recipients(n: int, start: int = 0) -> list[str]:
    """Distinct valid Indian mobile numbers."""
    return [f"+9198{(start + i) % 100_000_000:08d}" for i in range(n)]


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")
