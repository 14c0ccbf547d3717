"""Ingest (services/messaging/inbound/ingest.py) with SQLite stores and stand-ins for contacts and the queue:
results in request order; consent that contacts cannot take is dead-lettered and finished by a replay; a
reaction names our message; Meta's failure code reaches the dispatcher once; a failure before an event is marked
(the store, the queue) fails the call so that the sender's retry applies it, once, and holds back no other event
of the call; a call's statuses take one store call and one commit; a status applied before a crash still reaches
the feed."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time

import pytest

from runtime import ids
from services.messaging.adapters import sqlite_store
from services.messaging.adapters.consent import Recipient
from services.messaging.adapters.consent_changes import ConsentNotRecorded
from services.messaging.adapters.incoming_media import StoredObject
from services.messaging.domain.holds import HoldKind
from services.messaging.domain.inbound import parse_event
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage, SendResult, Status
from services.messaging.inbound.ingest import (
    APPLIED,
    DEAD_LETTERED,
    DUPLICATE,
    REJECTED,
    InboundEvent,
    Ingest,
    UnfinishedTask,
)
from services.messaging.inbound.media import MediaCopy
from services.messaging.outbound.withdrawal import Withdrawals
from tests.support.sns import CUSTOMER, PHONE_ID, load, with_event

FAILED_WAMID = "wamid.GAw5MTk4NDUwMTIzNDUVAgASGBQ3MTRDQjY0MUQ4REVBMDVBNkExOQA"


class Contacts:
    """ContactsService as ingest uses it: records consent (or is down), finds contacts by phone."""

    def __init__(self):
        self.down = False
        self.changes: list[tuple] = []
        self.ids: dict[str, str] = {}

    async def record(self, phone: str, opted_out: bool, at: float, source: str, display_name: str) -> str:
        if self.down:
            raise ConsentNotRecorded("UNAVAILABLE: contacts is down")
        self.changes.append((phone, opted_out, at, source, display_name))
        self.ids.setdefault(phone, ids.new_id())
        return f"contacts/{self.ids[phone]}"

    async def by_address(self, channel: str, address: str) -> Recipient:
        return Recipient(self.ids.get(address, ""), "UNKNOWN")


class Letters:
    def __init__(self):
        self.sent: list[tuple[dict, str]] = []
        self.down = False

    async def send(self, body: dict, reason: str) -> None:
        if self.down:
            raise ConnectionError("SQS is unreachable")
        self.sent.append((body, reason))


class NoMedia:
    async def get_media(self, origination, media_id, prefix):
        raise AssertionError("no media in these tests")

    async def find(self, media_id: str) -> StoredObject | None:
        return None


class FlakyCalls:
    """The voice call store, with add_voice_call failing once when asked to."""

    def __init__(self, calls):
        self._calls = calls
        self.fail_calls = 0

    async def add_voice_call(self, call):
        if self.fail_calls:
            self.fail_calls -= 1
            raise OSError("disk I/O error")
        return await self._calls.add_voice_call(call)

    async def list_voice_calls(self, customer, before, limit):
        return await self._calls.list_voice_calls(customer, before, limit)


@pytest.fixture
async def setup(tmp_path):
    inbound = sqlite_store.open_inbound(tmp_path / "in.sqlite3")
    inbound = dataclasses.replace(inbound, voice_calls=FlakyCalls(inbound.voice_calls))
    outbound = sqlite_store.open_outbound(tmp_path / "out.sqlite3")
    contacts, letters, failures = Contacts(), Letters(), []

    async def on_failed(message, code):
        failures.append((message.id, code))

    @contextlib.asynccontextmanager
    async def slot():
        yield

    media = MediaCopy(NoMedia(), NoMedia(), inbound.messages, "whatsapp-media/whatsapp-media-incoming/", slot)
    withdrawals = Withdrawals(outbound.messages, outbound.holds)
    ingest = Ingest(
        inbound.messages,
        inbound.voice_calls,
        inbound.feed,
        outbound.messages,
        contacts,
        contacts,
        media,
        letters,
        on_failed=on_failed,
        on_consent=withdrawals.consent_changed,
    )
    yield ingest, inbound, outbound, contacts, letters, failures
    await inbound.close()
    await outbound.close()


def event(name: str, sns_id: str | None = None, change=None) -> InboundEvent:
    message = load(name) if change is None else with_event(load(name), change)
    return InboundEvent(sns_id or message["MessageId"], message["Message"], "test")


async def test_results_in_order_rejected_applied_duplicate(setup):
    ingest, *_ = setup
    results = await ingest.ingest([event("inbound-text"), InboundEvent("junk", "{}"), event("inbound-text", "again")])
    # The events of one call are applied concurrently: which copy of the message comes first is open.
    assert results[1].outcome == REJECTED
    assert sorted([results[0].outcome, results[2].outcome]) == [APPLIED, DUPLICATE]
    assert [r.sns_message_id for r in results] == ["7ec693dc-364a-5c5e-87f8-ace7a879e49a", "junk", "again"]
    assert results[0].messages == results[2].messages and len(results[0].messages) == 1


async def test_consent_contacts_cannot_take_is_dead_lettered_then_finished(setup):
    ingest, inbound, _, contacts, letters, _ = setup
    contacts.down = True
    [result] = await ingest.ingest([event("inbound-stop")])
    assert result.outcome == DEAD_LETTERED and "contacts is down" in result.detail
    [(letter, reason)] = letters.sent
    assert letter["task"] == "consent" and letter["opted_out"] is True
    assert letter["source"] == "whatsapp:keyword:STOP" and letter["phone_number"] == CUSTOMER
    message = await inbound.messages.get(letter["message"].removeprefix("messages/"))
    assert message is not None and message.contact_id == ""
    assert await inbound.feed.seen_events([result.sns_message_id])  # taken: SNS is done with it

    contacts.down = False
    body = json.dumps({**letter, "reason": reason})
    assert await ingest.finish(body) is True
    assert contacts.changes == [(CUSTOMER, True, 1791973212.0, "whatsapp:keyword:STOP", "Kavya Menon")]
    assert (await inbound.messages.get(message.id)).contact_id == contacts.ids[CUSTOMER]
    contacts.down = True
    with pytest.raises(UnfinishedTask):
        await ingest.finish(body)
    with pytest.raises(UnfinishedTask):
        await ingest.finish("not a letter")


async def test_a_reaction_names_our_message(setup):
    ingest, inbound, *_ = setup
    [text] = await ingest.ingest([event("inbound-text")])
    target = text.messages[0]
    wamid = (await inbound.messages.get(target.removeprefix("messages/"))).provider_message_id

    def react(entry):
        m = entry["changes"][0]["value"]["messages"][0]
        m.update(id="wamid.reaction", type="reaction", reaction={"message_id": wamid, "emoji": "👍"})
        m.pop("text")

    [result] = await ingest.ingest([event("inbound-text", "reaction", react)])
    reaction = await inbound.messages.get(result.messages[0].removeprefix("messages/"))
    assert reaction.content == {"reaction": {"message": target, "emoji": "👍"}}


async def test_a_failure_code_reaches_the_dispatcher_once(setup):
    ingest, _, outbound, _, _, failures = setup
    now = time.time()
    message = OutboundMessage(
        ids.new_id(), Channel.WHATSAPP, Category.MARKETING, PHONE_ID, CUSTOMER, {"text": {"body": "x"}}, now
    )
    message = message.replace(lane=Lane.SINGLE, due_time=now + 3600, update_time=now)
    await outbound.messages.accept([message])
    await outbound.queue.hand_off([message.id], now)
    await outbound.queue.record_results([SendResult(message.id, "sent", now, provider_message_id=FAILED_WAMID)])
    await ingest.ingest([event("status-failed"), event("status-failed", "again")])
    assert failures == [(message.id, "131047")]
    assert (await outbound.messages.get(message.id)).status == Status.FAILED


async def test_a_store_failure_fails_the_call_and_the_retry_applies_it_once(setup):
    ingest, inbound, *_ = setup
    inbound.voice_calls.fail_calls = 1
    with pytest.raises(OSError):
        await ingest.ingest([event("call-terminate")])
    assert not await inbound.feed.seen_events(["3a8c621f-4031-557a-a2b9-dea922942e6f"])  # not marked: SNS retries
    [result] = await ingest.ingest([event("call-terminate")])
    assert result.outcome == APPLIED
    assert len(await inbound.voice_calls.list_voice_calls("", None, 10)) == 1
    [again] = await ingest.ingest([event("call-terminate", "other-sns-id")])
    assert again.outcome == DUPLICATE


async def test_a_queue_that_cannot_take_the_letter_fails_the_call(setup):
    ingest, inbound, _, contacts, letters, _ = setup
    contacts.down = letters.down = True
    with pytest.raises(ConnectionError):
        await ingest.ingest([event("inbound-stop")])
    assert not await inbound.feed.seen_events(["a0677e0f-112c-5053-b38f-c67cb3289451"])
    letters.down = False
    [result] = await ingest.ingest([event("inbound-stop")])
    assert result.outcome == DEAD_LETTERED
    assert len(letters.sent) == 1
    assert len(await inbound.messages.list_for_customer(None, CUSTOMER, None, 10)) == 1


class Counted:
    """A store, counting the calls of each method."""

    def __init__(self, inner):
        self._inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return attr(*args, **kwargs)

        return counted


async def sent_messages(outbound, n: int) -> list[OutboundMessage]:
    now = time.time()
    messages = [
        OutboundMessage(
            ids.new_id(), Channel.WHATSAPP, Category.UTILITY, PHONE_ID, f"+9198450{i:05d}", {"text": {"body": "x"}}, now
        ).replace(lane=Lane.SINGLE, due_time=now + 3600, update_time=now)
        for i in range(n)
    ]
    await outbound.messages.accept(messages)
    await outbound.queue.hand_off([m.id for m in messages], now)
    await outbound.queue.record_results(
        [SendResult(m.id, "sent", now, provider_message_id=f"wamid.B{i}") for i, m in enumerate(messages)]
    )
    return messages


def status(message: OutboundMessage, wamid: str, state: str, sns_id: str) -> InboundEvent:
    def change(entry):
        s = entry["changes"][0]["value"]["statuses"][0]
        s.update(id=wamid, status=state, recipient_id=message.recipient.lstrip("+"))
        s["biz_opaque_callback_data"] = message.callback_data

    return event("status-delivered", sns_id, change)


async def test_a_calls_statuses_take_one_store_call_and_one_commit(setup):
    ingest, inbound, outbound, *_ = setup
    messages = await sent_messages(outbound, 10)
    counted_out, counted_feed = Counted(outbound.messages), Counted(inbound.feed)
    ingest._outbound, ingest._feed = counted_out, counted_feed
    reader = inbound.feed.reader()
    await reader.start()
    events = [
        status(m, f"wamid.B{i}", state, f"sns-{i}-{state}")
        for i, m in enumerate(messages)
        for state in ("delivered", "read")
    ]
    results = await ingest.ingest(events)
    assert [r.outcome for r in results] == [APPLIED] * 20
    assert counted_out.calls == {"apply_statuses": 1}
    assert counted_feed.calls == {"seen_events": 1, "commit_events": 1}
    assert {(await outbound.messages.get(m.id)).status for m in messages} == {Status.READ}
    changes = await reader.read(100)
    assert len(changes) == 20 and {c.key for c in changes} == {
        f"status:wamid.B{i}:{state}" for i in range(10) for state in ("DELIVERED", "READ")
    }


async def test_a_status_applied_before_a_crash_still_reaches_the_feed(setup):
    ingest, inbound, outbound, *_ = setup
    [message] = await sent_messages(outbound, 1)
    reader = inbound.feed.reader()
    await reader.start()
    delivered = status(message, "wamid.B0", "delivered", "sns-crashed")
    # The first delivery applied the status and stopped before its commit: nothing marked, nothing in the feed.
    [applied] = await outbound.messages.apply_statuses(parse_event(delivered.payload, ids.new_id, time.time()).statuses)
    assert applied.changed and await reader.read(10) == []
    [result] = await ingest.ingest([delivered])  # SNS delivers it again
    assert result.outcome == DUPLICATE and await inbound.feed.seen_events(["sns-crashed"])
    [change] = await reader.read(10)
    assert change.key == "status:wamid.B0:DELIVERED" and change.record["status"] == Status.DELIVERED.value


async def test_an_event_that_fails_holds_back_only_itself(setup):
    ingest, inbound, outbound, *_ = setup
    [message] = await sent_messages(outbound, 1)
    inbound.voice_calls.fail_calls = 1
    with pytest.raises(OSError):
        await ingest.ingest([event("call-terminate"), status(message, "wamid.B0", "read", "sns-read")])
    assert await inbound.feed.seen_events(["3a8c621f-4031-557a-a2b9-dea922942e6f", "sns-read"]) == {"sns-read"}
    assert (await outbound.messages.get(message.id)).status == Status.READ


async def test_a_stop_withdraws_the_customers_queued_whatsapp_messages_once_even_when_contacts_is_down(setup):
    """A STOP is noted as a hold and withdraws what is queued for the customer on WhatsApp (not their SMS), at
    once, whether or not contacts took the consent change; its redelivery (another SNS id) notes nothing more."""
    ingest, _, outbound, contacts, _, _ = setup
    now = time.time()

    def queued(channel: Channel, origination: str) -> OutboundMessage:
        return OutboundMessage(
            id=ids.new_id(),
            channel=channel,
            category=Category.MARKETING,
            origination=origination,
            recipient=CUSTOMER,
            content={"text": {"body": "sale"}},
            create_time=now - 5,
            lane=Lane.BULK,
            due_time=now - 5,
            update_time=now - 5,
        )

    whatsapp, sms = queued(Channel.WHATSAPP, PHONE_ID), queued(Channel.SMS, "+15550100")
    await outbound.messages.accept([whatsapp, sms])
    contacts.down = True
    [result] = await ingest.ingest([event("inbound-stop")])
    assert result.outcome == DEAD_LETTERED  # contacts will be told later; the hold is there now
    assert (await outbound.messages.get(whatsapp.id)).status == Status.WITHDRAWN
    assert (await outbound.messages.get(sms.id)).status == Status.ACCEPTED
    [hold] = await outbound.holds.holds_since(now - 60, time.time())
    assert (hold.kind, hold.subject, hold.source) == (
        HoldKind.OPTED_OUT,
        f"WHATSAPP:{CUSTOMER}",
        "whatsapp:keyword:STOP",
    )
    contacts.down = False
    await ingest.ingest([event("inbound-stop", "redelivered")])
    assert len(await outbound.holds.holds_since(now - 60, time.time())) == 1
