"""PortfolioStore on DynamoDB: the tier ledger as one item (`tier`) put conditioned on its version, and an item per
counted customer (`tier#<recipient>`). Load: the ledger is written once per claimed block of places (dispatch.tier
claims for many sends at once) and once per bucket's end, a few times a second whatever the send rate; the
customers' items spread over as many partitions as there are customers, written once a send. No hot key at 1,000
sends a second (docs/DESIGN.md "The messaging tier, the cap and the checks at the call")."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from services.messaging.adapters.dynamodb_store.table import DynamoTable, key


class DynamoPortfolioStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def load_ledger(self) -> tuple[dict[str, Any], int]:
        return await self._t.load_document("tier", "ledger")

    async def save_ledger(self, doc: dict[str, Any], expected_version: int) -> bool:
        return await self._t.save_document("tier", "ledger", doc, expected_version)

    async def counted(self, recipients: list[str], now: float) -> dict[str, int]:
        if not recipients:
            return {}
        db = await self._t.db()
        items = await dynamo.batch_get(db, self._t.name, [key(f"tier#{r}", "tier") for r in set(recipients)])
        return {
            i["pk"]["S"].removeprefix("tier#"): int(i["bucket"]["N"]) for i in items if float(i["until"]["N"]) > now
        }

    async def count(self, recipients: list[str], bucket: int, until: float, now: float) -> None:
        db = await self._t.db()

        async def one(recipient: str) -> None:
            try:
                await db.put_item(
                    TableName=self._t.name,
                    Item={
                        **key(f"tier#{recipient}", "tier"),
                        "bucket": {"N": str(bucket)},
                        "until": {"N": repr(until)},
                        # Read by the table's TTL: DynamoDB deletes customers out of the window on its own.
                        "expires": {"N": str(int(until) + 1)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR #u < :u",
                    ExpressionAttributeNames={"#u": "until"},
                    ExpressionAttributeValues={":u": {"N": repr(until)}},
                )
            except ClientError as exc:
                if not dynamo.condition_refused(exc):
                    raise  # else: counted in a later bucket already

        await self._t.gather([one(r) for r in set(recipients)])
