"""SendQueue on DynamoDB: the queue index per sender, sharded (lane, due time, id: only due messages are read), hand-off
marks and call results as conditional item changes (several at once), the sharded in-doubt index, and putting a
message back in the queue (an outbound-dlq replay, a 131049 re-attempt)."""

from __future__ import annotations

import heapq
import itertools
from typing import Any

from services.messaging.adapters.dynamodb_store.outbound_table import (
    DOUBT_SHARDS,
    QUEUE_SHARDS,
    OutboundTable,
    id_of,
    queue_sort_key,
)
from services.messaging.adapters.dynamodb_store.table import TOP, s, t
from services.messaging.adapters.store import HandOffIncomplete
from services.messaging.domain.model import Lane, MessageError, OutboundMessage, SendResult, Status


class DynamoSendQueue:
    def __init__(self, table: OutboundTable):
        self._t = table

    async def queued(
        self, origination: str, now: float, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[OutboundMessage]:
        # Each shard's due messages in (lane, due, id) order, merged across shards: the lane order holds across
        # them. The index holds keys only (an entry is written when a message enters the queue and when it leaves,
        # never in between): the messages are read by id, strongly consistent, and checked by the hand-off again.
        shards = await self._t.gather([self._due(f"q#{origination}#{n}", now, limit) for n in range(QUEUE_SHARDS)])
        entries = heapq.merge(*shards, key=lambda e: e["q_sk"]["S"])
        wanted = [i for i in itertools.islice(map(id_of, entries), limit) if i not in exclude]
        return [m for m in await self._t.get_many(wanted) if m.queued and m.due_time <= now]

    async def _due(self, shard: str, now: float, limit: int) -> list[dict[str, Any]]:
        """The first `limit` due entries of one queue shard. One range from the first lane to the last one's due
        end, so an idle sender costs one query a shard, not one a lane and shard; where a lane's deferred
        messages begin, the read jumps to the next lane (what is deferred never stalls what is behind it, and at
        most a page of it is read)."""
        db = await self._t.db()
        last = max(Lane)
        request: dict[str, Any] = {
            "TableName": self._t.name,
            "IndexName": "queue",
            "KeyConditionExpression": "q_pk = :h AND q_sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":h": s(shard),
                ":lo": s(f"{int(min(Lane))}#"),
                ":hi": s(queue_sort_key(last, now, TOP)),
            },
        }
        out: list[dict[str, Any]] = []
        while len(out) < limit:
            reply = await db.query(**request, Limit=limit - len(out))
            deferred_lane = None
            for entry in reply.get("Items", []):
                lane, due, _ = entry["q_sk"]["S"].split("#", 2)
                if float(due) > now:
                    deferred_lane = int(lane)
                    break
                out.append(entry)
            if deferred_lane is not None:
                if deferred_lane >= last:
                    break
                request.pop("ExclusiveStartKey", None)
                request["ExpressionAttributeValues"][":lo"] = s(f"{deferred_lane + 1}#")
            elif "LastEvaluatedKey" in reply:
                request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
            else:
                break
        return out

    async def hand_off(self, message_ids: list[str], now: float) -> list[str]:
        def change(m: OutboundMessage, dead: bool):
            if not m.queued:
                return None
            return m.replace(handoff_time=now, attempts=m.attempts + 1, update_time=now), dead

        results = await self._t.gather([self._t.change(i, change) for i in message_ids], return_exceptions=True)
        marked = [
            i
            for i, m in zip(message_ids, results, strict=True)
            if isinstance(m, OutboundMessage) and m.handoff_time == now
        ]
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:  # each write is its own: those that went through are marked, the others uncertain
            raise HandOffIncomplete(marked, failed[0])
        return marked

    async def record_results(self, results: list[SendResult], fetch: bool = True) -> list[OutboundMessage]:
        async def one(r: SendResult) -> OutboundMessage | None:
            m = await self._t.change(r.message_id, lambda m, dead: _recorded(m, dead, r))
            if m is not None and r.outcome == "sent" and r.provider_message_id:
                await self._t.adopt_orphans(r.provider_message_id)
                m = await self._t.get_message(m.id)
            return m

        found = await self._t.gather([one(r) for r in results])
        return [m for m in found if m is not None]

    async def in_doubt(self, handed_off_before: float, limit: int) -> list[OutboundMessage]:
        shards = [f"doubt#{n}" for n in range(DOUBT_SHARDS)]
        entries = await self._t.sharded("doubt", shards, " AND d_sk < :t", {":t": s(t(handed_off_before))}, limit)
        return [m for m in await self._t.get_many(list(map(id_of, entries))) if m.in_flight]

    async def mark_unknown(self, message_ids: list[str], now: float) -> list[str]:
        error = MessageError(
            "OUTCOME_UNKNOWN",
            "no answer from the provider and no status event",
            "handed to the provider, then no answer and no status event arrived within the window",
        )

        def change(m: OutboundMessage, dead: bool):
            if not m.in_flight:
                return None
            return m.replace(status=Status.UNKNOWN, error=error, update_time=now), dead

        results = await self._t.gather([self._t.change(i, change) for i in message_ids])
        return [i for i, m in zip(message_ids, results, strict=True) if m is not None and m.status == Status.UNKNOWN]

    async def requeue(self, message_id: str, now: float) -> OutboundMessage | None:
        def change(m: OutboundMessage, dead: bool):
            if m.status != Status.FAILED or m.provider_message_id or m.send_time is not None:
                return None
            return (
                m.replace(
                    status=Status.ACCEPTED, handoff_time=None, due_time=now, attempts=0, error=None, update_time=now
                ),
                False,
            )

        m = await self._t.change(message_id, change)
        return m if m is not None and m.status == Status.ACCEPTED and m.update_time == now else None

    async def defer(self, held: list[tuple[str, float, MessageError]], now: float) -> list[str]:
        async def one(message_id: str, due: float, why: MessageError) -> bool:
            def change(m: OutboundMessage, dead: bool):
                if not m.queued:
                    return None
                return m.replace(due_time=due, error=why, update_time=now), dead

            m = await self._t.change(message_id, change)
            return m is not None and m.queued and m.due_time == due and m.update_time == now

        done = await self._t.gather([one(*h) for h in held])
        return [h[0] for h, ok in zip(held, done, strict=True) if ok]

    async def refuse(self, refused: list[tuple[str, MessageError, Status]], now: float) -> list[str]:
        async def one(message_id: str, why: MessageError, status: Status) -> bool:
            def change(m: OutboundMessage, dead: bool):
                if not m.queued:
                    return None
                return m.replace(status=status, error=why, update_time=now), False

            m = await self._t.change(message_id, change)
            return m is not None and m.status == status and m.update_time == now and m.error == why

        done = await self._t.gather([one(*r) for r in refused])
        return [r[0] for r, ok in zip(refused, done, strict=True) if ok]

    async def link_reattempt(
        self, message_id: str, reattempt_id: str, reattempt_key: str, due: float, now: float
    ) -> OutboundMessage | None:
        link = {"reattempt": reattempt_id, "reattempt_key": reattempt_key, "reattempt_due": due}

        def change(m: OutboundMessage, dead: bool):
            if m.status != Status.LIMITED or all(m.extra.get(k) == v for k, v in link.items()):
                return None
            return m.replace(extra={**m.extra, **link}, update_time=now), dead

        m = await self._t.change(message_id, change)
        return m if m is not None and m.status == Status.LIMITED else None


