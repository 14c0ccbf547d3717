"""The messaging store contract (every protocol of adapters.store: the outbound table's messages, send queue,
coordination, templates, media ids, suppressions and dead-letter outbox; the inbound table's messages, windows,
conversations, voice calls and event feed), run against every implementation: SQLite in a temporary directory
and DynamoDB on moto (server mode, fresh tables per test). Volumes stay small."""

from __future__ import annotations

import uuid

import pytest

from runtime import ids
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters import dynamodb_store, sqlite_store
from services.messaging.domain.model import (
    Category,
    Channel,
    Conversation,
    Direction,
    InboundMessage,
    Lane,
    MessageError,
    OutboundMessage,
    SendResult,
    Status,
    StatusEvent,
    Template,
    VoiceCall,
    conversation_id,
)

NOW = 1_718_000_000.25
PHONE = "phone-number-id-" + "a" * 32
OTHER_PHONE = "phone-number-id-" + "b" * 32


@pytest.fixture(params=["sqlite", "dynamodb"])
async def stores(request, tmp_path):
    aws = None
    if request.param == "sqlite":
        outbound = sqlite_store.open_outbound(tmp_path / "out.sqlite3")
        inbound = sqlite_store.open_inbound(tmp_path / "in.sqlite3")
    else:
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        suffix = uuid.uuid4().hex[:10]
        client = await aws.client("dynamodb")
        await dynamodb_store.ensure_tables(client, f"out-{suffix}", f"in-{suffix}")
        outbound = dynamodb_store.open_outbound(aws, f"out-{suffix}")
        inbound = dynamodb_store.open_inbound(aws, f"in-{suffix}")
    yield outbound, inbound
    await outbound.close()
    await inbound.close()
    if aws is not None:
        await aws.close()


def message(
    *,
    key: str = "",
    recipient: str = "+919812345678",
    origination: str = PHONE,
    lane: Lane = Lane.BULK,
    batch: str = "",
    at: float = NOW,
    channel: Channel = Channel.WHATSAPP,
) -> OutboundMessage:
    return OutboundMessage(
        id=ids.new_id(int(at * 1000)),
        channel=channel,
        category=Category.UTILITY,
        origination=origination,
        recipient=recipient,
        content={"text": {"body": "hello"}},
        create_time=at,
        idempotency_key=key,
        lane=lane,
        batch_id=batch,
        due_time=at,
        update_time=at,
    )


async def test_accept_get_and_idempotency(stores):
    out, _ = stores
    first = message(key="bulkJobs/J1/+919812345678")
    [o] = await out.messages.accept([first])
    assert not o.duplicate and o.message.id == first.id
    got = await out.messages.get(first.id)
    assert got == first

    again = message(key="bulkJobs/J1/+919812345678")
    [o] = await out.messages.accept([again])
    assert o.duplicate and o.message.id == first.id
    assert await out.messages.get(again.id) is None  # nothing new was stored
    # The same key twice in one call: the second is a duplicate of the first.
    a, b = message(key="k/1/x"), message(key="k/1/x")
    outcomes = await out.messages.accept([a, b])
    assert [x.duplicate for x in outcomes] == [False, True] and outcomes[1].message.id == a.id
    assert (await out.messages.get_by_key("k/1/x")).id == a.id


async def test_withdrawn_key_is_accepted_anew(stores):
    out, _ = stores
    first = message(key="bulkJobs/J2/r1")
    await out.messages.accept([first])
    w = await out.messages.withdraw_by_key_prefix("bulkJobs/J2/", NOW + 1)
    assert [m.id for m in w.withdrawn] == [first.id] and w.in_flight == 0
    assert (await out.messages.get(first.id)).status == Status.WITHDRAWN

    second = message(key="bulkJobs/J2/r1", at=NOW + 2)
    [o] = await out.messages.accept([second])
    assert not o.duplicate and o.message.id == second.id
    assert (await out.messages.get_by_key("bulkJobs/J2/r1")).id == second.id
    old = await out.messages.get(first.id)
    assert old.status == Status.WITHDRAWN and old.former_idempotency_key == "bulkJobs/J2/r1"
    assert old.idempotency_key == ""


