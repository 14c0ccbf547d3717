"""SuppressionStore on DynamoDB: an item per (recipient, kind) with its end, put only when it lasts longer than the
one there (a suppression is never shortened)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.dynamodb_store.table import DynamoTable, key, s


class DynamoSuppressionStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def suppress(self, recipient: str, kind: str, until: float, reason: str) -> None:
        db = await self._t.db()
        try:
            await db.put_item(
                TableName=self._t.name,
                Item={**key(f"sup#{recipient}", kind), "until": {"N": repr(until)}, "reason": s(reason)},
                ConditionExpression="attribute_not_exists(pk) OR #u < :u",
                ExpressionAttributeNames={"#u": "until"},
                ExpressionAttributeValues={":u": {"N": repr(until)}},
            )
        except ClientError as exc:
            if not dynamo.condition_refused(exc):
                raise  # else: a longer suppression is already there

    async def suppressed(self, recipient: str, kind: str, now: float) -> str | None:
        return (await self.suppressed_many([recipient], kind, now)).get(recipient)

    async def suppressed_many(self, recipients: list[str], kind: str, now: float) -> dict[str, str]:
        if not recipients:
            return {}
        db = await self._t.db()
        keys = [key(f"sup#{r}", k) for r in set(recipients) for k in {kind, "all"}]
        out: dict[str, str] = {}
        for item in await dynamo.batch_get(db, self._t.name, keys):
            if float(item["until"]["N"]) > now:
                out[item["pk"]["S"].removeprefix("sup#")] = item["reason"]["S"]
        return out
