"""WindowStore on DynamoDB: an item per (phone, customer) holding the latest inbound time (only ever raised), on
WINDOW_SHARDS partitions a phone, and the inbound rate counted on the `rate` index (RATE_SHARDS a phone)."""

from __future__ import annotations

from typing import Any

from runtime import dynamo
from services.messaging.adapters.dynamodb_store.inbound_table import RATE_SHARDS, window_key
from services.messaging.adapters.dynamodb_store.table import DynamoTable, s, t


class DynamoWindowStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def last_inbound(self, origination: str, customer: str) -> float | None:
        k = window_key(origination, customer)
        item = await self._t.get(k["pk"]["S"], customer)
        return float(item["last_inbound"]["N"]) if item else None

    async def last_inbound_many(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
        if not pairs:
            return {}
        db = await self._t.db()
        wanted = {(window_key(o, c)["pk"]["S"], c): (o, c) for o, c in set(pairs)}
        items = await dynamo.batch_get(db, self._t.name, [window_key(o, c) for o, c in wanted.values()])
        return {wanted[(i["pk"]["S"], i["sk"]["S"])]: float(i["last_inbound"]["N"]) for i in items}

    async def inbound_count(self, origination: str, since: float) -> int:
        db = await self._t.db()
        total = 0
        for n in range(RATE_SHARDS):
            request: dict[str, Any] = {
                "TableName": self._t.name,
                "IndexName": "rate",
                "KeyConditionExpression": "r_pk = :h AND r_sk >= :s",
                "ExpressionAttributeValues": {":h": s(f"r#{origination}#{n}"), ":s": s(t(since))},
                "Select": "COUNT",
            }
            while True:
                reply = await db.query(**request)
                total += reply.get("Count", 0)
                if "LastEvaluatedKey" not in reply:
                    break
                request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return total