async def test_queue_order_hand_off_and_withdraw_race(stores):
    out, _ = stores
    bulk = [message(key=f"bulkJobs/J3/{i}", lane=Lane.BULK, at=NOW + i * 0.001) for i in range(3)]
    reply = message(lane=Lane.CONVERSATION, at=NOW + 1)
    elsewhere = message(origination=OTHER_PHONE)
    later = message(at=NOW + 100)  # due in the future (a retry)
    later = later.replace(due_time=NOW + 100)
    await out.messages.accept([*bulk, reply, elsewhere, later])

    queue = await out.queue.queued(PHONE, NOW + 5, 10)
    assert [m.id for m in queue] == [reply.id, *(m.id for m in bulk)]  # replies first, then acceptance order

    # Withdrawal wins over a later hand-off: a withdrawn message is never marked, so never sent.
    w = await out.messages.withdraw_by_key_prefix("bulkJobs/J3/", NOW + 6)
    assert len(w.withdrawn) == 3
    marked = await out.queue.hand_off([reply.id, bulk[0].id], NOW + 7)
    assert marked == [reply.id]
    m = await out.messages.get(reply.id)
    assert m.handoff_time == NOW + 7 and m.attempts == 1 and m.in_flight
    assert await out.queue.queued(PHONE, NOW + 8, 10) == []
    # Handed off: a second hand-off does nothing; withdrawal counts it in flight.
    assert await out.queue.hand_off([reply.id], NOW + 8) == []


async def test_withdraw_counts_in_flight_and_batch(stores):
    out, _ = stores
    a, b = message(key="bulkJobs/J4/a", batch="B1"), message(key="bulkJobs/J4/b", batch="B1")
    await out.messages.accept([a, b])
    await out.queue.hand_off([a.id], NOW + 1)
    w = await out.messages.withdraw_batch("B1", NOW + 2)
    assert [m.id for m in w.withdrawn] == [b.id] and w.in_flight == 1
    changes = {m.id: m.status for m in await out.messages.batch_changes("B1", NOW + 0.5)}
    # The hand-off is no change a stream follows: a store may list `a` (still accepted) or not.
    assert changes.pop(b.id) == Status.WITHDRAWN and changes in ({}, {a.id: Status.ACCEPTED})


async def test_results_sent_failed_retry_and_dead_letters(stores):
    out, _ = stores
    s, f, r, d = (message() for _ in range(4))
    await out.messages.accept([s, f, r, d])
    await out.queue.hand_off([s.id, f.id, r.id, d.id], NOW + 1)
    err = MessageError("ValidationException", "bad", "the phone number id is wrong")
    got = await out.queue.record_results(
        [
            SendResult(s.id, "sent", NOW + 2, provider_message_id="wamid.S", extra={"media_id": "m1"}),
            SendResult(f.id, "failed", NOW + 2, error=err),
            SendResult(r.id, "retry", NOW + 2, error=MessageError("ThrottledRequestException"), retry_at=NOW + 9),
            SendResult(d.id, "in_doubt", NOW + 2, error=MessageError("ReadTimeout")),
        ]
    )
    by_id = {m.id: m for m in got}
    assert by_id[s.id].status == Status.SENT and by_id[s.id].provider_message_id == "wamid.S"
    assert by_id[s.id].send_time == NOW + 2 and by_id[s.id].extra == {"media_id": "m1"}
    assert by_id[f.id].status == Status.FAILED and by_id[f.id].error == err
    assert by_id[r.id].queued and by_id[r.id].due_time == NOW + 9 and by_id[r.id].attempts == 1
    assert by_id[d.id].in_flight
    assert (await out.messages.get_by_provider_id("wamid.S")).id == s.id
    assert [m.id for m in await out.queue.queued(PHONE, NOW + 5, 10)] == []
    assert [m.id for m in await out.queue.queued(PHONE, NOW + 10, 10)] == [r.id]

    pending = await out.outbox.dead_letters_pending(10)
    assert [m.id for m in pending] == [f.id]
    await out.outbox.dead_letters_sent([f.id])
    assert await out.outbox.dead_letters_pending(10) == []

    # Replay of a failed, never-sent message puts it back in the queue once; a sent one never.
    assert (await out.queue.requeue(f.id, NOW + 20)).status == Status.ACCEPTED
    assert await out.queue.requeue(f.id, NOW + 21) is None
    assert await out.queue.requeue(s.id, NOW + 21) is None