def _recorded(m: OutboundMessage, dead: bool, r: SendResult) -> tuple[OutboundMessage, bool] | None:
    """The message after a call's result (None: the result changes nothing, e.g. a status event came first)."""
    if r.outcome == "sent":
        if m.status in (Status.FAILED, Status.WITHDRAWN, Status.LIMITED):
            return None
        status = Status.SENT if m.status in (Status.ACCEPTED, Status.UNKNOWN) else m.status
        return (
            m.replace(
                status=status,
                provider_message_id=m.provider_message_id or r.provider_message_id,
                send_time=m.send_time if m.send_time is not None else r.time,
                handoff_time=m.handoff_time if m.handoff_time is not None else r.time,
                error=None,
                update_time=r.time,
                extra={**m.extra, **r.extra},
            ),
            dead,
        )
    if r.outcome == "failed":
        if m.status not in (Status.ACCEPTED, Status.UNKNOWN):
            return None
        return m.replace(status=Status.FAILED, error=r.error, update_time=r.time), True
    if r.outcome == "retry":
        if not m.in_flight:
            return None
        return m.replace(handoff_time=None, due_time=r.retry_at, error=r.error, update_time=r.time), dead
    if r.outcome == "in_doubt":
        if m.status != Status.ACCEPTED:
            return None
        return m.replace(error=r.error, update_time=r.time), dead
    if r.outcome == "withdrawn":  # stopped at its call (a hold): never called
        if not m.in_flight:
            return None
        return m.replace(status=Status.WITHDRAWN, error=r.error, update_time=r.time), dead
    raise ValueError(f"unknown send outcome {r.outcome!r}")
