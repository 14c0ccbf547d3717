"""InboundMessageStore on DynamoDB: a customer's message stored once per wamid (a claim item in the same
transaction), then its window raised and its conversation touched; read, updated (the media copy), deleted."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.codec import inbound_from_dict
from services.messaging.adapters.dynamodb_store.inbound_table import InboundTable, message_item, window_key
from services.messaging.adapters.dynamodb_store.table import TOP, key, s, t
from services.messaging.domain.model import Channel, InboundMessage, touched_by_inbound


class DynamoInboundMessageStore:
    def __init__(self, table: InboundTable):
        self._t = table

    async def add_message(self, message: InboundMessage) -> tuple[InboundMessage, bool]:
        db = await self._t.db()
        claim = {
            "Put": {
                "TableName": self._t.name,
                "Item": {**key(f"wamid#{message.provider_message_id}", "claim"), "message_id": s(message.id)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        put = {"Put": {"TableName": self._t.name, "Item": message_item(message)}}
        try:
            await dynamo.transact_write(db, [claim, put])
        except dynamo.TransactionRefused:
            held = await self.get_by_provider_id(message.provider_message_id)
            if held is None:
                raise
            return held, False
        # The window only ever moves later; an older message leaves it as it is.
        try:
            await db.update_item(
                TableName=self._t.name,
                Key=window_key(message.origination, message.customer),
                UpdateExpression="SET last_inbound = :t",
                ConditionExpression="attribute_not_exists(last_inbound) OR last_inbound < :t",
                ExpressionAttributeValues={":t": {"N": repr(message.receive_time)}},
            )
        except ClientError as exc:
            if not dynamo.condition_refused(exc):
                raise
        await self._t.touch(touched_by_inbound(message))
        return message, True

    async def get(self, message_id: str) -> InboundMessage | None:
        item = await self._t.get(f"in#{message_id}", "in")
        return inbound_from_dict(json.loads(item["doc"]["S"])) if item else None

    async def get_by_provider_id(self, provider_message_id: str) -> InboundMessage | None:
        claim = await self._t.get(f"wamid#{provider_message_id}", "claim")
        return await self.get(claim["message_id"]["S"]) if claim else None

    async def update_message(self, message: InboundMessage) -> None:
        db = await self._t.db()
        await db.put_item(
            TableName=self._t.name, Item=message_item(message), ConditionExpression="attribute_exists(pk)"
        )

    async def delete(self, message_id: str) -> InboundMessage | None:
        db = await self._t.db()
        reply = await db.delete_item(TableName=self._t.name, Key=key(f"in#{message_id}", "in"), ReturnValues="ALL_OLD")
        return inbound_from_dict(json.loads(reply["Attributes"]["doc"]["S"])) if "Attributes" in reply else None

    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[InboundMessage]:
        bound = f"{t(before[0])}#{before[1]}" if before else TOP
        db = await self._t.db()
        request: dict[str, Any] = {
            "TableName": self._t.name,
            "IndexName": "customer",
            "KeyConditionExpression": "c_pk = :h AND c_sk < :b",
            "ExpressionAttributeValues": {":h": s(f"c#{customer}"), ":b": s(bound)},
            "ScanIndexForward": False,
        }
        out: list[InboundMessage] = []
        while len(out) < limit:
            reply = await db.query(**request)
            for item in reply.get("Items", []):
                m = inbound_from_dict(json.loads(item["doc"]["S"]))
                if channel is None or m.channel == channel:
                    out.append(m)
            if "LastEvaluatedKey" not in reply:
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return out[:limit]