async def test_in_doubt_reconciled_or_unknown(stores):
    out, _ = stores
    a, b = message(key="x/1/a"), message()
    await out.messages.accept([a, b])
    await out.queue.hand_off([a.id, b.id], NOW + 1)
    doubt = await out.queue.in_doubt(NOW + 2, 10)
    assert {m.id for m in doubt} == {a.id, b.id}
    # A status event naming a by its callback data reconciles it.
    applied = await out.messages.apply_status(
        StatusEvent("wamid.A", Status.SENT, NOW + 3, callback_data=a.callback_data)
    )
    assert (
        applied.changed and applied.message.status == Status.SENT and applied.message.provider_message_id == "wamid.A"
    )
    assert [m.id for m in await out.queue.in_doubt(NOW + 4, 10)] == [b.id]
    assert await out.queue.mark_unknown([a.id, b.id], NOW + 5) == [b.id]
    unknown = await out.messages.get(b.id)
    assert unknown.status == Status.UNKNOWN and unknown.error.code == "OUTCOME_UNKNOWN"
    # A late event still applies to an unknown message.
    late = await out.messages.apply_status(StatusEvent("wamid.B", Status.DELIVERED, NOW + 6, callback_data=b.id))
    assert late.changed and late.message.status == Status.DELIVERED and late.message.error is None


async def test_status_moves_forward_only_and_dedups(stores):
    out, _ = stores
    m = message(key="k/2/z")
    await out.messages.accept([m])
    await out.queue.hand_off([m.id], NOW + 1)
    await out.queue.record_results([SendResult(m.id, "sent", NOW + 2, provider_message_id="wamid.M")])
    read = await out.messages.apply_status(StatusEvent("wamid.M", Status.READ, NOW + 5, callback_data=m.callback_data))
    assert read.changed and read.message.status == Status.READ and read.message.read_time == NOW + 5
    delivered = await out.messages.apply_status(
        StatusEvent("wamid.M", Status.DELIVERED, NOW + 4, callback_data=m.callback_data)
    )
    assert not delivered.changed and delivered.message.status == Status.READ
    assert delivered.message.deliver_time == NOW + 4  # the time is still learnt
    dup = await out.messages.apply_status(StatusEvent("wamid.M", Status.READ, NOW + 5, callback_data=m.callback_data))
    assert dup.duplicate and not dup.changed
    # Failed is terminal and keeps its code; nothing moves it afterwards.
    f = message()
    await out.messages.accept([f])
    await out.queue.hand_off([f.id], NOW + 1)
    err = MessageError("131026", "Message undeliverable")
    failed = await out.messages.apply_status(
        StatusEvent("wamid.F", Status.FAILED, NOW + 2, callback_data=f.id, error=err)
    )
    assert failed.changed and failed.message.status == Status.FAILED and failed.message.error == err
    after = await out.messages.apply_status(StatusEvent("wamid.F", Status.DELIVERED, NOW + 3, callback_data=f.id))
    assert not after.changed and after.message.status == Status.FAILED
    # Our own 'sent' result arriving after the provider's 'failed' event does not revive it.
    [again] = await out.queue.record_results([SendResult(f.id, "sent", NOW + 4, provider_message_id="wamid.F")])
    assert again.status == Status.FAILED


async def test_status_for_unknown_message_is_kept_then_applied(stores):
    out, _ = stores
    early = await out.messages.apply_status(StatusEvent("wamid.EARLY", Status.DELIVERED, NOW + 3))
    assert early.message is None and not early.changed
    m = message()
    await out.messages.accept([m])
    await out.queue.hand_off([m.id], NOW + 1)
    [sent] = await out.queue.record_results([SendResult(m.id, "sent", NOW + 2, provider_message_id="wamid.EARLY")])
    assert sent.status == Status.DELIVERED and sent.deliver_time == NOW + 3


