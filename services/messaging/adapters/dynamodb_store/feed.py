"""EventFeedStore on DynamoDB: SNS MessageIds applied (an item each), and the inbox's change feed sharded by
conversation so that no item and no partition takes every event (docs/DESIGN.md "Inbound events").

  feed#<n>  #head                seq: the shard's last allocated number (an atomic counter, never a CAS)
  feed#<n>  <seq:020d>#<key>     change; written, ttl (DynamoDB drops it after a day)

A change goes to shard crc32(conversation) % FEED_SHARDS, so a conversation's changes share one shard and its
order. A writer takes k numbers with one UpdateItem (ADD seq :k, no condition: nothing to lose a race over) and
then puts the k entries; numbers are contiguous in every shard, so a reader that sees the head at h and entry
n missing knows n is still being written. The reader waits for it up to GAP_SECONDS and then goes on; a writer
whose puts took REAPPEND_SECONDS or longer from before its UpdateItem appends them again under new numbers,
so a change a reader went past is always read later (GAP_SECONDS > REAPPEND_SECONDS, both measured from after
the number was taken; a crash before the puts leaves a gap, and the event is redelivered and appended anew).

The entry's sort key carries the change key after the number: two entries under one number never overwrite
each other, whatever happens (moto's counter is not atomic under concurrent writers; DynamoDB's is)."""

from __future__ import annotations

import heapq
import json
import logging
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime import dynamo
from services.messaging.adapters.codec import dumps
from services.messaging.adapters.dynamodb_store.table import TOP, DynamoTable, key, s
from services.messaging.domain.inbound import Change

log = logging.getLogger("wecare.messaging.feed")

FEED_SHARDS = 64  # partitions of the feed; changing it on a live table is a migration (docs/RUNBOOK.md)
FEED_KEPT_SECONDS = 86_400
GAP_SECONDS = 10.0  # a reader waits this long for a number below the head that is not written yet
REAPPEND_SECONDS = 5.0  # a writer slower than this (from before its numbers were taken) appends again
WIDTH = 20
HEAD = "#head"  # sorts before every entry's number: a Query after a number never reads it


def feed_shard(conversation_id: str) -> int:
    return zlib.crc32(conversation_id.encode()) % FEED_SHARDS


def _partition(shard: int) -> str:
    return f"feed#{shard}"


def head_key(shard: int) -> dict[str, Any]:
    return key(_partition(shard), HEAD)


class DynamoEventFeedStore:
    def __init__(self, table: DynamoTable, clock: Callable[[], float] = time.monotonic):
        self._t = table
        self._clock = clock

    async def seen_events(self, sns_message_ids: list[str]) -> set[str]:
        if not sns_message_ids:
            return set()
        db = await self._t.db()
        items = await dynamo.batch_get(db, self._t.name, [key(f"sns#{i}", "sns") for i in sns_message_ids])
        return {i["pk"]["S"].removeprefix("sns#") for i in items}

    async def commit_events(self, events: list[tuple[str, list[Change]]], now: float) -> None:
        by_shard: dict[int, dict[str, Change]] = {}
        for _, changes in events:
            for c in changes:
                by_shard.setdefault(feed_shard(c.conversation_id), {}).setdefault(c.key, c)
        await self._t.gather([self._append(n, list(cs.values()), now) for n, cs in sorted(by_shard.items())])
        marks = [{"PutRequest": {"Item": {**key(f"sns#{i}", "sns"), "time": {"N": repr(now)}}}} for i, _ in events]
        await dynamo.batch_write(await self._t.db(), self._t.name, marks)

    async def _append(self, shard: int, changes: list[Change], now: float) -> None:
        db = await self._t.db()
        for attempt in range(3):
            began = self._clock()
            reply = await db.update_item(
                TableName=self._t.name,
                Key=head_key(shard),
                UpdateExpression="ADD seq :k",
                ExpressionAttributeValues={":k": {"N": str(len(changes))}},
                ReturnValues="UPDATED_NEW",
            )
            first = int(reply["Attributes"]["seq"]["N"]) - len(changes) + 1
            puts = [{"PutRequest": {"Item": _entry(shard, n, c, now)}} for n, c in enumerate(changes, start=first)]
            await dynamo.batch_write(db, self._t.name, puts)
            took = self._clock() - began
            if took < REAPPEND_SECONDS:
                return
            log.warning(
                "inbox feed: a slow append is appended again",
                extra={"shard": shard, "changes": len(changes), "seconds": round(took, 3), "attempt": attempt + 1},
            )
        raise RuntimeError(f"inbox feed shard {shard}: appends keep taking over {REAPPEND_SECONDS}s")

    def reader(self) -> DynamoFeedReader:
        return DynamoFeedReader(self._t, self._clock)


