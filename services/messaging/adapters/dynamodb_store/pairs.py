"""PairLogStore on DynamoDB: a sender's pair-limit memory, one item a sender (`pairs#<sender>`), replaced whole
when the sender is handed over (its recipients of the last few seconds: small)."""

from __future__ import annotations

import json

from services.messaging.adapters.dynamodb_store.table import DynamoTable, key, s


class DynamoPairLogStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def save_pairs(self, sender: str, pairs: dict[str, float]) -> None:
        db = await self._t.db()
        await db.put_item(TableName=self._t.name, Item={**key(f"pairs#{sender}", "pairs"), "doc": s(json.dumps(pairs))})

    async def load_pairs(self, sender: str) -> dict[str, float]:
        item = await self._t.get(f"pairs#{sender}", "pairs")
        return {k: float(v) for k, v in json.loads(item["doc"]["S"]).items()} if item else {}
