"""InvoiceTable on DynamoDB: the AWS implementation of InvoiceStore, with the semantics of invoice_sqlite.

One table with generic keys `pk`/`sk`:

  item      pk                           sk        attributes
  invoice   invoice#<id>                 invoice   doc, version; gsi1pk = invoices#<crc32(id) mod 8>, gsi1sk = id;
                                                   gsi2pk = contact#<contact id>, gsi2sk = id;
                                                   gsi3pk = issued#<YYYY-MM-DD> once issued, gsi3sk = id
  counter   counter#<series>#<year>      counter   last: the last number given in that series and year
  number    number#<number>              number    invoice_id

Issuing is one TransactWriteItems of three items: the counter moved from the `last` just read to last + 1 (on
condition that it is still `last`, or absent for the year's first), the invoice written as issued (on condition
its version is still the one read) and the number item (on condition it is new). Two pods issuing at once both
read `last`; one transaction wins, the other's counter condition fails and it reads again. A counter moves only
with an issued invoice, so the numbers of a year are consecutive with no gap. The counter item takes every issue
of its series and year: far under DynamoDB's 1,000 writes a second an item, for invoices."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from typing import Any

from runtime import dynamo
from runtime.aws import AwsClients
from runtime.errors import Aborted, FailedPrecondition, NotFound
from services.commerce.adapters.invoice_codec import from_document, to_document
from services.commerce.domain import gst
from services.commerce.domain.invoices import MAX_SEQUENCE, SERIES, Invoice, issue

LIST_INDEX = "list"
CONTACT_INDEX = "byContact"
ISSUED_INDEX = "byIssueDay"
LIST_SHARDS = 8
ISSUE_ATTEMPTS = 200  # reads and conditional writes of one issue before giving up as contended

TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"}
        for name in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk")
    ],
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
        for index, gsi in ((LIST_INDEX, "gsi1"), (CONTACT_INDEX, "gsi2"), (ISSUED_INDEX, "gsi3"))
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_table(client, name: str) -> None:
    """Creates InvoiceTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, TABLE)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _invoice_key(invoice_id: str) -> dict[str, Any]:
    return _key(f"invoice#{invoice_id}", "invoice")


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _item(invoice: Invoice) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_invoice_key(invoice.id),
        "doc": dynamo.attribute(to_document(invoice)),
        "version": {"N": str(invoice.version)},
        "gsi1pk": _s(f"invoices#{dynamo.shard_of(invoice.id, LIST_SHARDS)}"),
        "gsi1sk": _s(invoice.id),
        "gsi2pk": _s(f"contact#{invoice.contact}"),
        "gsi2sk": _s(invoice.id),
    }
    if invoice.issue_time is not None:
        item["gsi3pk"] = _s(f"issued#{gst.india_date(invoice.issue_time).isoformat()}")
        item["gsi3sk"] = _s(invoice.id)
    return item


def _decode(item: dict[str, Any]) -> Invoice:
    return from_document(dynamo.native(item["doc"]))


class DynamoInvoiceStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    def _put(self, item: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": item, "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _put_versioned(self, invoice: Invoice, expected_version: int) -> dict[str, Any]:
        return self._put(_item(invoice), "version = :v", {":v": {"N": str(expected_version)}})

    async def create(self, invoice: Invoice) -> None:
        client = await self._client()
        await client.put_item(
            TableName=self._table, Item=_item(invoice), ConditionExpression="attribute_not_exists(pk)"
        )

    async def get(self, invoice_id: str) -> Invoice | None:
        client = await self._client()
        item = (await client.get_item(TableName=self._table, Key=_invoice_key(invoice_id), ConsistentRead=True)).get(
            "Item"
        )
        return _decode(item) if item else None

    async def list(self, after_id: str | None, limit: int, contact: str = "") -> list[Invoice]:
        if limit <= 0:
            return []
        client = await self._client()
        if contact:
            request = self._query(CONTACT_INDEX, "gsi2", f"contact#{contact}", after_id, limit)
            items: list[dict[str, Any]] = []
            response = await client.query(**request)
            items += response.get("Items", [])
            while response.get("LastEvaluatedKey") and len(items) < limit:
                response = await client.query(**request, ExclusiveStartKey=response["LastEvaluatedKey"])
                items += response.get("Items", [])
            return [_decode(item) for item in items[:limit]]
        page = min(limit, -(-limit // LIST_SHARDS) + 2)
        requests = [
            self._query(LIST_INDEX, "gsi1", f"invoices#{shard}", after_id, page) for shard in range(LIST_SHARDS)
        ]
        return [_decode(item) for item in await dynamo.merged_query(client, requests, "gsi1sk", limit)]

    def _query(self, index: str, gsi: str, partition: str, after: str | None, limit: int) -> dict[str, Any]:
        values = {":pk": _s(partition)}
        condition = f"{gsi}pk = :pk"
        if after:
            values[":after"] = _s(after)
            condition += f" AND {gsi}sk > :after"
        return {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }

    async def _refused(self, invoice_id: str, expected_version: int | None) -> Exception:
        current = await self.get(invoice_id)
        if current is None:
            return NotFound(f"invoices/{invoice_id} does not exist")
        return Aborted(f"invoices/{invoice_id} changed meanwhile (etag {current.etag}); read it again")

    async def replace(self, invoice: Invoice, expected_version: int) -> Invoice:
        client = await self._client()
        try:
            await dynamo.transact_write(client, [self._put_versioned(invoice, expected_version)])
        except dynamo.TransactionRefused:
            raise await self._refused(invoice.id, expected_version) from None
        return invoice

    async def delete_draft(self, invoice_id: str, expected_version: int | None) -> Invoice | None:
        current = await self.get(invoice_id)
        if current is None:
            return None
        if current.issued:
            raise FailedPrecondition(
                f"{current.name} is issued ({current.number}): it stays; correct it with a credit note",
                reason="INVOICE_ISSUED",
                metadata={"subject": current.name},
            )
        if expected_version is not None and current.version != expected_version:
            raise Aborted(f"{current.name} changed meanwhile (etag {current.etag}); read it again")
        delete = {
            "Delete": {
                "TableName": self._table,
                "Key": _invoice_key(invoice_id),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(current.version)}},
            }
        }
        try:
            await dynamo.transact_write(await self._client(), [delete])
        except dynamo.TransactionRefused:
            raise Aborted(f"{current.name} changed meanwhile; read it again") from None
        return current

    async def _numbered(
        self, document: Invoice, now: float, then: Callable[[Invoice], list[dict[str, Any]]]
    ) -> Invoice:
        """Issues `document` with its series' next number, in one transaction with the items `then(issued)`
        gives, the first of which carries the version condition of the invoice read."""
        client = await self._client()
        year = gst.financial_year(now)
        series = SERIES[document.kind.value]
        counter_key = _key(f"counter#{series}#{year}", "counter")
        for attempt in range(ISSUE_ATTEMPTS):
            found = (await client.get_item(TableName=self._table, Key=counter_key, ConsistentRead=True)).get("Item")
            last = int(found["last"]["N"]) if found else 0
            if last + 1 > MAX_SEQUENCE:
                raise FailedPrecondition(f"{series} numbers of {year} are used up", reason="NUMBERS_EXHAUSTED")
            issued = issue(document, year, last + 1, now)
            counter = {
                "Update": {
                    "TableName": self._table,
                    "Key": counter_key,
                    "UpdateExpression": "SET #last = :next",
                    "ConditionExpression": "#last = :last" if found else "attribute_not_exists(pk)",
                    "ExpressionAttributeNames": {"#last": "last"},
                    "ExpressionAttributeValues": {":next": {"N": str(last + 1)}}
                    | ({":last": {"N": str(last)}} if found else {}),
                }
            }
            number = self._put(
                {**_key(f"number#{issued.number}", "number"), "invoice_id": _s(issued.id)}, "attribute_not_exists(pk)"
            )
            items = [counter, number, *then(issued)]
            try:
                await dynamo.transact_write(client, items)
                return issued
            except dynamo.TransactionRefused as refused:
                if refused.failed(2):
                    raise await self._refused(document.credited_invoice or document.id, None) from None
                # Another pod took this number first: read the counter again, after a short random wait.
                await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** min(attempt, 6))))
        raise Aborted(f"numbering {series} of {year} stayed contended; retry")

    async def issue(self, invoice: Invoice, now: float) -> Invoice:
        if invoice.issued:
            raise Aborted(f"{invoice.name} was issued meanwhile ({invoice.number})")
        return await self._numbered(invoice, now, lambda issued: [self._put_versioned(issued, invoice.version)])

    async def credit(self, note: Invoice, invoice: Invoice, now: float) -> tuple[Invoice, Invoice]:
        def credited(issued: Invoice) -> Invoice:
            return dataclasses.replace(
                invoice, credited=invoice.credited + issued.totals.total, update_time=now, version=invoice.version + 1
            )

        issued = await self._numbered(
            note,
            now,
            lambda issued: [
                self._put_versioned(credited(issued), invoice.version),
                self._put(_item(issued), "attribute_not_exists(pk)"),
            ],
        )
        return issued, credited(issued)

    async def issued_on(self, day: str) -> list[Invoice]:
        client = await self._client()
        request = self._query(ISSUED_INDEX, "gsi3", f"issued#{day}", None, 1000)
        items: list[dict[str, Any]] = []
        response = await client.query(**request)
        items += response.get("Items", [])
        while response.get("LastEvaluatedKey"):
            response = await client.query(**request, ExclusiveStartKey=response["LastEvaluatedKey"])
            items += response.get("Items", [])
        return [_decode(item) for item in items]

    async def ping(self) -> None:
        client = await self._client()
        await client.get_item(TableName=self._table, Key=_key("ping", "ping"))

    async def close(self) -> None:
        """Nothing of its own: the DynamoDB client belongs to AwsClients, closed with the process."""
