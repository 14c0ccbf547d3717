"""The messaging store contract, continued: what the dispatcher's promises at scale ask of the outbound table
(issue 12: due-only queue reads, holds, withdrawal by recipient), on both engines (the `stores` fixture of
test_store_contract: SQLite and DynamoDB on moto)."""

from __future__ import annotations

import dataclasses

from services.messaging.domain import holds
from services.messaging.domain.model import Channel, Lane, MessageError, SendResult, Status
from tests.messaging.test_store_contract import NOW, PHONE, message, stores  # noqa: F401 (the fixture)


async def test_deferred_messages_at_a_lanes_head_never_stall_the_due_ones_behind_them(stores):  # noqa: F811
    """More deferred messages (retries, 131049 re-attempts) at the head of a lane than one refill reads: the due
    ones behind them come back all the same, in lane, due-time, acceptance order (DynamoDB read the first
    `limit` entries of the lane, then dropped those not due: a refill found nothing)."""
    out, _ = stores
    deferred = [message(at=NOW + i * 1e-3).replace(due_time=NOW + 3600, lane=Lane.SINGLE) for i in range(40)] + [
        message(at=NOW + 0.1 + i * 1e-3).replace(due_time=NOW + 3600) for i in range(40)
    ]
    due = [message(at=NOW + 1 + i * 1e-3) for i in range(5)]
    retried = message(at=NOW - 50).replace(due_time=NOW + 2)  # accepted first, due after the others
    await out.messages.accept([*deferred, *due, retried])
    got = await out.queue.queued(PHONE, NOW + 10, 8)
    assert [m.id for m in got] == [*(m.id for m in due), retried.id]
    # At most `limit` are looked at, and never one that is not due.
    assert [m.id for m in await out.queue.queued(PHONE, NOW + 10, 3)] == [m.id for m in due[:3]]
    assert [m.id for m in await out.queue.queued(PHONE, NOW + 1.5, 8)] == [m.id for m in due]
    # Those it already has are left out, and counted in the limit as before.
    known = frozenset(m.id for m in due[:2])
    assert [m.id for m in await out.queue.queued(PHONE, NOW + 10, 4, known)] == [m.id for m in due[2:4]]


async def test_holds_are_read_back_by_time_once_each_and_within_the_horizon(stores):  # noqa: F811
    """What a dispatcher polls: the holds noted after a time, oldest first; noting one again adds nothing; a hold
    older than the horizon is not read (nor one noted before `after`)."""
    out, _ = stores
    stop = holds.opted_out(Channel.WHATSAPP, "+919812345678", NOW + 1, "whatsapp:keyword:STOP")
    start = holds.opted_in(Channel.WHATSAPP, "+919812345678", NOW + 2.5, "whatsapp:keyword:START")
    gone = holds.withdrawn("bulkJobs/J1/", NOW + 2)
    old = holds.suppressed("+919800000000", NOW - holds.HORIZON - 1, "131050")
    # An hour's turn between two of them: DynamoDB keeps them under the hour they were noted in.
    later = holds.suppressed("+919811111111", NOW + 3600, "131050")
    paused = holds.template_moved("spring_sale.en_US", NOW + 3600.5, "PAUSED")  # Meta moved a template
    await out.holds.note_holds([start, stop, old])
    await out.holds.note_holds([gone, stop, later])
    now = NOW + 3601
    assert await out.holds.holds_since(NOW - 10, now) == [stop, gone, start, later]
    assert await out.holds.holds_since(NOW + 1, now) == [gone, start, later]
    assert await out.holds.holds_since(NOW + 2.5, now) == [later]
    assert await out.holds.holds_since(NOW - holds.HORIZON - 10, now) == [stop, gone, start, later]  # not `old`
    assert await out.holds.holds_since(NOW - holds.HORIZON - 10, NOW + holds.HORIZON + 1.5) == [gone, start, later]
    await out.holds.note_holds([paused])
    assert await out.holds.holds_since(NOW + 3600, now) == [paused]