async def test_a_group_of_results_in_order_with_the_early_statuses_of_some(stores):
    """One write of a dispatcher's group: plain sends, one with extras, a retry and a failure between them; the
    early status events of two of them applied, the others' left alone."""
    out, _ = stores
    for wamid, status, at in (("wamid.G1", Status.DELIVERED, 3), ("wamid.G4", Status.READ, 4)):
        await out.messages.apply_status(StatusEvent(wamid, status, NOW + at))
    ms = [message() for _ in range(7)]
    await out.messages.accept(ms)
    await out.queue.hand_off([m.id for m in ms], NOW + 1)
    sent = [SendResult(m.id, "sent", NOW + 2, provider_message_id=f"wamid.G{i}") for i, m in enumerate(ms)]
    sent[2] = SendResult(ms[2].id, "sent", NOW + 2, provider_message_id="wamid.G2", extra={"media_id": "m2"})
    sent[3] = SendResult(ms[3].id, "retry", NOW + 2, retry_at=NOW + 9)
    sent[5] = SendResult(ms[5].id, "failed", NOW + 2, error=MessageError("ValidationException", "bad"))
    got = {m.id: m for m in await out.queue.record_results(sent)}
    assert [got[m.id].status for m in ms] == [
        Status.SENT,
        Status.DELIVERED,
        Status.SENT,
        Status.ACCEPTED,
        Status.READ,
        Status.FAILED,
        Status.SENT,
    ]
    assert got[ms[1].id].deliver_time == NOW + 3 and got[ms[4].id].read_time == NOW + 4
    assert got[ms[2].id].extra == {"media_id": "m2"} and got[ms[0].id].extra == {}
    expected_ids = ["wamid.G0", "wamid.G1", "wamid.G2", "", "wamid.G4", "", "wamid.G6"]
    assert [got[m.id].provider_message_id for m in ms] == expected_ids
    assert got[ms[3].id].queued and got[ms[3].id].due_time == NOW + 9


async def test_customer_history_delete_and_coordination(stores):
    out, _ = stores
    msgs = [message(recipient="+911111111111", at=NOW + i) for i in range(5)]
    await out.messages.accept([*msgs, message(recipient="+922222222222")])
    page = await out.messages.list_for_customer(None, "+911111111111", None, 3)
    assert [m.id for m in page] == [m.id for m in reversed(msgs)][:3]
    rest = await out.messages.list_for_customer(
        Channel.WHATSAPP, "+911111111111", (page[-1].create_time, page[-1].id), 10
    )
    assert [m.id for m in rest] == [msgs[1].id, msgs[0].id]
    assert await out.messages.list_for_customer(Channel.SMS, "+911111111111", None, 10) == []
    assert (await out.messages.delete(msgs[0].id)).id == msgs[0].id
    assert await out.messages.get(msgs[0].id) is None and await out.messages.delete(msgs[0].id) is None

    doc, version = await out.coordination.load_coordination()
    assert doc == {} and version == 0
    assert await out.coordination.save_coordination({"members": {"a": 1}}, 0)
    assert not await out.coordination.save_coordination({"members": {"b": 1}}, 0)  # someone else got there first
    doc, version = await out.coordination.load_coordination()
    assert doc == {"members": {"a": 1}} and version == 1
    assert await out.coordination.save_coordination({"members": {"a": 2}}, 1)
    assert not await out.coordination.save_coordination({"members": {"c": 2}}, 1)
    assert (await out.coordination.load_coordination()) == ({"members": {"a": 2}}, 2)


