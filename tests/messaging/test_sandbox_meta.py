"""The sandbox plays Meta (localrun.sandbox.meta): templates created through EUM Social's operations go PENDING and
are approved or rejected after the review delay, each verdict a message_template_status_update event that
messaging reads (domain.inbound) into the template's status and reason; Meta pausing a template later is an event
too; a share of marketing template messages fails with 131049, read as LIMITED; a pair breach fails with 131056."""

from __future__ import annotations

import asyncio
import itertools
import json

import aiohttp
import grpc

from runtime.auth import TokenVerifier
from runtime.settings import Settings
from services.messaging.domain.inbound import parse_event
from services.messaging.domain.meta_events import TemplateEvent
from services.messaging.domain.model import Status
from tests.messaging.support import phone_ids, sandbox_here
from tests.messaging.test_sandbox import Ingest, clients  # noqa: F401
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

PHONE = phone_ids(1)[0]
WABA = "waba-" + PHONE[-32:][::-1]
ids = (f"ID{n:024d}" for n in itertools.count())


def definition(name: str, category: str, body: str) -> bytes:
    return json.dumps(
        {"name": name, "language": "en_US", "category": category, "components": [{"type": "BODY", "text": body}]}
    ).encode()


async def events_until(ingest: Ingest, count: int) -> list:
    for _ in range(200):
        items = [parse_event(e.payload, lambda: next(ids), 2e9) for call in ingest.calls for e in call]
        if sum(len(i.account) + len(i.statuses) for i in items) >= count:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError("events did not come")


async def test_templates_reviewed_after_a_delay_and_moved_later_as_events(tmp_path, clients):  # noqa: F811
    settings = Settings()
    ingest = Ingest(TokenVerifier(settings), fail_first=0)
    server = grpc.aio.server()
    pb_grpc.add_MessagingServiceServicer_to_server(ingest, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with sandbox_here(
            tmp_path / "log.jsonl", f"127.0.0.1:{port}", template_review_seconds=0.2, ingest_interval=0.05
        ) as (url, _):
            social = await clients("socialmessaging", url)
            created = await social.create_whatsapp_message_template(
                id=WABA, templateDefinition=definition("spring_sale", "MARKETING", "Our spring sale starts now.")
            )
            assert created["templateStatus"] == "PENDING"
            await social.create_whatsapp_message_template(
                id=WABA, templateDefinition=definition("reject_me", "UTILITY", "Your order shipped.")
            )
            await social.create_whatsapp_message_template(
                id=WABA, templateDefinition=definition("order_promo", "UTILITY", "Big discount on your next order.")
            )
            got = await social.get_whatsapp_message_template(id=WABA, metaTemplateId=created["metaTemplateId"])
            assert json.loads(got["template"])["status"] == "PENDING"  # under review
            items = await events_until(ingest, 3)
            verdicts = {e.template_name: (e.event, e.reason) for i in items for e in i.account}
            assert verdicts == {
                "spring_sale": ("APPROVED", ""),
                "reject_me": ("REJECTED", "INVALID_FORMAT: the sandbox rejects templates named reject*"),
                "order_promo": (
                    "REJECTED",
                    "INCORRECT_CATEGORY: a utility template may not promote an offer, a sale or a discount",
                ),
            }
            assert {e.waba for i in items for e in i.account} == {WABA}  # messaging maps the WABA back
            listed = await social.list_whatsapp_message_templates(id=WABA, maxResults=100)
            statuses = {t["templateName"]: t["templateStatus"] for t in listed["templates"]}
            assert statuses["spring_sale"] == "APPROVED" and statuses["reject_me"] == "REJECTED"

            # Meta pauses it later, with the reason; a send of it fails as Meta answers a paused template.
            async with aiohttp.ClientSession() as control:
                pause = {"name": "spring_sale", "language": "en_US", "event": "PAUSED", "reason": "low quality"}
                async with control.post(f"{url}/sandbox/templates/status", json=pause) as moved:
                    assert moved.status == 200 and (await moved.json())["status"] == "PAUSED"
                async with control.post(f"{url}/sandbox/templates/status", json={"name": "nope"}) as bad:
                    assert bad.status == 400
            items = await events_until(ingest, 4)
            [paused] = [e for i in items for e in i.account if e.event == "PAUSED"]
            assert isinstance(paused, TemplateEvent) and paused.reason == "FIRST_PAUSE: low quality"
    finally:
        await server.stop(0)


async def test_a_share_of_marketing_sends_is_limited(tmp_path, clients):  # noqa: F811
    settings = Settings()
    ingest = Ingest(TokenVerifier(settings), fail_first=0)
    server = grpc.aio.server()
    pb_grpc.add_MessagingServiceServicer_to_server(ingest, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with sandbox_here(
            tmp_path / "log.jsonl",
            f"127.0.0.1:{port}",
            template_review_seconds=0.0,
            limited_share=1.0,
            pair_gap=60.0,
            statuses=["sent", "delivered"],
            ingest_interval=0.05,
        ) as (url, _):
            social = await clients("socialmessaging", url)
            await social.create_whatsapp_message_template(
                id=WABA, templateDefinition=definition("spring_sale", "MARKETING", "Our spring sale starts now.")
            )
            await events_until(ingest, 1)  # approved
            sends = [
                ("spring_sale", "+919800000001"),
                ("hello_world", "+919800000002"),
                ("hello_world", "+919800000002"),
            ]
            for i, (name, to) in enumerate(sends):  # marketing: limited; utility: delivered; the pair again: 131056
                message = {
                    "messaging_product": "whatsapp",
                    "to": to,
                    "type": "template",
                    "template": {"name": name, "language": {"code": "en_US"}},
                    "biz_opaque_callback_data": f"{name}-{i}",
                }
                await social.send_whatsapp_message(
                    originationPhoneNumberId=PHONE, message=json.dumps(message).encode(), metaApiVersion="v20.0"
                )
            items = await events_until(ingest, 7)
    finally:
        await server.stop(0)
    final = {s.callback_data: s for i in items for s in i.statuses if s.status != Status.SENT}
    assert final["spring_sale-0"].status == Status.LIMITED and final["spring_sale-0"].error.code == "131049"
    assert final["hello_world-1"].status == Status.DELIVERED
    assert final["hello_world-2"].status == Status.FAILED and final["hello_world-2"].error.code == "131056"
