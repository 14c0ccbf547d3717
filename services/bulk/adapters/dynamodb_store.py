"""BulkJobChunksTable on DynamoDB: the AWS implementation of ChunkStore, with the semantics of sqlite_store
(BulkJobsTable's JobStore: dynamodb_jobs). Generic keys `pk`/`sk`.

BulkJobChunksTable
  chunk header chunk#<job>#<seq>        chunk    size, pages, open (recipients without an outcome): a few bytes
  identities   ids#<job>#<seq>          p#<idx>  rs: the identities of the recipients from idx on (a suppressed one
                                                 carries its reason), pages of at most PAGE_BYTES, written once
  hold         hold#<job>#<seq>         hold     holder, held_until: the worker working the chunk, under a lease
  recipient    r#<job>#<seq>#<idx>      r        outcome, owner, message, provider_id, error_code, reason
  counters     counts#<job>#<n>         counts   one number per counter, in COUNTER_SHARDS shards
  expansion    expansion#<job>          exp      cursor, next_seq, done, owner, lease_until

- Nothing a send writes grows with the chunk: the header holds counts only (its identities, up to 200 KB, used to
  be rewritten with every outcome), the identities are written once, and each recipient's state is an item with a
  partition of its own, so a chunk worked at 1,000 recipients/s puts no key near a partition's limit (docs/
  BENCHMARKS.md, "DynamoDB capacity model"). The header's open count and a counter shard take one write a
  transaction of outcomes (the shards in turn), each transaction carrying as many outcomes as a progress step of
  the send brought.
- A header with its identity pages is written with the counters in one transaction, conditioned on not existing:
  a repeated expansion writes nothing twice, counts nothing twice.
- A recipient without a state item is in its identity's state (PENDING, or SUPPRESSED with the reason).
- The lease is the chunk's, on its hold item: a claim takes the hold (conditioned on it being free, run out or
  the claimer's), then marks each open recipient CLAIMED by an UpdateItem conditioned on its state (absent,
  PENDING, or CLAIMED: by a holder whose lease ran out, since the hold is the claimer's now). Renewing is one write
  a chunk, whatever its size; release gives the hold up with the recipients it names.
- record() reads the states of the recipients it is given only (BatchGetItem), writes each outcome conditioned on
  the outcome it read, with the chunk's open count and a counter shard in the same transaction; a refused
  condition (someone else moved it) is read again and retried.
- Nothing on a request path scans."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from runtime import dynamo
from runtime.aws import AwsClients
from services.bulk.adapters.codec import recipient_from_doc, recipient_to_doc
from services.bulk.adapters.dynamodb_jobs import ensure_jobs_table
from services.bulk.domain.model import (
    OPEN,
    Chunk,
    Counts,
    Expansion,
    Outcome,
    Recipient,
    Update,
    applies,
    delta,
    open_change,
)

COUNTER_SHARDS = 8
WRITES = 16  # conditional writes in flight for one chunk
GROUP = 90  # recipient updates per transaction (a transaction takes 100 items; 2 go to the chunk and counters)
PAGE_BYTES = 8_000  # identities an identity page holds at most (a chunk's 200 KB: 26 pages, in one transaction)

CHUNKS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_chunks_table(client, name: str) -> None:
    """Creates BulkJobChunksTable for a local run or a test."""
    await dynamo.ensure_table(client, name, CHUNKS_TABLE)


async def ensure_tables(client, jobs_table: str, chunks_table: str) -> None:
    """Both of bulk's tables, for a local run or a test."""
    await ensure_jobs_table(client, jobs_table)
    await ensure_chunks_table(client, chunks_table)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _chunk_pk(job_id: str, seq: int) -> str:
    return f"chunk#{job_id}#{seq:08d}"


def _ids_pk(job_id: str, seq: int) -> str:
    return f"ids#{job_id}#{seq:08d}"


def _state_key(job_id: str, seq: int, index: int) -> dict[str, Any]:
    return _key(f"r#{job_id}#{seq:08d}#{index:05d}", "r")


def _hold_key(job_id: str, seq: int) -> dict[str, Any]:
    return _key(f"hold#{job_id}#{seq:08d}", "hold")