async def test_templates_media_ids_and_suppressions(stores):
    out, _ = stores
    t1 = Template("order_update", "en_US", Category.UTILITY, "APPROVED", "waba-1", body_variables=("1", "2"))
    t2 = Template("promo", "en_US", Category.MARKETING, "APPROVED", "waba-1")
    t3 = Template("promo", "hi", Category.MARKETING, "APPROVED", "waba-1")
    assert await out.templates.replace_templates("waba-1", [t1, t2]) == (2, 0)
    assert await out.templates.replace_templates("waba-1", [t1, t3]) == (1, 1)
    assert [t.key for t in await out.templates.list_templates("", "", 10)] == ["order_update.en_US", "promo.hi"]
    assert [t.key for t in await out.templates.list_templates("hi", "", 10)] == ["promo.hi"]
    assert [t.key for t in await out.templates.list_templates("", "order_update.en_US", 10)] == ["promo.hi"]
    assert await out.templates.get_template("order_update", "en_US") == t1
    assert await out.templates.get_template("promo", "en_US") is None

    assert await out.media_ids.media_id(PHONE, "k1", NOW) is None
    await out.media_ids.put_media_id(PHONE, "k1", "media1", NOW + 100)
    assert await out.media_ids.media_id(PHONE, "k1", NOW) == "media1"
    assert await out.media_ids.media_id(OTHER_PHONE, "k1", NOW) is None  # only the phone that posted it
    assert await out.media_ids.media_id(PHONE, "k1", NOW + 101) is None  # expired

    assert await out.suppressions.suppressed("+919", "marketing", NOW) is None
    await out.suppressions.suppress("+919", "marketing", NOW + 50, "131050")
    assert await out.suppressions.suppressed("+919", "marketing", NOW) == "131050"
    assert await out.suppressions.suppressed("+919", "utility", NOW) is None
    assert await out.suppressions.suppressed("+919", "marketing", NOW + 51) is None


def inbound(wamid: str, customer: str = "+919812345678", at: float = NOW, origination: str = PHONE):
    return InboundMessage(
        id=ids.new_id(int(at * 1000)),
        channel=Channel.WHATSAPP,
        origination=origination,
        customer=customer,
        provider_message_id=wamid,
        content={"text": {"body": "hi"}},
        receive_time=at,
        profile_name="Asha",
        create_time=at + 1,
    )


async def test_inbound_once_window_and_rate(stores):
    _, inn = stores
    a = inbound("wamid.1")
    stored, new = await inn.messages.add_message(a)
    assert new and stored == a
    stored, new = await inn.messages.add_message(inbound("wamid.1", at=NOW + 5))
    assert not new and stored.id == a.id
    assert await inn.messages.get(a.id) == a and (await inn.messages.get_by_provider_id("wamid.1")).id == a.id
    assert await inn.windows.last_inbound(PHONE, "+919812345678") == NOW
    await inn.messages.add_message(inbound("wamid.2", at=NOW + 60))
    await inn.messages.add_message(inbound("wamid.0", at=NOW - 60))  # out of order: the window keeps the latest
    assert await inn.windows.last_inbound(PHONE, "+919812345678") == NOW + 60
    assert await inn.windows.last_inbound(OTHER_PHONE, "+919812345678") is None
    assert await inn.windows.inbound_count(PHONE, NOW) == 2
    history = await inn.messages.list_for_customer(None, "+919812345678", None, 10)
    assert [m.provider_message_id for m in history] == ["wamid.2", "wamid.1", "wamid.0"]
    await inn.feed.commit_events([("sns-1", [])], NOW)
    await inn.feed.commit_events([("sns-1", [])], NOW)  # again: no harm
    assert await inn.feed.seen_events(["sns-1", "sns-2"]) == {"sns-1"}
    updated = a.__class__(**{**a.__dict__, "extra": {"media_key": "k"}})
    await inn.messages.update_message(updated)
    assert (await inn.messages.get(a.id)).extra == {"media_key": "k"}
    assert (await inn.messages.delete(a.id)).id == a.id and await inn.messages.get(a.id) is None


async def test_conversations_latest_first(stores):
    _, inn = stores
    await inn.messages.add_message(inbound("wamid.c1", customer="+911", at=NOW))
    await inn.messages.add_message(inbound("wamid.c2", customer="+912", at=NOW + 10))
    await inn.messages.add_message(inbound("wamid.c3", customer="+911", at=NOW + 20))
    convs = await inn.conversations.list_conversations(None, None, 10)
    assert [c.customer for c in convs] == ["+911", "+912"]
    assert convs[0].unanswered_count == 2 and convs[0].profile_name == "Asha"
    assert convs[0].last_direction == Direction.INBOUND
    out_id = ids.new_id()
    await inn.conversations.note_outbound(
        [Conversation(conversation_id(Channel.WHATSAPP, "+912"), Channel.WHATSAPP, "+912", NOW + 30, out_id)]
    )
    convs = await inn.conversations.list_conversations(Channel.WHATSAPP, None, 1)
    assert convs[0].customer == "+912" and convs[0].unanswered_count == 0 and convs[0].last_message_id == out_id
    assert convs[0].profile_name == "Asha"  # kept from the inbound message
    rest = await inn.conversations.list_conversations(None, (convs[0].update_time, convs[0].id), 10)
    assert [c.customer for c in rest] == ["+911"]
    assert await inn.conversations.list_conversations(Channel.SMS, None, 10) == []
    assert (await inn.conversations.get_conversation("whatsapp-911")).customer == "+911"


