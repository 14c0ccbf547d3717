"""A STOP during a running campaign, on both stores (SQLite, and DynamoDB on moto), in real time: 3,000 template
messages of one streamed send (one batch) are going out; once sending is under way the last 20 recipients send
STOP (noted as the inbound STOP path notes it: outbound.withdrawal). No call reaches the provider for any of them
later than a second after their STOP was noted, their messages end WITHDRAWN, and the dispatcher goes on with the
rest. (Failed before: the 20 were all sent their message.) The exact timing cases are on virtual time
(test_holds_virtual_time)."""

from __future__ import annotations

import asyncio
import time

from runtime import ids
from services.messaging.adapters.providers import CallOutcome
from services.messaging.dispatch.config import DispatchConfig
from services.messaging.dispatch.dispatcher import Dispatcher
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage, Status
from services.messaging.outbound.withdrawal import Withdrawals
from tests.messaging.test_store_contract import PHONE, stores  # noqa: F401 (the fixture)

CAMPAIGN = 3000


class Provider:
    """EUM Social answering at once; when each call was taken, by recipient (wall time)."""

    channel = Channel.WHATSAPP

    def __init__(self) -> None:
        self.taken: list[tuple[float, str]] = []

    async def send(self, message: OutboundMessage, media_ids: dict[str, str]) -> CallOutcome:
        await asyncio.sleep(0.002)
        self.taken.append((time.time(), message.recipient))
        return CallOutcome("sent", provider_message_id=f"wamid.{message.id}")

    async def post_media(self, origination: str, media_key: str):
        return f"media-{media_key[-6:]}", None


def campaign(now: float) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            id=ids.new_id(),
            channel=Channel.WHATSAPP,
            category=Category.MARKETING,
            origination=PHONE,
            recipient=f"+91981{i:07d}",
            content={"template": {"name": "order_update", "language": "en", "components": []}},
            create_time=now + i * 1e-4,
            lane=Lane.BULK,
            batch_id="stream-1",
            due_time=now,
            update_time=now,
        )
        for i in range(CAMPAIGN)
    ]


async def test_a_stop_during_a_campaign_stops_sends_to_that_recipient_within_a_second(stores):  # noqa: F811
    out, inbound = stores
    messages = campaign(time.time())
    for i in range(0, CAMPAIGN, 500):  # a stream accepts in chunks
        await out.messages.accept(messages[i : i + 500])
    provider = Provider()
    dispatcher = Dispatcher(
        out,
        inbound.windows,
        {Channel.WHATSAPP: provider},
        provider,
        None,
        DispatchConfig(phone_rates={PHONE: 100.0}, pair_gap=0.0),
    )
    task = asyncio.create_task(dispatcher.run())
    try:
        deadline = time.monotonic() + 120
        while len(provider.taken) < 100:
            assert time.monotonic() < deadline, "sending never got under way"
            await asyncio.sleep(0.02)
        withdrawals = Withdrawals(out.messages, out.holds)
        last = messages[-20:]
        noted: dict[str, float] = {}
        for m in last:
            await withdrawals.consent_changed(Channel.WHATSAPP, m.recipient, True, "whatsapp:keyword:STOP")
            noted[m.recipient] = time.time()
        await asyncio.sleep(1.5)
        finals = await out.messages.get_many([m.id for m in last])
        sent_so_far = len(provider.taken)
        while len(provider.taken) <= sent_so_far:  # the rest of the campaign goes on
            assert time.monotonic() < deadline + 60, "sending stopped after the STOPs"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    late = [(t, who) for t, who in provider.taken if who in noted and t > noted[who] + 1.0]
    assert late == []
    assert [m.status for m in finals] == [Status.WITHDRAWN] * 20
