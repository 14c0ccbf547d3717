"""Status events on DynamoDB, a batch at a time, writing only per-message items (no counter, no shared key).

A round: one BatchGetItem reads the (wamid, status) seen marks and the messages the callback data names; the
provider index finds the others. Each message's new events are folded into it in order (forward only, the
same rules as one at a time: outbound_table.applied) and written as one unit: the message, conditioned on its
version, with a seen mark per event, conditioned on being new. An event for no known message is a unit of its
seen mark and its orphan item. Units are packed whole into TransactWriteItems of up to 100 items, written at
once; a transaction refused (a mark written meanwhile by another process, a message changed) is read again
and retried in the next round, and only its own units are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime import dynamo
from services.messaging.adapters.codec import dumps, status_event_to_dict
from services.messaging.adapters.dynamodb_store.outbound_table import (
    OutboundTable,
    Stored,
    applied,
    id_of,
    message_key,
    read,
)
from services.messaging.adapters.dynamodb_store.table import key, s
from services.messaging.adapters.store import StatusApplied
from services.messaging.domain.model import StatusEvent, message_id_of

ROUNDS = 20
EVENTS_PER_UNIT = dynamo.MAX_TRANSACT_ITEMS - 1  # the message and a seen mark each


@dataclass
class _Unit:
    items: list[dict[str, Any]]
    results: dict[int, StatusApplied]  # input index -> its outcome once written


class StatusBatch:
    def __init__(self, table: OutboundTable):
        self._t = table

    async def apply(self, events: list[StatusEvent]) -> list[StatusApplied]:
        out: list[StatusApplied | None] = [None] * len(events)
        pending = list(range(len(events)))
        for _ in range(ROUNDS):
            if not pending:
                return out  # type: ignore[return-value]
            pending = await self._round(events, pending, out)
        raise RuntimeError("status events: too much contention")

    async def _round(self, events: list[StatusEvent], indexes: list[int], out: list[StatusApplied | None]) -> list[int]:
        seen, found, target = await self._known(events, indexes)
        units: list[_Unit] = []
        groups: dict[str, list[int]] = {}
        later: list[int] = []
        marked: set[tuple[str, str]] = set()
        for i in indexes:
            e = events[i]
            mark = (e.provider_message_id, e.status.value)
            message_id = target.get(i)
            if mark in seen or mark in marked:
                out[i] = StatusApplied(found[message_id][0] if message_id else None, changed=False, duplicate=True)
                continue
            marked.add(mark)
            if message_id is None:
                units.append(_Unit([self._seen(e), self._orphan(e)], {i: StatusApplied(None, changed=False)}))
            else:
                groups.setdefault(message_id, []).append(i)
        for message_id, group in groups.items():
            later += group[EVENTS_PER_UNIT:]  # a message's events beyond one transaction: the next round
            units.append(self._fold(found[message_id], events, group[:EVENTS_PER_UNIT]))
        refused: list[int] = []

        async def write(pack: list[_Unit]) -> None:
            try:
                await dynamo.transact_write(await self._t.db(), [item for u in pack for item in u.items])
            except dynamo.TransactionRefused:
                refused.extend(i for u in pack for i in u.results)
                return
            for u in pack:
                for i, result in u.results.items():
                    out[i] = result

        await self._t.gather([write(p) for p in _packs(units)])
        return sorted(refused + later)

    async def _known(
        self, events: list[StatusEvent], indexes: list[int]
    ) -> tuple[set[tuple[str, str]], dict[str, Stored], dict[int, str]]:
        """The seen marks, the messages (with version and dead-letter flag) and which message each event is for."""
        db = await self._t.db()
        wanted = [key(f"seen#{events[i].provider_message_id}", events[i].status.value) for i in indexes]
        named = {message_id_of(events[i].callback_data) for i in indexes if events[i].callback_data}
        seen: set[tuple[str, str]] = set()
        found: dict[str, Stored] = {}
        for item in await dynamo.batch_get(db, self._t.name, wanted + [message_key(m) for m in named]):
            if item["pk"]["S"].startswith("seen#"):
                seen.add((item["pk"]["S"].removeprefix("seen#"), item["sk"]["S"]))
            else:
                m = read(item)
                found[m[0].id] = m
        target: dict[int, str] = {}
        by_provider: dict[str, list[int]] = {}
        for i in indexes:
            named_id = message_id_of(events[i].callback_data) if events[i].callback_data else ""
            if named_id in found:
                target[i] = named_id
            else:
                by_provider.setdefault(events[i].provider_message_id, []).append(i)
        if by_provider:
            wamids = list(by_provider)
            hits = await self._t.gather([self._t.query("provider", "p_pk", f"p#{w}", limit=1) for w in wamids])
            ids = {w: id_of(h[0]) for w, h in zip(wamids, hits, strict=True) if h}
            missing = [m for m in set(ids.values()) if m not in found]
            for item in await dynamo.batch_get(db, self._t.name, [message_key(m) for m in missing]):
                m = read(item)
                found[m[0].id] = m
            for wamid, group in by_provider.items():
                for i in group:
                    if ids.get(wamid) in found:
                        target[i] = ids[wamid]
        return seen, found, target

    def _fold(self, found: Stored, events: list[StatusEvent], group: list[int]) -> _Unit:
        m = found.message
        results: dict[int, StatusApplied] = {}
        marks = []
        for i in group:
            m, moves = applied(m, events[i])
            results[i] = StatusApplied(m, changed=moves)
            marks.append(self._seen(events[i]))
        return _Unit([{"Put": self._t.put(m, found.dead, found)}, *marks], results)

    def _seen(self, e: StatusEvent) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._t.name,
                "Item": key(f"seen#{e.provider_message_id}", e.status.value),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _orphan(self, e: StatusEvent) -> dict[str, Any]:
        item = {**key(f"orphan#{e.provider_message_id}", e.status.value), "doc": s(dumps(status_event_to_dict(e)))}
        return {"Put": {"TableName": self._t.name, "Item": item}}


def _packs(units: list[_Unit]) -> list[list[_Unit]]:
    """Units, whole, into transactions of at most MAX_TRANSACT_ITEMS items."""
    packs: list[list[_Unit]] = []
    size = dynamo.MAX_TRANSACT_ITEMS
    for u in units:
        if size + len(u.items) > dynamo.MAX_TRANSACT_ITEMS:
            packs.append([])
            size = 0
        packs[-1].append(u)
        size += len(u.items)
    return packs