def _index_of(item: dict[str, Any]) -> int:
    return int(item["pk"]["S"].rsplit("#", 1)[1])


def _pages(docs: list[dict[str, Any]]) -> list[tuple[int, list[dict[str, Any]]]]:
    """The identities cut into pages of at most PAGE_BYTES (by their JSON size), each with its first index."""
    pages: list[tuple[int, list[dict[str, Any]]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for index, doc in enumerate(docs):
        n = len(json.dumps(doc, separators=(",", ":")))
        if current and size + n > PAGE_BYTES:
            pages.append((index - len(current), current))
            current, size = [], 0
        current.append(doc)
        size += n
    if current:
        pages.append((len(docs) - len(current), current))
    return pages


def _counter_key(job_id: str, shard: int) -> dict[str, Any]:
    return _key(f"counts#{job_id}#{shard}", "counts")


def _expansion_key(job_id: str) -> dict[str, Any]:
    return _key(f"expansion#{job_id}", "exp")


def chunk_items(chunk: Chunk) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, int]]:
    """A new chunk's header and identity pages as items, and what it adds to the job's counters (its shard is
    seq % COUNTER_SHARDS). add_chunk writes them in one transaction; bench/job_seed.py writes a seeded job's."""
    docs = []
    counts: dict[str, int] = {"total": len(chunk.recipients)}
    for r in chunk.recipients:
        doc = recipient_to_doc(r)
        if r.outcome == Outcome.SUPPRESSED:
            doc["s"] = r.reason
            counts["suppressed"] = counts.get("suppressed", 0) + 1
            counts[f"sup:{r.reason}"] = counts.get(f"sup:{r.reason}", 0) + 1
        docs.append(doc)
    pages = _pages(docs)
    ids = _ids_pk(chunk.job_id, chunk.seq)
    header = {
        **_key(_chunk_pk(chunk.job_id, chunk.seq), "chunk"),
        "size": {"N": str(len(docs))},
        "pages": {"N": str(len(pages))},
        "open": {"N": str(sum(1 for r in chunk.recipients if r.outcome in OPEN))},
    }
    return header, [{**_key(ids, f"p#{first:05d}"), "rs": dynamo.attribute(page)} for first, page in pages], counts


def _state_attrs(item: dict[str, Any]) -> dict[str, Any]:
    return {k: dynamo.native(v) for k, v in item.items() if k not in ("pk", "sk")}


class DynamoChunkStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table
        self._turn = itertools.count()  # the counter shard of the next outcome transaction

    async def _client(self):
        return await self._aws.client("dynamodb")

    # --- chunks -----------------------------------------------------------------------------------------------
    async def add_chunk(self, chunk: Chunk) -> bool:
        header, pages, counts = chunk_items(chunk)
        items = [
            {"Put": {"TableName": self._table, "Item": header, "ConditionExpression": "attribute_not_exists(pk)"}},
            *({"Put": {"TableName": self._table, "Item": page}} for page in pages),
            self._bump(chunk.job_id, chunk.seq, counts),
        ]
        try:
            await dynamo.transact_write(await self._client(), items)
        except dynamo.TransactionRefused as refused:
            if refused.failed(0):
                return False
            raise
        return True

    def _bump(self, job_id: str, shard: int, changes: dict[str, int]) -> dict[str, Any]:
        names = {f"#c{i}": k for i, k in enumerate(changes)}
        values = {f":c{i}": {"N": str(v)} for i, v in enumerate(changes.values())}
        return {
            "Update": {
                "TableName": self._table,
                "Key": _counter_key(job_id, shard % COUNTER_SHARDS),
                "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(changes))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    async def _size(self, job_id: str, seq: int) -> int | None:
        reply = await (await self._client()).get_item(
            TableName=self._table,
            Key=_key(_chunk_pk(job_id, seq), "chunk"),
            ConsistentRead=True,
            ProjectionExpression="#size",
            ExpressionAttributeNames={"#size": "size"},
        )
        item = reply.get("Item")
        return int(item["size"]["N"]) if item else None

    async def _identities(self, job_id: str, seq: int) -> list[dict[str, Any]]:
        """Every identity of the chunk, in index order (its pages' sort keys are their first indexes)."""
        client = await self._client()
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": _ids_pk(job_id, seq)}},
            "ConsistentRead": True,
        }
        docs: list[dict[str, Any]] = []
        while True:
            reply = await client.query(**request)
            for item in reply.get("Items", []):
                docs += dynamo.native(item["rs"])
            if not reply.get("LastEvaluatedKey"):
                return docs
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    async def _states(self, job_id: str, seq: int, indexes, projection: str = "") -> dict[int, dict[str, Any]]:
        """The state items of these recipients (none: the recipient is as its identity says), by index."""
        keys = [_state_key(job_id, seq, i) for i in indexes]
        names = {"#o": "owner"} if projection else None
        found = await dynamo.batch_get(await self._client(), self._table, keys, projection=projection, names=names)
        return {_index_of(item): _state_attrs(item) for item in found}

    @staticmethod
    def _recipient(index: int, doc: dict[str, Any], state: dict[str, Any] | None) -> Recipient:
        if state is None:
            state = {"outcome": Outcome.SUPPRESSED, "reason": doc["s"]} if "s" in doc else {}
        return recipient_from_doc(index, doc, state)

    async def get_chunk(self, job_id: str, seq: int) -> Chunk | None:
        size = await self._size(job_id, seq)
        if size is None:
            return None
        docs, states = await asyncio.gather(self._identities(job_id, seq), self._states(job_id, seq, range(size)))
        return Chunk(job_id, seq, [self._recipient(i, doc, states.get(i)) for i, doc in enumerate(docs)])

    async def open_count(self, job_id: str, seq: int) -> int | None:
        reply = await (await self._client()).get_item(
            TableName=self._table,
            Key=_key(_chunk_pk(job_id, seq), "chunk"),
            ConsistentRead=True,
            ProjectionExpression="#open",
            ExpressionAttributeNames={"#open": "open"},
        )
        item = reply.get("Item")
        return int(item["open"]["N"]) if item else None

    async def open_chunks(self, job_id: str, count: int) -> list[int]:
        # The open count only: a resume asks this of every chunk of the job (a million recipients: thousands of
        # headers) in every bulk process.
        keys = [_key(_chunk_pk(job_id, seq), "chunk") for seq in range(count)]
        found = await dynamo.batch_get(
            await self._client(), self._table, keys, projection="pk, #open", names={"#open": "open"}
        )
        open_ = [int(i["pk"]["S"].rsplit("#", 1)[1]) for i in found if int(i["open"]["N"]) > 0]
        return sorted(open_)

    async def _each(self, indexes: list[int], write) -> list[int]:
        """Runs one conditional write per recipient, WRITES at a time; returns the indexes it succeeded for."""
        gate = asyncio.Semaphore(WRITES)
        done: list[int] = []

        async def one(index: int) -> None:
            async with gate:
                try:
                    await write(index)
                    done.append(index)
                except Exception as exc:
                    if not dynamo.condition_refused(exc):
                        raise

        await asyncio.gather(*(one(i) for i in indexes))
        return sorted(done)

    async def claim(self, job_id: str, seq: int, owner: str, until: float, now: float) -> list[Recipient]:
        chunk = await self.get_chunk(job_id, seq)
        if chunk is None:
            return []
        candidates = [r.index for r in chunk.recipients if r.outcome in OPEN]
        if not candidates or not await self._hold(job_id, seq, owner, until, now):
            return []
        client = await self._client()

        async def write(index: int) -> None:
            await client.update_item(
                TableName=self._table,
                Key=_state_key(job_id, seq, index),
                UpdateExpression="SET outcome = :claimed, #o = :owner",
                ConditionExpression="attribute_not_exists(outcome) OR outcome = :pending OR outcome = :claimed",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":claimed": {"S": Outcome.CLAIMED.value},
                    ":pending": {"S": Outcome.PENDING.value},
                    ":owner": {"S": owner},
                },
            )

        claimed = set(await self._each(candidates, write))
        out = []
        for r in chunk.recipients:
            if r.index in claimed:
                r.outcome, r.owner = Outcome.CLAIMED, owner
                out.append(r)
        return out

    async def _hold(self, job_id: str, seq: int, owner: str, until: float, now: float) -> bool:
        """Takes or extends the chunk's hold for owner: free, run out before `now`, or owner's already."""
        return await self._on_hold(
            "update_item",
            job_id,
            seq,
            UpdateExpression="SET holder = :me, held_until = :until",
            ConditionExpression="attribute_not_exists(holder) OR holder = :me OR held_until < :now",
            ExpressionAttributeValues={
                ":me": {"S": owner},
                ":until": dynamo.attribute(until),
                ":now": dynamo.attribute(now),
            },
        )

    async def _on_hold(self, operation: str, job_id: str, seq: int, **request: Any) -> bool:
        """One conditional write on the chunk's hold item; False when its condition was refused."""
        client = await self._client()
        try:
            await getattr(client, operation)(TableName=self._table, Key=_hold_key(job_id, seq), **request)
            return True
        except Exception as exc:
            if dynamo.condition_refused(exc):
                return False
            raise

    async def _owned(self, job_id: str, seq: int, owner: str, indexes: list[int], update: str, values) -> int:
        client = await self._client()

        async def write(index: int) -> None:
            await client.update_item(
                TableName=self._table,
                Key=_state_key(job_id, seq, index),
                UpdateExpression=update,
                ConditionExpression="outcome = :claimed AND #o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":claimed": {"S": Outcome.CLAIMED.value},
                    ":owner": {"S": owner},
                    **values,
                },
            )

        return len(await self._each(indexes, write))

    async def renew(self, job_id: str, seq: int, owner: str, until: float) -> bool:
        return await self._on_hold(
            "update_item",
            job_id,
            seq,
            UpdateExpression="SET held_until = :until",
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": {"S": owner}, ":until": dynamo.attribute(until)},
        )

    async def release(self, job_id: str, seq: int, owner: str, indexes: list[int]) -> int:
        released = await self._owned(
            job_id,
            seq,
            owner,
            indexes,
            "SET outcome = :pending, #o = :empty",
            {":pending": {"S": Outcome.PENDING.value}, ":empty": {"S": ""}},
        )
        # Then the hold, so the chunk's next delivery is claimed at once (another's hold is left alone).
        await self._on_hold(
            "delete_item",
            job_id,
            seq,
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": {"S": owner}},
        )
        return released

    async def _current(self, job_id: str, seq: int, indexes: set[int]) -> dict[int, Recipient]:
        """These recipients as they stand (identities read only for those without a state item: never claimed)."""
        states = await self._states(job_id, seq, sorted(indexes))
        out = {i: recipient_from_doc(i, {"a": ""}, s) for i, s in states.items()}
        missing = indexes - set(out)
        if missing:
            docs = await self._identities(job_id, seq)
            out |= {i: self._recipient(i, docs[i], None) for i in missing if i < len(docs)}
        return out

    async def record(self, job_id: str, seq: int, updates: list[Update], now: float) -> int:
        applied = 0
        pending = list(updates)
        for _ in range(8):
            if not pending:
                break
            by_index = await self._current(job_id, seq, {u.index for u in pending})
            retry: list[Update] = []
            for start in range(0, len(pending), GROUP):
                group = [u for u in pending[start : start + GROUP] if u.index in by_index]
                group = [u for u in group if applies(by_index[u.index].outcome, u.outcome)]
                if not group:
                    continue
                items, totals, opened = [], {}, 0
                for u in group:
                    current = by_index[u.index]
                    items.append(self._outcome_write(job_id, seq, current, u, now))
                    opened += open_change(current.outcome, u.outcome)
                    for k, v in delta(current.outcome, u.outcome).items():
                        totals[k] = totals.get(k, 0) + v
                if opened:
                    items.append(
                        {
                            "Update": {
                                "TableName": self._table,
                                "Key": _key(_chunk_pk(job_id, seq), "chunk"),
                                "UpdateExpression": "ADD #open :n",
                                "ExpressionAttributeNames": {"#open": "open"},
                                "ExpressionAttributeValues": {":n": {"N": str(opened)}},
                            }
                        }
                    )
                totals = {k: v for k, v in totals.items() if v}
                if totals:
                    # Shards in turn, so one chunk's outcomes spread over every shard.
                    items.append(self._bump(job_id, next(self._turn), totals))
                try:
                    await dynamo.transact_write(await self._client(), items)
                    applied += len(group)
                except dynamo.TransactionRefused:
                    retry += group  # someone moved one of them meanwhile: read again, decide again
            pending = retry
        return applied

    def _outcome_write(self, job_id: str, seq: int, current: Recipient, u: Update, now: float) -> dict[str, Any]:
        if current.outcome == Outcome.PENDING:
            condition = "attribute_not_exists(outcome) OR outcome = :was"
        else:
            condition = "outcome = :was"
        return {
            "Update": {
                "TableName": self._table,
                "Key": _state_key(job_id, seq, current.index),
                "UpdateExpression": (
                    "SET outcome = :new, #o = :empty, message = :m, provider_id = :p,"
                    " error_code = :e, reason = :r, update_time = :t"
                ),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": {
                    ":was": {"S": current.outcome.value},
                    ":new": {"S": u.outcome.value},
                    ":empty": {"S": ""},
                    ":m": {"S": u.message or current.message},
                    ":p": {"S": u.provider_id or current.provider_id},
                    ":e": {"S": u.error_code},
                    ":r": {"S": u.reason},
                    ":t": dynamo.attribute(now),
                },
            }
        }

    async def counts(self, job_id: str) -> Counts:
        keys = [_counter_key(job_id, shard) for shard in range(COUNTER_SHARDS)]
        totals: dict[str, int] = {}
        for item in await dynamo.batch_get(await self._client(), self._table, keys):
            for k, v in _state_attrs(item).items():
                totals[k] = totals.get(k, 0) + int(v)
        return Counts.from_totals(totals)

    # --- expansion ----------------------------------------------------------------------------------------------
    @staticmethod
    def _expansion(item: dict[str, Any]) -> Expansion:
        d = _state_attrs(item)
        return Expansion(d["cursor"], int(d["next_seq"]), bool(d["done"]), d["owner"], float(d["lease_until"]))

    async def expansion(self, job_id: str) -> Expansion:
        reply = await (await self._client()).get_item(
            TableName=self._table, Key=_expansion_key(job_id), ConsistentRead=True
        )
        return self._expansion(reply["Item"]) if "Item" in reply else Expansion()

    async def take_expansion(self, job_id: str, owner: str, until: float, now: float) -> Expansion | None:
        try:
            reply = await (await self._client()).update_item(
                TableName=self._table,
                Key=_expansion_key(job_id),
                UpdateExpression=(
                    "SET #o = :me, lease_until = :until, #c = if_not_exists(#c, :empty),"
                    " next_seq = if_not_exists(next_seq, :zero), done = if_not_exists(done, :no)"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (done = :no AND (#o = :empty OR #o = :me OR lease_until < :now))"
                ),
                ExpressionAttributeNames={"#o": "owner", "#c": "cursor"},
                ExpressionAttributeValues={
                    ":me": {"S": owner},
                    ":until": dynamo.attribute(until),
                    ":empty": {"S": ""},
                    ":zero": {"N": "0"},
                    ":no": {"BOOL": False},
                    ":now": dynamo.attribute(now),
                },
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            if dynamo.condition_refused(exc):
                return None
            raise
        return self._expansion(reply["Attributes"])

    async def save_expansion(self, job_id: str, owner: str, progress: Expansion) -> bool:
        try:
            await (await self._client()).update_item(
                TableName=self._table,
                Key=_expansion_key(job_id),
                UpdateExpression="SET #c = :c, next_seq = :n, done = :d, #o = :o, lease_until = :l",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner", "#c": "cursor"},
                ExpressionAttributeValues={
                    ":c": {"S": progress.cursor},
                    ":n": {"N": str(progress.next_seq)},
                    ":d": {"BOOL": progress.done},
                    ":o": {"S": progress.owner},
                    ":l": dynamo.attribute(progress.lease_until),
                    ":me": {"S": owner},
                },
            )
        except Exception as exc:
            if dynamo.condition_refused(exc):
                return False
            raise
        return True

    async def ping(self) -> None:
        await (await self._client()).describe_table(TableName=self._table)

    async def close(self) -> None:
        pass
