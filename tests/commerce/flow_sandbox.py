"""The sandbox served from the test's event loop, with the socialmessaging client the services use pointed at it
and its events captured instead of delivered: for the form tests that need EUM Social (the Flow API, flow
messages, a customer answering)."""

from __future__ import annotations

import contextlib
import json

from aiobotocore.session import get_session
from aiohttp import web

from localrun.procs import free_port
from localrun.sandbox.config import Config
from localrun.sandbox.log import LogWriter
from localrun.sandbox.server import Sandbox

PHONE = "phone-number-id-" + "0" * 31 + "1"
CUSTOMER = "+919812345678"


class CapturedEvents:
    """Stands in for the sink that delivers events to messaging: keeps what the sandbox schedules."""

    def __init__(self):
        self.events: list[dict] = []

    def schedule(self, due: float, event: dict) -> None:
        self.events.append(event)

    def pending(self) -> int:
        return len(self.events)

    def messages(self) -> list[dict]:
        out = []
        for event in self.events:
            value = json.loads(event["whatsAppWebhookEntry"])["changes"][0]["value"]
            out += [("status", s) for s in value.get("statuses", [])] + [
                ("message", m) for m in value.get("messages", [])
            ]
        return out


class Here:
    """The sandbox's address and the AWS client the services use, from the test's event loop."""

    def __init__(self, url: str, sandbox: Sandbox, social, events: CapturedEvents):
        self.url, self.sandbox, self.social, self.events = url, sandbox, social, events

    async def send(self, message: dict) -> str:
        reply = await self.social.send_whatsapp_message(
            originationPhoneNumberId=PHONE, message=json.dumps(message).encode(), metaApiVersion="v20.0"
        )
        return reply["messageId"]


@contextlib.asynccontextmanager
async def sandbox_serving(tmp_path):
    events = CapturedEvents()
    config = Config()
    config.update({"sent_after": 0.0, "delivered_after": 0.0, "read_after": 0.0})
    sandbox = Sandbox(LogWriter(tmp_path / "sandbox.jsonl"), events, config)
    runner = web.AppRunner(sandbox.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        async with get_session().create_client(
            "socialmessaging",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="t",
            aws_secret_access_key="t",
        ) as social:
            yield Here(url, sandbox, social, events)
    finally:
        await runner.cleanup()


class OneClient:
    def __init__(self, client):
        self.client_ = client

    async def client(self, service: str, **_options):
        return self.client_
