"""What every DynamoDB store of messaging shares: the table's generic keys (`pk`/`sk`) and sparse GSIs (an item
carries an index's key attributes only while it belongs in that index), fixed-width times in sort keys (string
order is time order), shards for the hot partitions, and the client and the common reads and writes."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo
from runtime.aws import AwsClients
from services.messaging.adapters.codec import dumps

SHARDS = 4
CONCURRENCY = 32  # item writes of one call in flight at once
TOP = "\U0010ffff"  # sorts after every key: the open end of a range

Indexes = dict[str, tuple[str, str | None]]  # index name -> (hash attribute, range attribute or None)
# index name -> the attributes it projects besides the keys (() = KEYS_ONLY); an index not named projects ALL.
# A narrow projection is what keeps an index cold: a change of an attribute it does not project writes nothing
# to it, so an entry costs one write when it enters the index and one when it leaves (or moves).
Projections = dict[str, tuple[str, ...]]


def projection(attributes: tuple[str, ...] | None) -> dict[str, Any]:
    if attributes is None:
        return {"ProjectionType": "ALL"}
    if not attributes:
        return {"ProjectionType": "KEYS_ONLY"}
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(attributes)}


def definition(indexes: Indexes, projections: Projections | None = None) -> dict[str, Any]:
    """CreateTable arguments of a table with these GSIs (projecting everything unless `projections` says less,
    billed per request)."""
    projections = projections or {}
    attributes = {"pk", "sk"} | {a for pair in indexes.values() for a in pair if a}
    return {
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}]
                + ([{"AttributeName": r, "KeyType": "RANGE"}] if r else []),
                "Projection": projection(projections.get(name)),
            }
            for name, (h, r) in indexes.items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def t(seconds: float) -> str:
    """Fixed-width text of a time, so that string order is time order."""
    return f"{seconds:020.6f}"


def shard(text: str, shards: int = SHARDS) -> int:
    return zlib.crc32(text.encode()) % shards


def s(value: str) -> dict[str, str]:
    return {"S": value}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": s(pk), "sk": s(sk)}


class DynamoTable:
    """One table: its client, strongly consistent gets, conditional puts, paged queries, bounded fan-out."""

    def __init__(self, aws: AwsClients, name: str):
        self.aws = aws
        self.name = name
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def db(self):
        return await self.aws.client("dynamodb", max_pool=100)

    async def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        db = await self.db()
        return (await db.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=True)).get("Item")

    async def put_new(self, item: dict[str, Any]) -> bool:
        """Puts an item unless one with its key exists; whether it did."""
        db = await self.db()
        try:
            await db.put_item(TableName=self.name, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if dynamo.condition_refused(exc):
                return False
            raise
        return True

    async def load_document(self, pk: str, sk: str) -> tuple[dict[str, Any], int]:
        """A document kept as one item (`doc`, `ver`), changed only by save_document; ({}, 0) where none is."""
        item = await self.get(pk, sk)
        return (json.loads(item["doc"]["S"]), int(item["ver"]["N"])) if item else ({}, 0)

    async def save_document(self, pk: str, sk: str, doc: dict[str, Any], expected_version: int) -> bool:
        """Compare-and-swap on the document's version; False when another writer moved it first."""
        db = await self.db()
        put: dict[str, Any] = {
            "TableName": self.name,
            "Item": {**key(pk, sk), "doc": s(dumps(doc)), "ver": {"N": str(expected_version + 1)}},
        }
        if expected_version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "ver = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        try:
            await db.put_item(**put)
        except ClientError as exc:
            if dynamo.condition_refused(exc):
                return False
            raise
        return True

    async def query(
        self, index: str | None, hash_attr: str, value: str, *, limit: int | None = None, forward: bool = True, **extra
    ) -> list[dict[str, Any]]:
        """Every item (or the first `limit`) under one hash key of the table (index None) or of an index."""
        db = await self.db()
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": f"{hash_attr} = :h" + extra.pop("range_condition", ""),
            "ExpressionAttributeValues": {":h": s(value), **extra.pop("values", {})},
            "ScanIndexForward": forward,
            **extra,
        }
        if index:
            request["IndexName"] = index
        out: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                request["Limit"] = max(1, limit - len(out))
            reply = await db.query(**request)
            out += reply.get("Items", [])
            start = reply.get("LastEvaluatedKey")
            if not start or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            request["ExclusiveStartKey"] = start

    async def gather(self, coros, return_exceptions: bool = False):
        """Runs the coroutines at most CONCURRENCY at a time; their results in order. Cancelled, it closes the
        coroutines still waiting for their turn (never started: nothing to undo, and no "never awaited" warning)."""

        coros = list(coros)

        async def limited(coro):
            try:
                async with self._limit:
                    return await coro
            finally:
                coro.close()  # a no-op once it ran; one cancelled while waiting for the limit never starts

        try:
            return await asyncio.gather(*(limited(c) for c in coros), return_exceptions=return_exceptions)
        except asyncio.CancelledError:
            # Every wrapper is done by now; one cancelled before its first step never reached its `finally`.
            for c in coros:
                c.close()
            raise

    async def ping(self) -> None:
        db = await self.db()
        await db.describe_table(TableName=self.name)

    async def close(self) -> None:
        """The clients belong to AwsClients, closed with the process."""
