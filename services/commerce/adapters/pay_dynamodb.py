"""PayTable on DynamoDB: the AWS implementation of PayStore, with the semantics of pay_sqlite.

One table with generic keys `pk`/`sk`:

  item      pk                   sk        attributes
  payment   payment#<id>         payment   doc, version; gsi1pk = payments#<crc32(id) mod 8>, gsi1sk = id;
                                           gsi2pk = invoice#<invoice id> (once known), gsi2sk = payment#<id>;
                                           gsi3pk = created#<YYYY-MM-DD>, gsi3sk = id;
                                           gsi4pk = receipts#due while its receipt is owed, gsi4sk = id
  event     event#<key>          event     payment_id, at
  link      link#<id>            link      doc; gsi2pk = invoice#<invoice id>, gsi2sk = link#<id>

record() reads the payment, merges the event in, and writes the event item (on condition it is new) and the
payment (on condition its version is the one read) in one TransactWriteItems: a repeated event fails the first
condition and changes nothing; two events of one payment at once fail the second for one of them, which reads
again and merges again."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

from runtime import dynamo
from runtime.aws import AwsClients
from runtime.errors import Aborted
from services.commerce.adapters.pay_codec import from_document, link_from_document, link_to_document, to_document
from services.commerce.adapters.pay_sqlite import create_day
from services.commerce.domain.payments import Observation, Payment, PaymentLink, Recorded, merge

LIST_INDEX = "list"
INVOICE_INDEX = "byInvoice"
DAY_INDEX = "byDay"
RECEIPT_INDEX = "receiptsDue"
LIST_SHARDS = 8
ATTEMPTS = 50

TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": f"gsi{n}{part}", "AttributeType": "S"} for n in range(1, 5) for part in ("pk", "sk")
    ]
    + [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": f"{gsi}pk", "KeyType": "HASH"},
                {"AttributeName": f"{gsi}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["doc"]},
        }
        for index, gsi in ((LIST_INDEX, "gsi1"), (INVOICE_INDEX, "gsi2"), (DAY_INDEX, "gsi3"), (RECEIPT_INDEX, "gsi4"))
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_table(client, name: str) -> None:
    """Creates PayTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, TABLE)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _payment_key(payment_id: str) -> dict[str, Any]:
    return _key(f"payment#{payment_id}", "payment")


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _item(payment: Payment) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_payment_key(payment.id),
        "doc": dynamo.attribute(to_document(payment)),
        "version": {"N": str(payment.version)},
        "gsi1pk": _s(f"payments#{dynamo.shard_of(payment.id, LIST_SHARDS)}"),
        "gsi1sk": _s(payment.id),
        "gsi3pk": _s(f"created#{create_day(payment)}"),
        "gsi3sk": _s(payment.id),
    }
    if payment.invoice:
        item |= {"gsi2pk": _s(f"invoice#{payment.invoice}"), "gsi2sk": _s(f"payment#{payment.id}")}
    if payment.receipt == "DUE":
        item |= {"gsi4pk": _s("receipts#due"), "gsi4sk": _s(payment.id)}
    return item


def _decode(item: dict[str, Any]) -> Payment:
    return from_document(dynamo.native(item["doc"]))


class DynamoPayStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    def _put_payment(self, payment: Payment, before: Payment | None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": _item(payment)}
        if before is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(before.version)}}
        return {"Put": put}

    async def record(self, event_key: str, seen: Observation, now: float) -> Recorded:
        client = await self._client()
        event = {
            "Put": {
                "TableName": self._table,
                "Item": {
                    **_key(f"event#{event_key}", "event"),
                    "payment_id": _s(seen.payment_id),
                    "at": dynamo.attribute(now),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        for attempt in range(ATTEMPTS):
            current = await self.get(seen.payment_id)
            merged = merge(current, seen, now)
            try:
                await dynamo.transact_write(client, [event, self._put_payment(merged, current)])
                return Recorded(merged, duplicate=False, before=current)
            except dynamo.TransactionRefused as refused:
                if refused.failed(0):
                    return Recorded(current, duplicate=True, before=current)
                await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** min(attempt, 6))))
        raise Aborted(f"payments/{seen.payment_id} kept changing; the event will be retried")

    async def get(self, payment_id: str) -> Payment | None:
        client = await self._client()
        item = (await client.get_item(TableName=self._table, Key=_payment_key(payment_id), ConsistentRead=True)).get(
            "Item"
        )
        return _decode(item) if item else None

    def _query(self, index: str, gsi: str, partition: str, after: str | None = None, **extra) -> dict[str, Any]:
        values = {":pk": _s(partition)}
        condition = f"{gsi}pk = :pk"
        if after is not None:
            values[":after"] = _s(after)
            condition += f" AND {gsi}sk > :after"
        return {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            **extra,
        }

    async def _all(self, request: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        client = await self._client()
        response = await client.query(**request)
        items = list(response.get("Items", []))
        while response.get("LastEvaluatedKey") and (limit is None or len(items) < limit):
            response = await client.query(**request, ExclusiveStartKey=response["LastEvaluatedKey"])
            items += response.get("Items", [])
        return items if limit is None else items[:limit]

    async def list(self, after_id: str | None, limit: int) -> list[Payment]:
        if limit <= 0:
            return []
        page = min(limit, -(-limit // LIST_SHARDS) + 2)
        requests = [
            self._query(LIST_INDEX, "gsi1", f"payments#{shard}", after_id or None, Limit=page)
            for shard in range(LIST_SHARDS)
        ]
        return [_decode(i) for i in await dynamo.merged_query(await self._client(), requests, "gsi1sk", limit)]

    async def of_invoice(self, invoice_id: str) -> list[Payment]:
        request = self._query(INVOICE_INDEX, "gsi2", f"invoice#{invoice_id}")
        request["KeyConditionExpression"] += " AND begins_with(gsi2sk, :kind)"
        request["ExpressionAttributeValues"][":kind"] = _s("payment#")
        return [_decode(i) for i in await self._all(request)]

    async def created_on(self, day: str) -> list[Payment]:
        return [_decode(i) for i in await self._all(self._query(DAY_INDEX, "gsi3", f"created#{day}"))]

    async def annotate(self, payment_id: str, *, already_paid: bool | None = None, receipt: str | None = None) -> None:
        client = await self._client()
        for attempt in range(ATTEMPTS):
            current = await self.get(payment_id)
            if current is None:
                return
            changed = dataclasses.replace(
                current,
                already_paid=current.already_paid if already_paid is None else already_paid,
                receipt=current.receipt if receipt is None else receipt,
            )
            if changed == current:
                return
            write = dataclasses.replace(changed, version=current.version + 1)
            try:
                await dynamo.transact_write(client, [self._put_payment(write, current)])
                return
            except dynamo.TransactionRefused:
                await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** min(attempt, 6))))
        raise Aborted(f"payments/{payment_id} kept changing; retry")

    async def receipts_due(self, limit: int) -> list[Payment]:
        return [_decode(i) for i in await self._all(self._query(RECEIPT_INDEX, "gsi4", "receipts#due"), limit)]

    async def save_link(self, link: PaymentLink) -> None:
        client = await self._client()
        await client.put_item(
            TableName=self._table,
            Item={
                **_key(f"link#{link.id}", "link"),
                "doc": dynamo.attribute(link_to_document(link)),
                "gsi2pk": _s(f"invoice#{link.invoice}"),
                "gsi2sk": _s(f"link#{link.id}"),
            },
        )

    async def links_of(self, invoice_id: str) -> list[PaymentLink]:
        request = self._query(INVOICE_INDEX, "gsi2", f"invoice#{invoice_id}")
        request["KeyConditionExpression"] += " AND begins_with(gsi2sk, :kind)"
        request["ExpressionAttributeValues"][":kind"] = _s("link#")
        return [link_from_document(dynamo.native(i["doc"])) for i in await self._all(request)]

    async def ping(self) -> None:
        client = await self._client()
        await client.get_item(TableName=self._table, Key=_key("ping", "ping"))

    async def close(self) -> None:
        """Nothing of its own: the DynamoDB client belongs to AwsClients, closed with the process."""