async def test_withdraw_for_recipient_takes_only_their_queued_messages_on_that_channel(stores):  # noqa: F811
    """A STOP withdraws what is queued for that customer on that channel and accepted by then, except the opt-out
    confirmation; what was handed off, other channels, other customers and what is accepted later stay."""
    out, _ = stores
    who = "+919812345678"
    queued = [message(recipient=who, at=NOW + i) for i in range(3)]
    handed = message(recipient=who, at=NOW + 3)
    confirmation = dataclasses.replace(message(recipient=who, at=NOW + 4), extra={holds.OPT_OUT_CONFIRMATION: "1"})
    sms = message(recipient=who, at=NOW + 4, channel=Channel.SMS, origination="+15550100")
    other = message(recipient="+919800000001", at=NOW + 4)
    later = message(recipient=who, at=NOW + 20)
    await out.messages.accept([*queued, handed, confirmation, sms, other, later])
    assert await out.queue.hand_off([handed.id], NOW + 5) == [handed.id]
    withdrawn = await out.messages.withdraw_for_recipient(
        Channel.WHATSAPP, who, NOW + 10, NOW + 10, keep_extra=holds.OPT_OUT_CONFIRMATION
    )
    assert sorted(m.id for m in withdrawn) == sorted(m.id for m in queued)
    assert all(m.status == Status.WITHDRAWN for m in withdrawn)
    after = {m.id: m.status for m in await out.messages.get_many([handed.id, confirmation.id, sms.id, other.id])}
    assert set(after.values()) == {Status.ACCEPTED}
    assert (await out.messages.get(later.id)).status == Status.ACCEPTED
    again = await out.messages.withdraw_for_recipient(
        Channel.WHATSAPP, who, NOW + 10, NOW + 11, keep_extra=holds.OPT_OUT_CONFIRMATION
    )
    assert again == []  # once


async def test_a_handed_off_message_stopped_at_its_call_ends_withdrawn(stores):  # noqa: F811
    """The `withdrawn` result (a pre-call check stopped it; it was never called): only for a message handed off
    and still without an outcome."""
    out, _ = stores
    a, b = message(at=NOW), message(at=NOW + 1)
    await out.messages.accept([a, b])
    await out.queue.hand_off([a.id], NOW + 2)
    error = MessageError("CONSENT_OPTED_OUT", "opted out after it was accepted")
    await out.queue.record_results(
        [SendResult(a.id, "withdrawn", NOW + 3, error=error), SendResult(b.id, "withdrawn", NOW + 3, error=error)]
    )
    got = {m.id: m for m in await out.messages.get_many([a.id, b.id])}
    assert got[a.id].status == Status.WITHDRAWN and got[a.id].error.code == "CONSENT_OPTED_OUT"
    assert got[b.id].status == Status.ACCEPTED  # not handed off: not this result's to end


async def test_withdrawal_by_prefix_pages_through_a_job_and_counts_what_is_in_flight(stores, monkeypatch):  # noqa: F811
    """A job's keys are read a page at a time (DynamoDB: pages of 3 here), what was sent or withdrawn before is
    passed over, the queued ones are withdrawn and the handed-off ones counted in flight, on every page."""
    from services.messaging.adapters.dynamodb_store import messages as dynamo_messages

    monkeypatch.setattr(dynamo_messages, "PAGE", 3)
    out, _ = stores
    job = [message(key=f"bulkJobs/J9/r{i:02d}", at=NOW + i * 1e-3) for i in range(11)]
    other = message(key="bulkJobs/J90/r00")
    await out.messages.accept([*job, other])
    await out.queue.hand_off([job[1].id, job[5].id, job[9].id], NOW + 1)
    await out.queue.record_results([SendResult(job[5].id, "sent", NOW + 2, provider_message_id="wamid.5")])
    w = await out.messages.withdraw_by_key_prefix("bulkJobs/J9/", NOW + 3)
    assert sorted(m.id for m in w.withdrawn) == sorted(m.id for i, m in enumerate(job) if i not in (1, 5, 9))
    assert w.in_flight == 2
    assert (await out.messages.get(other.id)).queued
    again = await out.messages.withdraw_by_key_prefix("bulkJobs/J9/", NOW + 4)
    assert again.withdrawn == [] and again.in_flight == 2


async def test_sender_marks_only_move_forward_and_leave_the_document_alone(stores):  # noqa: F811
    """131048 and 130429 marks, one per sender beside the coordination document: a later mark wins, an earlier
    one changes nothing, and the document's version does not move (no contention with heartbeats)."""
    out, _ = stores
    assert await out.coordination.save_coordination({"members": {}}, 0)
    await out.coordination.mark_sender("WHATSAPP:p1", "slow_seen", NOW)
    await out.coordination.mark_sender("WHATSAPP:p1", "slow_seen", NOW - 5)
    await out.coordination.mark_sender("WHATSAPP:p1", "paused_until", NOW + 900)
    await out.coordination.mark_sender("WHATSAPP:p2", "slow_seen", NOW + 1)
    await out.coordination.mark_sender("WHATSAPP:p2", "slow_seen", NOW + 2)
    assert await out.coordination.sender_marks() == {
        "WHATSAPP:p1": {"paused_until": NOW + 900, "slow_seen": NOW},
        "WHATSAPP:p2": {"paused_until": 0.0, "slow_seen": NOW + 2},
    }
    assert (await out.coordination.load_coordination()) == ({"members": {}}, 1)