def _entry(shard: int, seq: int, c: Change, now: float) -> dict[str, Any]:
    record = {"key": c.key, "kind": c.kind, "conversation": c.conversation_id, "time": c.time, "record": c.record}
    return {
        **key(_partition(shard), f"{seq:0{WIDTH}d}#{c.key}"),
        "change": s(dumps(record)),
        "written": {"N": repr(now)},
        "ttl": {"N": str(int(now + FEED_KEPT_SECONDS))},
    }


def _change(item: dict[str, Any]) -> tuple[int, str, Change]:
    seq_text, _, change_key = item["sk"]["S"].partition("#")
    d = json.loads(item["change"]["S"])
    seq = int(seq_text)
    return seq, change_key, Change(d["key"], d["kind"], d["conversation"], d["time"], d["record"], seq=seq)


class _Shard:
    """A reader's place in one shard: the last (number, key) read, and since when each head was first seen
    (the time a number below that head has been missing, for the gap wait)."""

    def __init__(self, seq: int):
        self.seq = seq
        self.key = TOP  # everything under self.seq has been read
        self.heads: deque[tuple[int, float]] = deque()  # (head, first seen), heads increasing

    def saw_head(self, head: int, now: float) -> None:
        if head > (self.heads[-1][0] if self.heads else self.seq):
            self.heads.append((head, now))

    def missing_since(self, seq: int) -> float:
        """When the head was first seen at or past `seq` (so `seq` was due to be written)."""
        return next((t for h, t in self.heads if h >= seq), float("inf"))

    def advance(self, seq: int, change_key: str) -> None:
        self.seq, self.key = seq, change_key
        while self.heads and self.heads[0][0] <= seq:
            self.heads.popleft()


class DynamoFeedReader:
    """Reads every shard from where it last stopped: the heads in one BatchGetItem (eventually consistent: a stale
    head only delays), then a strongly consistent Query of each shard whose head moved, merged by change time."""

    def __init__(self, table: DynamoTable, clock: Callable[[], float] = time.monotonic):
        self._t = table
        self._clock = clock
        self._shards: list[_Shard] = []

    async def _heads(self) -> list[int]:
        db = await self._t.db()
        keys = [head_key(n) for n in range(FEED_SHARDS)]
        items = await dynamo.batch_get(db, self._t.name, keys, consistent=False)
        heads = [0] * FEED_SHARDS
        for item in items:
            heads[int(item["pk"]["S"].removeprefix("feed#"))] = int(item["seq"]["N"])
        return heads

    async def start(self) -> None:
        db = await self._t.db()
        keys = [head_key(n) for n in range(FEED_SHARDS)]
        items = await dynamo.batch_get(db, self._t.name, keys, consistent=True)
        heads = {int(i["pk"]["S"].removeprefix("feed#")): int(i["seq"]["N"]) for i in items}
        self._shards = [_Shard(heads.get(n, 0)) for n in range(FEED_SHARDS)]

    async def read(self, limit: int) -> list[Change]:
        if not self._shards:
            raise RuntimeError("the feed reader was not started")
        heads = await self._heads()
        now = self._clock()
        moved = []
        for n, head in enumerate(heads):
            shard = self._shards[n]
            shard.saw_head(head, now)
            if shard.heads:  # numbers above where this reader stands: something to read or wait for
                moved.append(n)
        runs = await self._t.gather([self._read_shard(n, limit, now) for n in moved])
        return list(heapq.merge(*runs, key=lambda c: c.time))

    async def _read_shard(self, n: int, limit: int, now: float) -> list[Change]:
        shard = self._shards[n]
        db = await self._t.db()
        reply = await db.query(
            TableName=self._t.name,
            KeyConditionExpression="pk = :p AND sk > :after",
            ExpressionAttributeValues={":p": s(_partition(n)), ":after": s(f"{shard.seq:0{WIDTH}d}#{shard.key}")},
            ConsistentRead=True,
            Limit=limit,
        )
        out: list[Change] = []
        for item in reply.get("Items", []):
            seq, change_key, change = _change(item)
            shard.saw_head(seq, now)  # the heads read may be older than the entries
            while seq > shard.seq + 1:  # a number below this one is not written yet
                if not self._overdue(n, now):
                    return out  # wait for it: order within the shard holds
            shard.advance(seq, change_key)
            out.append(change)
        if not reply.get("LastEvaluatedKey"):  # all there is was read: numbers still missing may be overdue
            while shard.heads and self._overdue(n, now):
                pass
        return out

    def _overdue(self, n: int, now: float) -> bool:
        """Passes over the shard's next number if it has been due longer than the gap wait; whether it did."""
        shard = self._shards[n]
        if now - shard.missing_since(shard.seq + 1) < GAP_SECONDS:
            return False
        log.warning("inbox feed: a number never written is passed over", extra={"shard": n, "seq": shard.seq + 1})
        shard.advance(shard.seq + 1, TOP)
        return True
