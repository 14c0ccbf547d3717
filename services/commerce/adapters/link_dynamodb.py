"""LinkTable on DynamoDB: the AWS implementation of LinkStore, with the semantics of link_sqlite.

One table with generic keys `pk`/`sk`. The items:

  item       pk                               sk        attributes
  link       link#<id>                        link      doc; gsi1pk = links#<crc32(id) mod 8>, gsi1sk = id
  code       code#<code>                      code      doc (a copy: links never change, so it cannot go stale)
  request    request#<request_id>             request   link_id
  click      click#<link id>#<person>         click     link_id, person, contact, recipient, message, job,
                                                        first_time, last_time, opens; gsi2pk/gsi2sk = message,
                                                        key; gsi3pk/gsi3sk = <job>#<crc32(person) mod 8>, key
  stats      stats#<link id>#<n>  (n < 8)     stats     clicks, unique_clickers, previews, first_time, last_time

Why so many partition keys: a tracked link can be opened by thousands of people in the minute after a campaign
goes out, or after a shared link is posted somewhere busy. A single item per link holding its counters would take
every one of those writes, and one item cannot take more than 1,000 writes a second (nor can one partition key:
DynamoDB can split a hot partition by sort key, never an item). So:
- each person's opens of a link are their own item (`click#<link>#<person>`): the first open puts it under
  `attribute_not_exists(pk)` (that condition is what makes it the click, exactly once, whatever the races), a
  repeat adds to `opens` under `opens = <what was read>`; a burst on one link lands on as many partitions as
  there are people;
- the link's counts are spread over STATS_SHARDS items (`stats#<link>#<n>`, n picked at random), each changed by
  ADD, in the same transaction as the click item, so counts and clicks always agree; GetLink sums the shards with
  one BatchGetItem. Previews (bots fetch a link hard, all at once) only ADD to a shard;
- the code item is read on every open and never written after creation: reads spread over a partition's copies;
- the clicks of a message are a sparse GSI on gsi2pk = message id (a message has one recipient: a few items);
  the clicks of a bulk job, up to a million recipients whose clicks arrive together, are a sparse GSI on
  gsi3pk = <job>#<shard> over JOB_SHARDS shards, merged in key order when read (runtime.dynamo.merged_query).
- link creation is one transaction per link (link, code and request items, each `attribute_not_exists`), so
  a request_id names one link, and a batch stops losing nothing: what it stored, a retry finds.
The list GSI is sharded as ContactsTable's is (ids grow with time). Nothing on a request path scans."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from runtime import dynamo
from runtime.aws import AwsClients
from runtime.errors import AlreadyExists
from services.commerce.adapters.link_codec import from_document, to_document
from services.commerce.adapters.link_store import click_key
from services.commerce.domain.links import Click, Link, LinkStats

LIST_INDEX = "list"
MESSAGE_INDEX = "clicksByMessage"
JOB_INDEX = "clicksByJob"
LIST_SHARDS = 8
JOB_SHARDS = 8
STATS_SHARDS = 8
WRITE_CONCURRENCY = 16  # link transactions in flight for one create
CLICK_ATTEMPTS = 8  # reads and conditional writes of one open before it is given up as contended

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
            "Projection": projection,
        }
        for index, gsi, projection in (
            (LIST_INDEX, "gsi1", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["doc"]}),
            (MESSAGE_INDEX, "gsi2", {"ProjectionType": "ALL"}),
            (JOB_INDEX, "gsi3", {"ProjectionType": "ALL"}),
        )
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_table(client, name: str) -> None:
    """Creates LinkTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, TABLE)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _link_key(link_id: str) -> dict[str, Any]:
    return _key(f"link#{link_id}", "link")


def _click_item_key(link_id: str, person: str) -> dict[str, Any]:
    return _key(f"click#{link_id}#{person}", "click")


def _stats_key(link_id: str, shard: int) -> dict[str, Any]:
    return _key(f"stats#{link_id}#{shard}", "stats")


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return dynamo.attribute(value)


def _decode_click(item: dict[str, Any]) -> Click:
    values = dynamo.from_item(item)
    return Click(
        link_id=values["link_id"],
        person=values["person"],
        contact=values.get("contact", ""),
        recipient=values.get("recipient", ""),
        message=values.get("message", ""),
        job=values.get("job", ""),
        first_click_time=float(values["first_time"]),
        last_click_time=float(values["last_time"]),
        click_count=int(values["opens"]),
    )


class DynamoLinkStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    def _put(self, item: dict[str, Any], condition: str | None = None, **extra: Any) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": item, **extra}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def _update(self, key: dict[str, Any], expression: str, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": expression,
                "ExpressionAttributeValues": values,
                **extra,
            }
        }

    # -- links ------------------------------------------------------------------------------------------------

    async def create(self, links: list[Link]) -> list[Link]:
        gate = asyncio.Semaphore(WRITE_CONCURRENCY)

        async def one(link: Link) -> Link:
            async with gate:
                return await self._create(link)

        return list(await asyncio.gather(*(one(link) for link in links)))

    async def _create(self, link: Link) -> Link:
        doc = dynamo.attribute(to_document(link))
        fresh = "attribute_not_exists(pk)"
        items = [
            self._put(
                {
                    **_link_key(link.id),
                    "doc": doc,
                    "gsi1pk": _s(f"links#{dynamo.shard_of(link.id, LIST_SHARDS)}"),
                    "gsi1sk": _s(link.id),
                },
                fresh,
            ),
            self._put({**_key(f"code#{link.code}", "code"), "doc": doc}, fresh),
        ]
        if link.request_id:
            items.append(self._put({**_key(f"request#{link.request_id}", "request"), "link_id": _s(link.id)}, fresh))
        for _ in range(5):
            try:
                await dynamo.transact_write(await self._client(), items)
                return link
            except dynamo.TransactionRefused as refused:
                if link.request_id and refused.failed(2):
                    existing = await self._by_request(link.request_id)
                    if existing is not None:
                        return existing
                    continue  # its link was deleted meanwhile: the request_id is free again
                if refused.failed(1):
                    raise AlreadyExists("a link already has this code", reason="CODE_TAKEN") from None
                raise AlreadyExists(f"{link.name} already exists", reason="LINK_EXISTS") from None
        raise AlreadyExists(f"request_id {link.request_id!r} keeps changing; retry", reason="REQUEST_ID_CONTENDED")

    async def _by_request(self, request_id: str) -> Link | None:
        client = await self._client()
        found = await client.get_item(
            TableName=self._table, Key=_key(f"request#{request_id}", "request"), ConsistentRead=True
        )
        item = found.get("Item")
        return await self.get(item["link_id"]["S"]) if item else None

    async def _doc_at(self, key: dict[str, Any]) -> Link | None:
        client = await self._client()
        item = (await client.get_item(TableName=self._table, Key=key, ConsistentRead=True)).get("Item")
        return from_document(dynamo.native(item["doc"])) if item else None

    async def get(self, link_id: str) -> Link | None:
        return await self._doc_at(_link_key(link_id))

    async def by_code(self, code: str) -> Link | None:
        return await self._doc_at(_key(f"code#{code}", "code"))

    async def list(self, after_id: str | None, limit: int) -> list[Link]:
        if limit <= 0:
            return []
        page = min(limit, -(-limit // LIST_SHARDS) + 2)
        requests = []
        for shard in range(LIST_SHARDS):
            values = {":shard": _s(f"links#{shard}")}
            if after_id:
                values[":after"] = _s(after_id)
            requests.append(
                {
                    "TableName": self._table,
                    "IndexName": LIST_INDEX,
                    "KeyConditionExpression": "gsi1pk = :shard" + (" AND gsi1sk > :after" if after_id else ""),
                    "ExpressionAttributeValues": values,
                    "Limit": page,
                }
            )
        items = await dynamo.merged_query(await self._client(), requests, "gsi1sk", limit)
        return [from_document(dynamo.native(item["doc"])) for item in items]

    async def delete(self, link_id: str) -> Link | None:
        link = await self.get(link_id)
        if link is None:
            return None
        items = [
            {"Delete": {"TableName": self._table, "Key": _link_key(link_id)}},
            {"Delete": {"TableName": self._table, "Key": _key(f"code#{link.code}", "code")}},
            *({"Delete": {"TableName": self._table, "Key": _stats_key(link_id, n)}} for n in range(STATS_SHARDS)),
        ]
        if link.request_id:
            items.append({"Delete": {"TableName": self._table, "Key": _key(f"request#{link.request_id}", "request")}})
        await dynamo.transact_write(await self._client(), items)
        return link

    # -- opens ------------------------------------------------------------------------------------------------

    async def stats(self, link_id: str) -> LinkStats:
        keys = [_stats_key(link_id, n) for n in range(STATS_SHARDS)]
        shards = [dynamo.from_item(item) for item in await dynamo.batch_get(await self._client(), self._table, keys)]
        firsts = [float(s["first_time"]) for s in shards if "first_time" in s]
        lasts = [float(s["last_time"]) for s in shards if "last_time" in s]
        return LinkStats(
            click_count=sum(int(s.get("clicks", 0)) for s in shards),
            unique_clickers=sum(int(s.get("unique_clickers", 0)) for s in shards),
            preview_count=sum(int(s.get("previews", 0)) for s in shards),
            first_click_time=min(firsts) if firsts else None,
            last_click_time=max(lasts) if lasts else None,
        )

    def _count(self, link: Link, at: float, first: bool) -> dict[str, Any]:
        """ADD one open to a random stats shard (the first and last times each shard saw; GetLink takes the
        extremes)."""
        expression = "ADD clicks :one" + (", unique_clickers :one" if first else "")
        expression += " SET first_time = if_not_exists(first_time, :at), last_time = :at"
        return self._update(
            _stats_key(link.id, random.randrange(STATS_SHARDS)), expression, {":one": _n(1), ":at": _n(at)}
        )

    async def record_click(self, link: Link, person: str, at: float) -> bool:
        client = await self._client()
        key = _click_item_key(link.id, person)
        for _ in range(CLICK_ATTEMPTS):
            current = (await client.get_item(TableName=self._table, Key=key, ConsistentRead=True)).get("Item")
            if current is None:
                sort = _s(click_key(link.id, person))
                item: dict[str, Any] = {
                    **key,
                    "link_id": _s(link.id),
                    "person": _s(person),
                    "contact": _s(link.contact),
                    "recipient": _s(link.recipient),
                    "message": _s(link.message),
                    "job": _s(link.job),
                    "first_time": _n(at),
                    "last_time": _n(at),
                    "opens": _n(1),
                }
                if link.message:
                    item |= {"gsi2pk": _s(link.message), "gsi2sk": sort}
                if link.job:
                    item |= {"gsi3pk": _s(f"{link.job}#{dynamo.shard_of(person, JOB_SHARDS)}"), "gsi3sk": sort}
                write = self._put(item, "attribute_not_exists(pk)")
            else:
                write = self._update(
                    key,
                    "ADD opens :one SET last_time = :last",
                    {
                        ":one": _n(1),
                        ":seen": current["opens"],
                        ":last": _n(max(at, float(dynamo.native(current["last_time"])))),
                    },
                    ConditionExpression="opens = :seen",
                )
            try:
                await dynamo.transact_write(client, [write, self._count(link, at, current is None)])
            except dynamo.TransactionRefused:
                continue  # the same person opened it at the same moment: read again
            return current is None
        raise AlreadyExists(f"{link.name}: opens by one person kept colliding", reason="CLICK_CONTENDED")

    async def record_preview(self, link: Link, at: float) -> None:
        shard = _stats_key(link.id, random.randrange(STATS_SHARDS))
        client = await self._client()
        await client.update_item(
            TableName=self._table,
            Key=shard,
            UpdateExpression="ADD previews :one",
            ExpressionAttributeValues={":one": _n(1)},
        )

    async def clicks_of_message(self, message_id: str, after: str | None, limit: int) -> list[Click]:
        if not message_id or limit <= 0:
            return []
        request = self._clicks_query(MESSAGE_INDEX, "gsi2", message_id, after, limit)
        client = await self._client()
        response = await client.query(**request)
        items = list(response.get("Items", []))
        while response.get("LastEvaluatedKey") and len(items) < limit:
            response = await client.query(**request, ExclusiveStartKey=response["LastEvaluatedKey"])
            items += response.get("Items", [])
        return [_decode_click(item) for item in items[:limit]]

    async def clicks_of_job(self, job_id: str, after: str | None, limit: int) -> list[Click]:
        if not job_id or limit <= 0:
            return []
        page = min(limit, -(-limit // JOB_SHARDS) + 2)
        requests = [
            self._clicks_query(JOB_INDEX, "gsi3", f"{job_id}#{shard}", after, page) for shard in range(JOB_SHARDS)
        ]
        items = await dynamo.merged_query(await self._client(), requests, "gsi3sk", limit)
        return [_decode_click(item) for item in items]

    def _clicks_query(self, index: str, gsi: str, partition: str, after: str | None, limit: int) -> dict[str, Any]:
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

    async def ping(self) -> None:
        client = await self._client()
        await client.get_item(TableName=self._table, Key=_key("ping", "ping"))

    async def close(self) -> None:
        """Nothing of its own: the DynamoDB client belongs to AwsClients, closed with the process."""
