"""What every DynamoDB store needs once: marshalling (boto3's TypeSerializer/TypeDeserializer, with floats kept
exact as Decimal), TransactWriteItems with its cancellation reasons decoded, BatchGetItem and BatchWriteItem
that finish their unprocessed keys, a k-way merge of queries over sharded partition keys, and table creation
from a plain CreateTable definition (local runs and tests only: production tables come from CloudFormation)."""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import zlib
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

log = logging.getLogger("wecare.dynamo")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# A whole transaction cancelled only for these may be sent again as it is.
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
MAX_TRANSACT_ITEMS = 100
MAX_BATCH_GET = 100
MAX_BATCH_WRITE = 25
PARALLEL_BATCHES = 16  # BatchWriteItem calls in flight at once
# The largest code point: s + TOP sorts after every string that starts with s.
TOP = "\U0010ffff"


def attribute(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB AttributeValue; floats become exact Decimals (DynamoDB has no floats)."""
    return _serializer.serialize(_plain(value))


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: attribute(v) for k, v in values.items()}


def native(value: dict[str, Any]) -> Any:
    """An AttributeValue back to Python; whole numbers come back as int, others as float."""
    return _native(_deserializer.deserialize(value))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: native(v) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"DynamoDB cannot store {value}")
        return Decimal(repr(value))  # repr is the shortest text that reads back as the same float
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _native(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_native(v) for v in value]
    if isinstance(value, set):
        return {_native(v) for v in value}
    return value


def shard_of(key: str, shards: int) -> int:
    """A stable shard for a key: spreads writes whose keys would otherwise share one partition."""
    return zlib.crc32(key.encode()) % shards


def below(text: str) -> str:
    """The largest key strictly below `text` among keys no longer than it: turns `k < text` into the upper end of
    a BETWEEN (a key condition takes one comparison on the sort key, and a filter may not name a key)."""
    if not text:
        raise ValueError("nothing sorts below the empty string")
    last = ord(text[-1])
    if last == 0:
        return text[:-1]
    return text[:-1] + chr(last - 1) + TOP


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of text that fits max_bytes of UTF-8 (key attributes have byte limits)."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode(errors="ignore")


def condition_refused(exc: BaseException) -> bool:
    """Whether a request failed because DynamoDB refused its ConditionExpression (and for nothing else)."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class TransactionRefused(Exception):
    """A TransactWriteItems cancelled because a condition failed. `reasons` lines up with the items."""

    def __init__(self, reasons: list[dict[str, Any]]):
        super().__init__("transaction cancelled: " + ", ".join(r.get("Code", "?") for r in reasons))
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index].get("Code") == "ConditionalCheckFailed"

    def old_item(self, index: int) -> dict[str, Any] | None:
        """The item as it was when its condition failed (ReturnValuesOnConditionCheckFailure=ALL_OLD), if any."""
        if index >= len(self.reasons):
            return None
        return self.reasons[index].get("Item") or None


def cancellation_reasons(exc: ClientError) -> list[dict[str, Any]] | None:
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return list(exc.response.get("CancellationReasons") or [])


async def transact_write(client, items: list[dict[str, Any]], attempts: int = 6) -> None:
    """One all-or-nothing write. A failed condition raises TransactionRefused; a cancellation only for
    conflicts with another transaction or for throttling is retried with backoff (botocore does not retry it)."""
    if len(items) > MAX_TRANSACT_ITEMS:
        raise ValueError(f"{len(items)} items in one transaction; DynamoDB takes at most {MAX_TRANSACT_ITEMS}")
    for attempt in range(attempts):
        try:
            await client.transact_write_items(TransactItems=items)
            return
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if reasons is None:
                raise
            codes = {r.get("Code") for r in reasons} - {"None", None}
            if "ConditionalCheckFailed" in codes:
                raise TransactionRefused(reasons) from None
            if not codes <= RETRYABLE_REASONS or attempt == attempts - 1:
                raise
            log.info("transaction cancelled (%s); retrying", ", ".join(sorted(codes)))
            await _backoff(attempt)


