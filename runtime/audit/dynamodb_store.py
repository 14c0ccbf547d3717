"""AuditTable on DynamoDB: the AWS implementation of AuditStore, with the semantics of sqlite_store.

Entries are listed newest first, which is id-descending (ids are time-ordered, runtime.ids), so every key
that orders entries is the id:

  base table     pk = audit#<shard>            sk = <id>   every entry
  GSI by_actor   actor_key = <actor>#<shard>   sk = <id>   (projects everything)
  GSI by_resource resource_key = <resource>#<shard> sk = <id>

shard = crc32(id) mod SHARDS. Ids grow with time, so without shards every append would land on the last
partition of one key (about 1,000 writes/s; every mutating RPC of every service appends, and one service
identity is one actor); with them, a listing merges SHARDS queries in id order (runtime.dynamo.merged_query),
reading from each only while its next entry can still make the page.

Instead of day buckets, a time range is a range of the sort key: [id at start_time, id at end_time), widened
by TIME_SKEW because an entry's id and its time are taken a moment apart, then made exact by a filter on
`time`. So an unbounded listing walks no empty days, and before_id (the page token) narrows the same range.
The filters pick the narrowest index: resource (then actor as a filter), else actor, else the base table.

before/after are kept as JSON text: exactly what the caller gave comes back (maps would turn floats into
Decimals and could not hold empty keys), and they are shown, never queried. With a retention, entries carry
`expire_at` and DynamoDB's TTL removes them.

Append-only: a PutItem on condition that no entry holds the key, so nothing overwrites an entry; the same entry
appended again (a retry after a lost answer) is found there and taken as done. The services' IAM roles may
PutItem here and never UpdateItem, DeleteItem or BatchWriteItem (deploy/services.py, an explicit Deny)."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from botocore.exceptions import ClientError

from runtime import dynamo, ids
from runtime.audit.model import AuditEntry, AuditQuery, Rewritten
from runtime.aws import AwsClients

SHARDS = 8
ACTOR_INDEX = "by_actor"
RESOURCE_INDEX = "by_resource"
TIME_SKEW = 60.0  # seconds an entry's id may be taken before or after its time
TIME_TO_LIVE = "expire_at"

TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "actor_key", "AttributeType": "S"},
        {"AttributeName": "resource_key", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": index,
            "KeySchema": [{"AttributeName": attr, "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        for index, attr in ((ACTOR_INDEX, "actor_key"), (RESOURCE_INDEX, "resource_key"))
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_table(client, name: str) -> None:
    """Creates AuditTable (TTL on expire_at) for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, TABLE, time_to_live=TIME_TO_LIVE)


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]}


def _without_ttl(item: dict[str, Any]) -> dict[str, Any]:
    """The entry as written, in plain values (DynamoDB normalises numbers; a retry takes its expiry from its own
    clock)."""
    return {k: v for k, v in dynamo.from_item(item).items() if k != TIME_TO_LIVE}


def _id_floor(seconds: float) -> str:
    """The smallest id taken at that time (to the millisecond)."""
    return ids.first_id_at(math.floor(seconds * 1000))


class DynamoAuditStore:
    def __init__(self, aws: AwsClients, table: str, retention_days: float | None = None):
        self._aws = aws
        self._table = table
        self._retention = retention_days * 86400 if retention_days else None

    async def _client(self):
        return await self._aws.client("dynamodb")

    async def append(self, entry: AuditEntry) -> None:
        shard = dynamo.shard_of(entry.id, SHARDS)
        values: dict[str, Any] = {
            "pk": f"audit#{shard}",
            "sk": entry.id,
            "time": entry.time,
            "actor": entry.actor,
            "actor_roles": list(entry.actor_roles),
            "method": entry.method,
            "resource": entry.resource,
            "outcome": entry.outcome,
            "trace_id": entry.trace_id,
            "actor_key": f"{entry.actor}#{shard}",
            "resource_key": f"{entry.resource}#{shard}",
        }
        for name, value in (("before", entry.before), ("after", entry.after)):
            if value is not None:
                values[name] = json.dumps(value, separators=(",", ":"))
        if self._retention:
            values[TIME_TO_LIVE] = int(time.time() + self._retention)
        client = await self._client()
        item = dynamo.to_item(values)
        try:
            await client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not dynamo.condition_refused(exc):
                raise
            kept = (await client.get_item(TableName=self._table, Key=_key(item), ConsistentRead=True)).get("Item")
            if kept is None or _without_ttl(kept) != _without_ttl(item):
                raise Rewritten(entry.id) from None

    async def list(self, query: AuditQuery, before_id: str | None, limit: int) -> list[AuditEntry]:
        if limit <= 0:
            return []
        low = _id_floor(query.start_time - TIME_SKEW) if query.start_time is not None else None
        high = _id_floor(query.end_time + TIME_SKEW + 0.001) if query.end_time is not None else None
        if before_id and (high is None or before_id < high):
            high = before_id
        if low is not None and high is not None and low >= high:
            return []

        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        filters = []
        if query.resource:
            index, partition, base = RESOURCE_INDEX, "resource_key", query.resource
            if query.actor:
                filters.append("#actor = :actor")
                names["#actor"] = "actor"
                values[":actor"] = {"S": query.actor}
        elif query.actor:
            index, partition, base = ACTOR_INDEX, "actor_key", query.actor
        else:
            index, partition, base = None, "pk", "audit"
        if query.start_time is not None:
            filters.append("#time >= :start")
            values[":start"] = dynamo.attribute(query.start_time)
        if query.end_time is not None:
            filters.append("#time < :end")
            values[":end"] = dynamo.attribute(query.end_time)
        if query.start_time is not None or query.end_time is not None:
            names["#time"] = "time"

        condition = f"{partition} = :part"
        if low is not None and high is not None:
            condition += " AND sk BETWEEN :low AND :high"
            values[":low"], values[":high"] = {"S": low}, {"S": dynamo.below(high)}
        elif low is not None:
            condition += " AND sk >= :low"
            values[":low"] = {"S": low}
        elif high is not None:
            condition += " AND sk < :high"
            values[":high"] = {"S": high}

        # A filter on actor may drop most of a page; the time filter only trims the TIME_SKEW margins.
        page = min(limit + 1, 1000) if query.resource and query.actor else min(limit, -(-limit // SHARDS) + 2)
        requests = []
        for shard in range(SHARDS):
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": {**values, ":part": {"S": f"{base}#{shard}"}},
                "ScanIndexForward": False,
                "Limit": page,
            }
            if index:
                request["IndexName"] = index
            if filters:
                request["FilterExpression"] = " AND ".join(filters)
            if names:
                request["ExpressionAttributeNames"] = names
            requests.append(request)
        items = await dynamo.merged_query(await self._client(), requests, "sk", limit, descending=True)
        return [_entry(dynamo.from_item(item)) for item in items]

    async def ping(self) -> None:
        await (await self._client()).get_item(TableName=self._table, Key={"pk": {"S": "ping"}, "sk": {"S": "ping"}})

    async def close(self) -> None:
        """Nothing of its own: the DynamoDB client belongs to AwsClients, closed with the process."""


def _entry(item: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=item["sk"],
        time=float(item["time"]),
        actor=item["actor"],
        actor_roles=tuple(item.get("actor_roles", ())),
        method=item["method"],
        resource=item["resource"],
        outcome=item["outcome"],
        trace_id=item.get("trace_id", ""),
        before=json.loads(item["before"]) if "before" in item else None,
        after=json.loads(item["after"]) if "after" in item else None,
    )
