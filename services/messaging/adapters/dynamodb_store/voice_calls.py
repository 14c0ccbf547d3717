"""VoiceCallStore on DynamoDB: a call event stored once per (call id, event) by a claim item in the same
transaction; listed per customer, or all from the sharded `latest` index."""

from __future__ import annotations

import json

from runtime import dynamo
from services.messaging.adapters.codec import dumps, voice_call_from_dict, voice_call_to_dict
from services.messaging.adapters.dynamodb_store.inbound_table import CALL_SHARDS, InboundTable
from services.messaging.adapters.dynamodb_store.table import TOP, key, s, shard, t
from services.messaging.domain.model import VoiceCall


class DynamoVoiceCallStore:
    def __init__(self, table: InboundTable):
        self._t = table

    async def add_voice_call(self, call: VoiceCall) -> bool:
        db = await self._t.db()
        claim = {
            "Put": {
                "TableName": self._t.name,
                "Item": key(f"callev#{call.call_id}#{call.event}", "claim"),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        put = {
            "Put": {
                "TableName": self._t.name,
                "Item": {
                    **key(f"call#{call.id}", "call"),
                    "doc": s(dumps(voice_call_to_dict(call))),
                    "c_pk": s(f"vc#{call.customer}"),
                    "c_sk": s(f"{t(call.time)}#{call.id}"),
                    "l_pk": s(f"calls#{shard(call.id, CALL_SHARDS)}"),
                    "l_sk": s(f"{t(call.time)}#{call.id}"),
                },
            }
        }
        try:
            await dynamo.transact_write(db, [claim, put])
        except dynamo.TransactionRefused:
            return False
        return True

    async def list_voice_calls(self, customer: str, before: tuple[float, str] | None, limit: int) -> list[VoiceCall]:
        if not customer:
            items = await self._t.latest("calls", CALL_SHARDS, before, limit, None)
            return [voice_call_from_dict(json.loads(i["doc"]["S"])) for i in items]
        bound = f"{t(before[0])}#{before[1]}" if before else TOP
        db = await self._t.db()
        reply = await db.query(
            TableName=self._t.name,
            IndexName="customer",
            KeyConditionExpression="c_pk = :h AND c_sk < :b",
            ExpressionAttributeValues={":h": s(f"vc#{customer}"), ":b": s(bound)},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [voice_call_from_dict(json.loads(i["doc"]["S"])) for i in reply.get("Items", [])]
