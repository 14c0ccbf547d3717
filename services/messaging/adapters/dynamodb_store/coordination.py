"""CoordinationStore on DynamoDB: the dispatchers' coordination document, one item (`coord`) put conditioned on
its version (domain.coordination says what is in it)."""

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
