"""The messaging store contract, continued: what the dispatcher's promises at scale ask of the outbound table
(issue 12), on both engines (the `stores` fixture of test_store_contract: SQLite and DynamoDB on moto)."""

from __future__ import annotations

from services.messaging.domain.model import Lane
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
