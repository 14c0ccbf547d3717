"""MarketingCapStore on DynamoDB: one item per customer (`cap#<recipient>`) holding the marketing messages counted
in the period (id and time), put conditioned on its version; a customer's item is written once per marketing send
to them, so the load spreads over every customer's partition."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.dynamodb_store.table import DynamoTable, key, s

ATTEMPTS = 12


class DynamoMarketingCapStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def take(self, recipient: str, message_id: str, now: float, since: float, limit: int) -> bool:
        db = await self._t.db()
        for _ in range(ATTEMPTS):
            item = await self._t.get(f"cap#{recipient}", "cap")
            sends: dict[str, float] = json.loads(item["sends"]["S"]) if item else {}
            if message_id in sends:
                return True
            sends = {m: t for m, t in sends.items() if t > since}
            if len(sends) >= limit:
                return False
            sends[message_id] = now
            put: dict[str, Any] = {
                "TableName": self._t.name,
                "Item": {
                    **key(f"cap#{recipient}", "cap"),
                    "sends": s(json.dumps(sends)),
                    "ver": {"N": str(_ver(item) + 1)},
                },
            }
            if item is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "ver = :v"
                put["ExpressionAttributeValues"] = {":v": {"N": str(_ver(item))}}
            try:
                await db.put_item(**put)
                return True
            except ClientError as exc:
                if not dynamo.condition_refused(exc):
                    raise
        raise RuntimeError(f"the marketing cap of a customer kept changing ({ATTEMPTS} attempts)")

    async def counts(self, recipients: list[str], since: float) -> dict[str, int]:
        if not recipients:
            return {}
        db = await self._t.db()
        out: dict[str, int] = {}
        for item in await dynamo.batch_get(db, self._t.name, [key(f"cap#{r}", "cap") for r in set(recipients)]):
            n = sum(1 for t in json.loads(item["sends"]["S"]).values() if t > since)
            if n:
                out[item["pk"]["S"].removeprefix("cap#")] = n
        return out


def _ver(item: dict[str, Any] | None) -> int:
    return int(item["ver"]["N"]) if item else 0