async def batch_get(
    client,
    table: str,
    keys: list[dict[str, Any]],
    consistent: bool = True,
    projection: str = "",
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every item found for the keys (in no particular order), only the `projection` attributes when given (with
    `names` for its placeholders); unprocessed keys are asked for again."""
    unique = list({tuple(sorted((k, tuple(v.items())) for k, v in key.items())): key for key in keys}.values())
    shape: dict[str, Any] = {"ConsistentRead": consistent}
    if projection:
        shape["ProjectionExpression"] = projection
    if names:
        shape["ExpressionAttributeNames"] = names

    async def chunk(part: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        pending: dict[str, Any] = {table: {"Keys": part, **shape}}
        for attempt in range(10):
            response = await client.batch_get_item(RequestItems=pending)
            found.extend(response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
            await _backoff(attempt)
        raise RuntimeError(f"{table}: BatchGetItem left keys unprocessed after 10 attempts")

    parts = [unique[i : i + MAX_BATCH_GET] for i in range(0, len(unique), MAX_BATCH_GET)]
    results = await asyncio.gather(*(chunk(p) for p in parts))
    return [item for part in results for item in part]


async def batch_write(client, table: str, requests: list[dict[str, Any]]) -> None:
    """PutRequest / DeleteRequest entries written 25 at a time (the parts at once); unprocessed ones are sent
    again with backoff. Not atomic: each item is written on its own."""

    async def chunk(part: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {table: part}
        for attempt in range(10):
            response = await client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            await _backoff(attempt)
        raise RuntimeError(f"{table}: BatchWriteItem left items unprocessed after 10 attempts")

    parts = [requests[i : i + MAX_BATCH_WRITE] for i in range(0, len(requests), MAX_BATCH_WRITE)]
    for start in range(0, len(parts), PARALLEL_BATCHES):
        await asyncio.gather(*(chunk(p) for p in parts[start : start + PARALLEL_BATCHES]))


async def batch_delete(client, table: str, keys: list[dict[str, Any]]) -> None:
    """Deletes the items (25 a BatchWriteItem, unprocessed ones asked again); a missing item is no error."""
    await batch_write(client, table, [{"DeleteRequest": {"Key": k}} for k in keys])


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, min(1.0, 0.025 * 2**attempt)))


class _Cursor:
    """One query read page by page, so a merge takes from it only what it needs."""

    def __init__(self, client, request: dict[str, Any]):
        self._client = client
        self._request = request
        self._start: dict[str, Any] | None = None
        self.items: deque[dict[str, Any]] = deque()
        self.done = False

    async def fill(self) -> None:
        # A page may come back empty when a filter dropped everything in it: keep reading until items or the end.
        while not self.items and not self.done:
            request = dict(self._request)
            if self._start:
                request["ExclusiveStartKey"] = self._start
            response = await self._client.query(**request)
            self.items.extend(response.get("Items", []))
            self._start = response.get("LastEvaluatedKey")
            self.done = not self._start


async def merged_query(
    client, requests: list[dict[str, Any]], order_by: str, limit: int, descending: bool = False
) -> list[dict[str, Any]]:
    """The first `limit` items of several Query calls (one per shard) merged on the string attribute `order_by`,
    which each query returns in that order (ScanIndexForward must match `descending`). Each shard is read a
    page at a time, and only while its next item could still be among the first `limit`."""
    if limit <= 0:
        return []
    cursors = [_Cursor(client, r) for r in requests]
    await asyncio.gather(*(c.fill() for c in cursors))
    sign = -1 if descending else 1
    heap: list[tuple[Any, int]] = []

    def push(i: int) -> None:
        if cursors[i].items:
            key = cursors[i].items[0][order_by]["S"]
            heapq.heappush(heap, (_Descending(key) if sign < 0 else key, i))

    for i in range(len(cursors)):
        push(i)
    out: list[dict[str, Any]] = []
    while heap and len(out) < limit:
        _, i = heapq.heappop(heap)
        out.append(cursors[i].items.popleft())
        if not cursors[i].items and len(out) < limit:
            await cursors[i].fill()
        push(i)
    return out


class _Descending:
    __slots__ = ("key",)

    def __init__(self, key: str):
        self.key = key

    def __lt__(self, other: _Descending) -> bool:
        return self.key > other.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.key == other.key


async def ensure_table(client, name: str, definition: Mapping[str, Any], time_to_live: str | None = None) -> None:
    """Creates the table from its definition (CreateTable kwargs without TableName) unless it exists, waits
    until it is ACTIVE and turns TTL on for `time_to_live`. For local runs and tests only."""
    try:
        await client.create_table(TableName=name, **definition)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    await client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    if time_to_live:
        described = await client.describe_time_to_live(TableName=name)
        status = described.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
        if status not in ("ENABLED", "ENABLING"):
            await client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": time_to_live}
            )
