"""CoordinationStore on DynamoDB: the dispatchers' coordination document, one item (`coord`) put conditioned on
its version (domain.coordination says what is in it); the senders' marks are an item each (`smark`, the
sender key), changed by a conditional update that only moves a mark forward: a 130429 storm writes there, never
to the document the heartbeats and leases compare-and-swap."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from services.messaging.adapters.codec import dumps
from services.messaging.adapters.dynamodb_store.table import DynamoTable, conditional_failed, key, s


class DynamoCoordinationStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def load_coordination(self) -> tuple[dict[str, Any], int]:
        item = await self._t.get("coord", "coord")
        return (json.loads(item["doc"]["S"]), int(item["ver"]["N"])) if item else ({}, 0)

    async def save_coordination(self, doc: dict[str, Any], expected_version: int) -> bool:
        db = await self._t.db()
        put: dict[str, Any] = {
            "TableName": self._t.name,
            "Item": {**key("coord", "coord"), "doc": s(dumps(doc)), "ver": {"N": str(expected_version + 1)}},
        }
        if expected_version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "ver = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        try:
            await db.put_item(**put)
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    async def mark_sender(self, key: str, field: str, at: float) -> None:
        assert field in ("paused_until", "slow_seen")
        db = await self._t.db()
        try:
            await db.update_item(
                TableName=self._t.name,
                Key=key_of_mark(key),
                UpdateExpression="SET #f = :t",
                ConditionExpression="attribute_not_exists(#f) OR #f < :t",
                ExpressionAttributeNames={"#f": field},
                ExpressionAttributeValues={":t": {"N": repr(at)}},
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise  # else: a later mark is there already

    async def sender_marks(self) -> dict[str, dict[str, float]]:
        items = await self._t.query(None, "pk", "smark", ConsistentRead=True)
        return {
            i["sk"]["S"]: {f: float(i[f]["N"]) if f in i else 0.0 for f in ("paused_until", "slow_seen")} for i in items
        }


def key_of_mark(sender: str) -> dict[str, Any]:
    return key("smark", sender)
