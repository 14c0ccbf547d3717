"""EventFeedStore on DynamoDB: SNS MessageIds applied (an item each), and the inbox's change feed: items under one
partition (`feed`) numbered by a head item that moves by compare-and-swap in the same transaction that appends,
so seq grows in commit order; a change key is claimed once; DynamoDB's TTL drops changes after a day."""

from __future__ import annotations

import json
from typing import Any

from runtime import dynamo
from services.messaging.adapters.codec import dumps
from services.messaging.adapters.dynamodb_store.table import DynamoTable, key, s
from services.messaging.domain.inbound import Change

FEED_KEPT_SECONDS = 86_400
FEED_CHANGES_PER_WRITE = 48  # 2 items a change + the head + the SNS mark <= 100 items a transaction


class DynamoEventFeedStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def event_seen(self, sns_message_id: str) -> bool:
        return await self._t.get(f"sns#{sns_message_id}", "sns") is not None

    async def mark_event(self, sns_message_id: str, now: float) -> bool:
        return await self._t.put_new({**key(f"sns#{sns_message_id}", "sns"), "time": {"N": repr(now)}})

    async def commit_event(self, sns_message_id: str, changes: list[Change], now: float) -> bool:
        """The feed head moves from n to n + k by compare-and-swap in the same transaction that appends the k
        changes not seen before (a key claim each), so seq grows in commit order. A transaction takes at most
        100 items: many changes go in several, the SNS mark with the last; a crash in between leaves the
        appended ones claimed, so a redelivery appends only the rest."""
        if await self.event_seen(sns_message_id):
            return False
        db = await self._t.db()
        pending = list(changes)
        while True:
            part, rest = pending[:FEED_CHANGES_PER_WRITE], pending[FEED_CHANGES_PER_WRITE:]
            last = not rest
            for _ in range(30):
                try:
                    await self._append(db, sns_message_id if last else "", part, now)
                    break
                except dynamo.TransactionRefused as exc:
                    if last and exc.failed(0):
                        return False  # this SNS message was applied meanwhile
                    continue  # another writer moved the head, or took a key: read again
            else:
                raise RuntimeError("inbox feed: too much contention")
            if last:
                return True
            pending = rest

    async def _append(self, db, sns_message_id: str, changes: list[Change], now: float) -> None:
        head = await self._t.get("feed", "head")
        seq = int(head["seq"]["N"]) if head else 0
        keys = [key(f"chkey#{c.key}", "claim") for c in changes]
        claimed = await dynamo.batch_get(db, self._t.name, keys) if keys else []
        taken = {i["pk"]["S"].removeprefix("chkey#") for i in claimed}
        fresh = [c for c in changes if c.key not in taken]
        items: list[dict[str, Any]] = []
        if sns_message_id:
            items.append(self._put_new({**key(f"sns#{sns_message_id}", "sns"), "time": {"N": repr(now)}}))
        if fresh:
            condition = (
                {"ConditionExpression": "seq = :s", "ExpressionAttributeValues": {":s": {"N": str(seq)}}}
                if head
                else {"ConditionExpression": "attribute_not_exists(pk)"}
            )
            items.append(
                {
                    "Put": {
                        "TableName": self._t.name,
                        "Item": {**key("feed", "head"), "seq": {"N": str(seq + len(fresh))}},
                        **condition,
                    }
                }
            )
        for n, c in enumerate(fresh, start=seq + 1):
            record = {
                "key": c.key,
                "kind": c.kind,
                "conversation": c.conversation_id,
                "time": c.time,
                "record": c.record,
            }
            items.append(self._put_new(key(f"chkey#{c.key}", "claim")))
            items.append(
                {
                    "Put": {
                        "TableName": self._t.name,
                        "Item": {
                            **key("feed", f"{n:020d}"),
                            "change": s(dumps(record)),
                            "written": {"N": repr(now)},
                            "ttl": {"N": str(int(now + FEED_KEPT_SECONDS))},  # DynamoDB drops it after a day
                        },
                    }
                }
            )
        if items:
            await dynamo.transact_write(db, items)

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self._t.name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    async def changes_after(self, seq: int, limit: int) -> list[Change]:
        db = await self._t.db()
        reply = await db.query(
            TableName=self._t.name,
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":p": s("feed"),
                ":a": s(f"{seq + 1:020d}"),
                ":b": s(f"{10**20 - 1:020d}"),
            },
            ConsistentRead=True,
            Limit=limit,
        )
        out = []
        for item in reply.get("Items", []):
            d = json.loads(item["change"]["S"])
            out.append(Change(d["key"], d["kind"], d["conversation"], d["time"], d["record"], seq=int(item["sk"]["S"])))
        return out

    async def last_change_seq(self) -> int:
        head = await self._t.get("feed", "head")
        return int(head["seq"]["N"]) if head else 0