async def test_outbound_sends_touch_their_conversations_in_one_group(stores):
    """A chunk's sends noted together: several to one customer (the latest wins, a contact id learnt from any of
    them, the inbound profile name and an earlier answer kept), others new."""
    _, inn = stores
    await inn.messages.add_message(inbound("wamid.g1", customer="+913", at=NOW))
    first, second, other = ids.new_id(), ids.new_id(), ids.new_id()
    conv = conversation_id(Channel.WHATSAPP, "+913")
    await inn.conversations.note_outbound(
        [
            Conversation(conv, Channel.WHATSAPP, "+913", NOW + 20, second),
            Conversation(conversation_id(Channel.SMS, "+914"), Channel.SMS, "+914", NOW + 15, other),
            Conversation(conv, Channel.WHATSAPP, "+913", NOW + 10, first, contact_id="c-913"),
        ]
    )
    c = await inn.conversations.get_conversation(conv)
    assert (c.last_message_id, c.update_time, c.unanswered_count) == (second, NOW + 20, 0)
    assert c.contact_id == "c-913" and c.profile_name == "Asha" and c.last_direction == Direction.OUTBOUND
    sms = await inn.conversations.get_conversation(conversation_id(Channel.SMS, "+914"))
    assert (sms.customer, sms.last_message_id, sms.channel) == ("+914", other, Channel.SMS)
    assert [x.customer for x in await inn.conversations.list_conversations(None, None, 10)] == ["+913", "+914"]


async def test_voice_calls_once_newest_first(stores):
    _, inn = stores
    first = VoiceCall(ids.new_id(), "call-1", "connect", Direction.INBOUND, PHONE, "+911", NOW)
    assert await inn.voice_calls.add_voice_call(first)
    assert not await inn.voice_calls.add_voice_call(
        VoiceCall(ids.new_id(), "call-1", "connect", Direction.INBOUND, PHONE, "+911", NOW)
    )
    end = VoiceCall(
        ids.new_id(), "call-1", "terminate", Direction.INBOUND, PHONE, "+911", NOW + 30, duration_seconds=30
    )
    assert await inn.voice_calls.add_voice_call(end)
    other = VoiceCall(ids.new_id(), "call-2", "connect", Direction.INBOUND, PHONE, "+912", NOW + 40)
    await inn.voice_calls.add_voice_call(other)
    assert [c.id for c in await inn.voice_calls.list_voice_calls("", None, 10)] == [other.id, end.id, first.id]
    assert [c.id for c in await inn.voice_calls.list_voice_calls("+911", None, 1)] == [end.id]
    assert [c.id for c in await inn.voice_calls.list_voice_calls("+911", (end.time, end.id), 5)] == [first.id]


