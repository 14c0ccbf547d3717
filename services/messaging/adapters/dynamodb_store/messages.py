"""MessageStore on DynamoDB: accepting outbound messages with their idempotency key claims (a key claim item moved
to a new message only from a withdrawn one, in one transaction), reading them, withdrawing the queued ones, a
streamed send's changes, and status events applied forward only with their (wamid, status) seen marks, a batch
at a time (statuses.py)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.dynamodb_store.outbound_table import (
    BATCH_SHARDS,
    KEY_SHARDS,
    OutboundTable,
    id_of,
    message_of,
    state_from,
)
from services.messaging.adapters.dynamodb_store.statuses import StatusBatch
from services.messaging.adapters.dynamodb_store.table import TOP, key, s, t
from services.messaging.adapters.store import StatusApplied, Withdrawal
from services.messaging.domain.model import (
    AcceptOutcome,
    Channel,
    MessageState,
    OutboundMessage,
    Status,
    StatusEvent,
)
from services.messaging.domain.rules import key_scope

PAGE = 1000  # entries of the `keys` index read a page when withdrawing by prefix (each then read and changed)


class DynamoMessageStore:
    def __init__(self, table: OutboundTable):
        self._t = table

    async def accept(self, messages: list[OutboundMessage]) -> list[AcceptOutcome]:
        # Messages sharing a key go one after the other (the second sees the first); the rest concurrently.
        groups: dict[str, list[int]] = {}
        for i, m in enumerate(messages):
            groups.setdefault(m.idempotency_key or f"\x00{i}", []).append(i)
        out: list[AcceptOutcome | None] = [None] * len(messages)

        async def group(indexes: list[int]) -> None:
            for i in indexes:
                out[i] = await self._accept_one(messages[i])

        await self._t.gather([group(g) for g in groups.values()])
        return [o for o in out if o is not None]

    async def _accept_one(self, m: OutboundMessage) -> AcceptOutcome:
        db = await self._t.db()
        if not m.idempotency_key:
            await db.put_item(**self._t.put(m, False, None))
            return AcceptOutcome(m, duplicate=False)
        claim_key = key(f"key#{m.idempotency_key}", "key")
        for _ in range(20):
            claim = (await db.get_item(TableName=self._t.name, Key=claim_key, ConsistentRead=True)).get("Item")
            items: list[dict[str, Any]] = []
            if claim is None:
                items.append(
                    {
                        "Put": {
                            "TableName": self._t.name,
                            "Item": {**claim_key, "message_id": s(m.id)},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
            else:
                held = await self._t.get_item(claim["message_id"]["S"])
                if held is not None and held.message.status != Status.WITHDRAWN:
                    return AcceptOutcome(held.message, duplicate=True)
                items.append(
                    {
                        "Put": {
                            "TableName": self._t.name,
                            "Item": {**claim_key, "message_id": s(m.id)},
                            "ConditionExpression": "message_id = :old",
                            "ExpressionAttributeValues": {":old": claim["message_id"]},
                        }
                    }
                )
                if held is not None:
                    moved = held.message.replace(idempotency_key="", former_idempotency_key=m.idempotency_key)
                    items.append({"Put": self._t.put(moved, held.dead, held)})
            items.append({"Put": self._t.put(m, False, None)})
            try:
                await dynamo.transact_write(db, items)
                return AcceptOutcome(m, duplicate=False)
            except dynamo.TransactionRefused:
                continue  # someone else took or moved the key meanwhile: look again
        raise RuntimeError(f"idempotency key {m.idempotency_key!r}: too much contention")

    async def get(self, message_id: str) -> OutboundMessage | None:
        return await self._t.get_message(message_id)

    async def get_by_key(self, idempotency_key: str) -> OutboundMessage | None:
        found = await self.get_by_keys([idempotency_key])
        return found[0] if found else None

    async def get_by_keys(self, idempotency_keys: list[str]) -> list[OutboundMessage]:
        if not idempotency_keys:
            return []
        db = await self._t.db()
        claims = await dynamo.batch_get(db, self._t.name, [key(f"key#{k}", "key") for k in set(idempotency_keys)])
        found = await self._t.get_many([c["message_id"]["S"] for c in claims])
        return [m for m in found if m.idempotency_key]

    async def get_many(self, message_ids: list[str]) -> list[OutboundMessage]:
        return await self._t.get_many(message_ids)

    async def get_by_provider_id(self, provider_message_id: str) -> OutboundMessage | None:
        return await self._t.by_provider_id(provider_message_id)

    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[OutboundMessage]:
        bound = f"{t(before[0])}#{before[1]}" if before else TOP
        out: list[OutboundMessage] = []
        db = await self._t.db()
        request: dict[str, Any] = {
            "TableName": self._t.name,
            "IndexName": "customer",
            "KeyConditionExpression": "c_pk = :h AND c_sk < :b",
            "ExpressionAttributeValues": {":h": s(f"c#{customer}"), ":b": s(bound)},
            "ScanIndexForward": False,
        }
        while len(out) < limit:
            reply = await db.query(**request)
            for item in reply.get("Items", []):
                m = message_of(item)
                if channel is None or m.channel == channel:
                    out.append(m)
            if "LastEvaluatedKey" not in reply:
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return out[:limit]

    async def delete(self, message_id: str) -> OutboundMessage | None:
        db = await self._t.db()
        reply = await db.delete_item(
            TableName=self._t.name, Key=key(f"msg#{message_id}", "msg"), ReturnValues="ALL_OLD"
        )
        if "Attributes" not in reply:
            return None
        m = message_of(reply["Attributes"])
        if m.idempotency_key:
            try:  # the key claim goes with it, unless the key moved on to a newer message
                await db.delete_item(
                    TableName=self._t.name,
                    Key=key(f"key#{m.idempotency_key}", "key"),
                    ConditionExpression="message_id = :m",
                    ExpressionAttributeValues={":m": s(m.id)},
                )
            except ClientError as exc:
                if not dynamo.condition_refused(exc):
                    raise
        return m

    # --- withdrawal ---------------------------------------------------------------------------------
    async def withdraw_by_key_prefix(self, prefix: str, now: float) -> Withdrawal:
        """A job may hold a million keys, but the `keys` index holds only its unfinished messages (queued or in
        flight), spread over KEY_SHARDS: each shard's range is read a page at a time (keys only), and those
        messages are read and the queued ones changed; nothing else of the job is read or held in memory."""
        scope = key_scope(prefix + "x")
        withdrawn: list[OutboundMessage] = []
        in_flight = 0
        for n in range(KEY_SHARDS):
            request: dict[str, Any] = {
                "TableName": self._t.name,
                "IndexName": "keys",
                "KeyConditionExpression": "k_pk = :h AND begins_with(k_sk, :p)",
                "ExpressionAttributeValues": {":h": s(f"k#{scope}#{n}"), ":p": s(prefix)},
                "Limit": PAGE,
            }
            while True:
                reply = await (await self._t.db()).query(**request)
                done, lost = await self._withdraw_ids([id_of(i) for i in reply.get("Items", [])], now)
                withdrawn += done
                in_flight += lost
                if "LastEvaluatedKey" not in reply:
                    break
                request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return Withdrawal(withdrawn, in_flight)

    async def _withdraw_ids(self, message_ids: list[str], now: float) -> tuple[list[OutboundMessage], int]:
        """Withdraws those still queued: (the withdrawn, how many are in flight)."""

        def change(m: OutboundMessage, dead: bool):
            if not m.queued:
                return None
            return m.replace(status=Status.WITHDRAWN, update_time=now), dead

        results = await self._t.gather([self._t.change(i, change) for i in message_ids])
        withdrawn = [m for m in results if m is not None and m.status == Status.WITHDRAWN and m.update_time == now]
        return withdrawn, sum(1 for m in results if m is not None and m.in_flight)

    async def withdraw_by_key(self, idempotency_key: str, now: float) -> Withdrawal:
        found = await self.get_by_key(idempotency_key)
        return await self._withdraw([found] if found else [], now)

    async def withdraw_batch(self, batch_id: str, now: float) -> Withdrawal:
        # The entries' state is as of their last followed change: an accepted one may be in flight by now,
        # which the change's own read sees.
        entries = await self._t.sharded("batch", self._batch_shards(batch_id), "", {})
        accepted = [id_of(e) for e in entries if state_from(e).status == Status.ACCEPTED]
        done, in_flight = await self._withdraw_ids(accepted, now)
        return Withdrawal(done, in_flight)

    @staticmethod
    def _batch_shards(batch_id: str) -> list[str]:
        return [f"b#{batch_id}#{n}" for n in range(BATCH_SHARDS)]

    async def withdraw_for_recipient(
        self, channel: Channel, recipient: str, accepted_before: float, now: float, keep_extra: str = ""
    ) -> list[OutboundMessage]:
        # The customer index, only what is still in the queue (its queue keys are there while it is queued).
        items = await self._t.query(
            "customer",
            "c_pk",
            f"c#{recipient}",
            range_condition=" AND c_sk <= :b",
            values={":b": s(f"{t(accepted_before)}#{TOP}")},
            FilterExpression="attribute_exists(q_pk)",
        )
        candidates = [message_of(i) for i in items]
        chosen = [m for m in candidates if m.channel == channel and not (keep_extra and m.extra.get(keep_extra))]
        return (await self._withdraw(chosen, now)).withdrawn

    async def _withdraw(self, candidates: list[OutboundMessage], now: float) -> Withdrawal:
        def change(m: OutboundMessage, dead: bool):
            if not m.queued:
                return None
            return m.replace(status=Status.WITHDRAWN, update_time=now), dead

        results = await self._t.gather(
            [self._t.change(m.id, change) for m in candidates if m.status == Status.ACCEPTED]
        )
        withdrawn = [m for m in results if m is not None and m.status == Status.WITHDRAWN and m.update_time == now]
        fresh = await self._t.get_many([m.id for m in candidates])
        in_flight = sum(1 for m in fresh if m.in_flight)
        return Withdrawal(withdrawn, in_flight)

    async def batch_changes(self, batch_id: str, since: float) -> list[MessageState]:
        # What a stream follows, from the index alone: an entry moves (and its `st` with it) only when that changes.
        entries = await self._t.sharded("batch", self._batch_shards(batch_id), " AND b_sk >= :s", {":s": s(t(since))})
        return [state_from(e) for e in entries]

    # --- status events ------------------------------------------------------------------------------
    async def apply_status(self, event: StatusEvent) -> StatusApplied:
        return (await self.apply_statuses([event]))[0]

    async def apply_statuses(self, events: list[StatusEvent]) -> list[StatusApplied]:
        return await StatusBatch(self._t).apply(events) if events else []
