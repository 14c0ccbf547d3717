"""WindowStore on DynamoDB: an item per (phone, customer) holding the latest inbound time (only ever raised), and
the inbound rate counted on the `rate` index."""

from __future__ import annotations

from typing import Any

from runtime import dynamo
from services.messaging.adapters.dynamodb_store.table import DynamoTable, key, s, t


class DynamoWindowStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def last_inbound(self, origination: str, customer: str) -> float | None:
        item = await self._t.get(f"win#{origination}", customer)
        return float(item["last_inbound"]["N"]) if item else None

    async def last_inbound_many(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
        if not pairs:
            return {}
        db = await self._t.db()
        items = await dynamo.batch_get(db, self._t.name, [key(f"win#{o}", c) for o, c in set(pairs)])
        return {(i["pk"]["S"].removeprefix("win#"), i["sk"]["S"]): float(i["last_inbound"]["N"]) for i in items}

    async def inbound_count(self, origination: str, since: float) -> int:
        db = await self._t.db()
        request: dict[str, Any] = {
            "TableName": self._t.name,
            "IndexName": "rate",
            "KeyConditionExpression": "r_pk = :h AND r_sk >= :s",
            "ExpressionAttributeValues": {":h": s(f"r#{origination}"), ":s": s(t(since))},
            "Select": "COUNT",
        }
        total = 0
        while True:
            reply = await db.query(**request)
            total += reply.get("Count", 0)
            if "LastEvaluatedKey" not in reply:
                return total
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