async def test_batch_reads_and_exact_key_withdrawal(stores):
    out, inn = stores
    a, b, c = message(key="g/1/a"), message(key="g/1/b"), message()
    await out.messages.accept([a, b, c])
    assert {m.id for m in await out.messages.get_by_keys(["g/1/a", "g/1/b", "g/1/none"])} == {a.id, b.id}
    assert [m.id for m in await out.messages.get_many([c.id, "01J00000000000000000000000", a.id])] == [c.id, a.id]
    queue = await out.queue.queued(PHONE, NOW + 1, 10, frozenset({a.id}))
    assert {m.id for m in queue} == {b.id, c.id}  # what the caller holds already is left out
    w = await out.messages.withdraw_by_key("g/1/a", NOW + 2)
    assert [m.id for m in w.withdrawn] == [a.id] and (await out.messages.get(b.id)).queued
    await out.suppressions.suppress("+911", "marketing", NOW + 10, "131050")
    await out.suppressions.suppress("+912", "all", NOW + 10, "STOP")
    assert await out.suppressions.suppressed_many(["+911", "+912", "+913"], "marketing", NOW) == {
        "+911": "131050",
        "+912": "STOP",
    }
    await inn.messages.add_message(inbound("wamid.w1", customer="+911", at=NOW))
    await inn.messages.add_message(inbound("wamid.w2", customer="+912", at=NOW + 5, origination=OTHER_PHONE))
    got = await inn.windows.last_inbound_many([(PHONE, "+911"), (PHONE, "+912"), (OTHER_PHONE, "+912")])
    assert got == {(PHONE, "+911"): NOW, (OTHER_PHONE, "+912"): NOW + 5}


async def test_a_limited_message_and_the_pre_call_checks_decisions(stores):
    out, _ = stores
    m = message()
    await out.messages.accept([m])
    await out.queue.hand_off([m.id], NOW + 1)
    await out.queue.record_results([SendResult(m.id, "sent", NOW + 2, provider_message_id="wamid.CAP")])
    assert await out.queue.link_reattempt(m.id, "r1", "k/r", NOW + 86_400, NOW + 3) is None  # not limited
    await out.messages.apply_status(
        StatusEvent("wamid.CAP", Status.LIMITED, NOW + 4, m.id, error=MessageError("131049"))
    )
    limited = await out.messages.get(m.id)
    assert limited.status == Status.LIMITED and limited.error.code == "131049"
    # A late `sent` result or status changes nothing: LIMITED is terminal.
    await out.queue.record_results([SendResult(m.id, "sent", NOW + 5, provider_message_id="wamid.CAP")])
    assert (await out.messages.get(m.id)).status == Status.LIMITED
    linked = await out.queue.link_reattempt(m.id, "r1", "k/reattempt-1", NOW + 86_400, NOW + 6)
    assert linked.extra["reattempt"] == "r1" and linked.extra["reattempt_key"] == "k/reattempt-1"
    assert linked.extra["reattempt_due"] == NOW + 86_400

    held, refused, gone, pulled = message(), message(), message(), message()
    await out.messages.accept([held, refused, gone, pulled])
    why = MessageError("TIER_LIMIT", "the messaging tier's budget is spent")
    assert await out.queue.defer([(held.id, NOW + 50, why)], NOW + 7) == [held.id]
    kept = await out.messages.get(held.id)
    assert kept.queued and kept.due_time == NOW + 50 and kept.error == why
    assert held.id not in [x.id for x in await out.queue.queued(PHONE, NOW + 49, 10)]
    assert held.id in [x.id for x in await out.queue.queued(PHONE, NOW + 50, 10)]
    rule = MessageError("MARKETING_FREQUENCY_CAP", "3 marketing messages in 7 days")
    assert await out.queue.refuse([(refused.id, rule, Status.FAILED)], NOW + 8) == [refused.id]
    ended = await out.messages.get(refused.id)
    assert ended.status == Status.FAILED and ended.error == rule
    assert refused.id not in [x.id for x in await out.outbox.dead_letters_pending(10)]  # a rule, not a fault
    await out.queue.hand_off([gone.id], NOW + 9)
    assert await out.queue.defer([(gone.id, NOW + 50, why)], NOW + 10) == []  # handed off: too late
    assert await out.queue.refuse([(gone.id, rule, Status.FAILED)], NOW + 10) == []
    paused = MessageError("TEMPLATE_PAUSED", "withdrawn before the call", "template spring_sale.en_US is PAUSED")
    assert await out.queue.refuse([(pulled.id, paused, Status.WITHDRAWN)], NOW + 11) == [pulled.id]
    back = await out.messages.get(pulled.id)
    assert back.status == Status.WITHDRAWN and back.error == paused


