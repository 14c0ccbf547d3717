"""CoordinationStore on DynamoDB: the dispatchers' coordination document, one item (`coord`) put conditioned on
its version (domain.coordination says what is in it); the senders' marks are an item each (`smark`, the
sender key), changed by a conditional update that only moves a mark forward: a 130429 storm writes there, never
to the document the heartbeats and leases compare-and-swap."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.dynamodb_store.table import DynamoTable, key


class DynamoCoordinationStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def load_coordination(self) -> tuple[dict[str, Any], int]:
        return await self._t.load_document("coord", "coord")

    async def save_coordination(self, doc: dict[str, Any], expected_version: int) -> bool:
        return await self._t.save_document("coord", "coord", doc, expected_version)

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
            if not dynamo.condition_refused(exc):
                raise  # else: a later mark is there already

    async def sender_marks(self) -> dict[str, dict[str, float]]:
        items = await self._t.query(None, "pk", "smark", ConsistentRead=True)
        return {
            i["sk"]["S"]: {f: float(i[f]["N"]) if f in i else 0.0 for f in ("paused_until", "slow_seen")} for i in items
        }


def key_of_mark(sender: str) -> dict[str, Any]:
    return key("smark", sender)