async def test_inbox_feed_basics(stores):
    from services.messaging.domain.inbound import Change, ChangeKind

    _, inn = stores
    reader = inn.feed.reader()
    await reader.start()
    change = lambda key, c="whatsapp-911": Change(key, ChangeKind.MESSAGE_RECEIVED, c, NOW, {"id": key})  # noqa: E731
    await inn.feed.commit_events([("sns-a", [change("a"), change("b")])], NOW)
    many = [change(f"m{i}", f"whatsapp-91{i % 7}") for i in range(60)]  # more than one write's worth, 7 conversations
    await inn.feed.commit_events([("sns-b", many), ("sns-c", [change("z")])], NOW)
    assert await inn.feed.seen_events(["sns-a", "sns-b", "sns-c", "sns-d"]) == {"sns-a", "sns-b", "sns-c"}
    got = []
    while batch := await reader.read(100):
        got += batch
    assert sorted(c.key for c in got) == sorted(["a", "b", "z", *(f"m{i}" for i in range(60))])
    for conversation in {c.conversation_id for c in got}:
        keys = [c.key for c in got if c.conversation_id == conversation]
        assert keys == [
            c.key for c in [change("a"), change("b"), *many, change("z")] if c.conversation_id == conversation
        ]


async def test_status_events_in_a_batch_apply_as_one_after_another(stores):
    """apply_statuses: a message's events folded in order, duplicates in and across batches, orphans kept."""
    out, _ = stores
    a, b = message(key="sb/1/a"), message(key="sb/1/b")
    await out.messages.accept([a, b])
    await out.queue.hand_off([a.id, b.id], NOW + 1)
    await out.queue.record_results([SendResult(b.id, "sent", NOW + 2, provider_message_id="wamid.SB")])
    events = [
        StatusEvent("wamid.SA", Status.SENT, NOW + 3, callback_data=a.callback_data),
        StatusEvent("wamid.SA", Status.READ, NOW + 5, callback_data=a.callback_data),
        StatusEvent("wamid.SA", Status.DELIVERED, NOW + 4, callback_data=a.callback_data),  # late: time learnt only
        StatusEvent("wamid.SB", Status.DELIVERED, NOW + 4),  # by provider id
        StatusEvent("wamid.SA", Status.READ, NOW + 5, callback_data=a.callback_data),  # a repeat in the batch
        StatusEvent("wamid.NONE", Status.DELIVERED, NOW + 4),  # nobody's yet
    ]
    got = await out.messages.apply_statuses(events)
    assert [(g.changed, g.duplicate) for g in got] == [
        (True, False),
        (True, False),
        (False, False),
        (True, False),
        (False, True),
        (False, False),
    ]
    assert got[0].message.status == Status.SENT and got[1].message.status == Status.READ
    assert got[2].message.deliver_time == NOW + 4 and got[2].message.status == Status.READ
    assert got[3].message.id == b.id and got[3].message.status == Status.DELIVERED
    assert got[5].message is None
    stored = await out.messages.get(a.id)
    assert stored.status == Status.READ and stored.provider_message_id == "wamid.SA"
    assert (stored.send_time, stored.deliver_time, stored.read_time) == (NOW + 3, NOW + 4, NOW + 5)
    again = await out.messages.apply_statuses([events[1], events[3]])
    assert all(g.duplicate and not g.changed for g in again)
    assert [g.message.id for g in again] == [a.id, b.id]
    assert await out.messages.apply_statuses([]) == []


async def test_a_status_event_moves_update_time_forward_only(stores):
    """Streams follow a batch by update_time: an event stamped in the past must not hide its change."""
    out, _ = stores
    m = message(batch="B9")
    await out.messages.accept([m])
    await out.queue.hand_off([m.id], NOW + 1)
    [sent] = await out.queue.record_results([SendResult(m.id, "sent", NOW + 2, provider_message_id="wamid.U")])
    applied = await out.messages.apply_status(StatusEvent("wamid.U", Status.DELIVERED, NOW - 100, callback_data=m.id))
    assert applied.changed and applied.message.update_time >= sent.update_time
    assert applied.message.deliver_time == NOW - 100  # the event's time is kept where it belongs
    # A stream counts delivered as sent: a store may list the message as either, never miss it.
    [state] = await out.messages.batch_changes("B9", sent.update_time)
    assert state.id == m.id and state.status in (Status.SENT, Status.DELIVERED)
