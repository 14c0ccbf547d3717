"""BulkJobsTable and BulkJobChunksTable on DynamoDB: the AWS implementation of JobStore and ChunkStore, with
the semantics of sqlite_store. Both tables use generic keys `pk`/`sk`.

BulkJobsTable
  job          job#<id>   job    doc (the job as a map), version; gsi1 (list): "jobs" / id;
                                 gsi2 (active, sparse): "active" / id while the job has background work
  replace() is a Put conditioned on the version it read. ListJobs and the active jobs are Queries on the two
  GSIs (eventually consistent: a new job shows a moment later); get is a strongly consistent read.

BulkJobChunksTable
  chunk header chunk#<job>#<seq>   chunk    rs (the recipients' identities; a suppressed one carries its reason),
                                            size, open (recipients without an outcome)
  recipient    chunk#<job>#<seq>   r#<idx>  outcome, owner, lease_until, message, provider_id, error_code, reason
  counters     counts#<job>#<n>    counts   one number per counter, sharded by chunk (n = seq mod 8)
  expansion    expansion#<job>     exp      cursor, next_seq, done, owner, lease_until

- A chunk is one partition: its header and its recipients' state come back in one Query, and its writes spread
  over as many partitions as the job has chunks. A header with its identities is written with the counters in
  one transaction, conditioned on not existing: a repeated expansion writes nothing twice, counts nothing twice.
- A recipient without a state item is in its header's state (PENDING, or SUPPRESSED with the reason). A claim is
  an UpdateItem conditioned on the state (absent, PENDING, or CLAIMED under a lease that ran out).
- record() writes each recipient's outcome conditioned on the outcome it read, with the chunk's open count and
  the counters in the same transaction; a refused condition (someone else moved it) is read again and retried.
- Nothing on a request path scans."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime import dynamo
from runtime.aws import AwsClients
from services.bulk.adapters.codec import job_from_doc, job_to_doc, recipient_from_doc, recipient_to_doc
from services.bulk.domain.model import (
    ACTIVE,
    FINAL,
    OPEN,
    Chunk,
    Counts,
    Expansion,
    Job,
    Outcome,
    Recipient,
    Update,
    advances,
    delta,
)

LIST_INDEX = "list"
ACTIVE_INDEX = "active"
COUNTER_SHARDS = 8
WRITES = 16  # conditional writes in flight for one chunk
GROUP = 90  # recipient updates per transaction (a transaction takes 100 items; 2 go to the chunk and counters)

JOBS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "gsi1pk", "AttributeType": "S"},
        {"AttributeName": "gsi1sk", "AttributeType": "S"},
        {"AttributeName": "gsi2pk", "AttributeType": "S"},
        {"AttributeName": "gsi2sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": LIST_INDEX,
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": ACTIVE_INDEX,
            "KeySchema": [
                {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
CHUNKS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_jobs_table(client, name: str) -> None:
    """Creates BulkJobsTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, JOBS_TABLE)


async def ensure_chunks_table(client, name: str) -> None:
    """Creates BulkJobChunksTable for a local run or a test."""
    await dynamo.ensure_table(client, name, CHUNKS_TABLE)


async def ensure_tables(client, jobs_table: str, chunks_table: str) -> None:
    await ensure_jobs_table(client, jobs_table)
    await ensure_chunks_table(client, chunks_table)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _job_key(job_id: str) -> dict[str, Any]:
    return _key(f"job#{job_id}", "job")


def _chunk_pk(job_id: str, seq: int) -> str:
    return f"chunk#{job_id}#{seq:08d}"


def _counter_key(job_id: str, shard: int) -> dict[str, Any]:
    return _key(f"counts#{job_id}#{shard}", "counts")


def _expansion_key(job_id: str) -> dict[str, Any]:
    return _key(f"expansion#{job_id}", "exp")


class DynamoJobStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    @staticmethod
    def _item(job: Job) -> dict[str, Any]:
        item = {
            **_job_key(job.id),
            "doc": dynamo.attribute(job_to_doc(job)),
            "version": {"N": str(job.version)},
            "gsi1pk": {"S": "jobs"},
            "gsi1sk": {"S": job.id},
        }
        if job.state in ACTIVE or job.needs_report:
            item["gsi2pk"] = {"S": "active"}
            item["gsi2sk"] = {"S": job.id}
        return item

    async def create(self, job: Job) -> None:
        await (await self._client()).put_item(
            TableName=self._table, Item=self._item(job), ConditionExpression="attribute_not_exists(pk)"
        )

    async def get(self, job_id: str) -> Job | None:
        reply = await (await self._client()).get_item(TableName=self._table, Key=_job_key(job_id), ConsistentRead=True)
        item = reply.get("Item")
        return job_from_doc(dynamo.native(item["doc"])) if item else None

    async def list(self, before_id: str | None, limit: int) -> list[Job]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk < :before",
            "ExpressionAttributeValues": {":p": {"S": "jobs"}, ":before": {"S": before_id or dynamo.TOP}},
            "ScanIndexForward": False,
        }
        out: list[Job] = []
        client = await self._client()
        while len(out) < limit:
            reply = await client.query(**request, Limit=limit - len(out))
            out += [job_from_doc(dynamo.native(i["doc"])) for i in reply.get("Items", [])]
            if not reply.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return out

    async def replace(self, job: Job, expected_version: int) -> bool:
        try:
            await (await self._client()).put_item(
                TableName=self._table,
                Item=self._item(job),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": str(expected_version)}},
            )
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    async def active(self) -> list[Job]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ACTIVE_INDEX,
            "KeyConditionExpression": "gsi2pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "active"}},
        }
        out: list[Job] = []
        client = await self._client()
        while True:
            reply = await client.query(**request)
            out += [job_from_doc(dynamo.native(i["doc"])) for i in reply.get("Items", [])]
            if not reply.get("LastEvaluatedKey"):
                return out
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    async def ping(self) -> None:
        await (await self._client()).describe_table(TableName=self._table)

    async def close(self) -> None:
        pass


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


def _state_attrs(item: dict[str, Any]) -> dict[str, Any]:
    return {k: dynamo.native(v) for k, v in item.items() if k not in ("pk", "sk")}


class DynamoChunkStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    # --- chunks -----------------------------------------------------------------------------------------------
    async def add_chunk(self, chunk: Chunk) -> bool:
        docs = []
        counts: dict[str, int] = {"total": len(chunk.recipients)}
        for r in chunk.recipients:
            doc = recipient_to_doc(r)
            if r.outcome == Outcome.SUPPRESSED:
                doc["s"] = r.reason
                counts["suppressed"] = counts.get("suppressed", 0) + 1
                counts[f"sup:{r.reason}"] = counts.get(f"sup:{r.reason}", 0) + 1
            docs.append(doc)
        header = {
            **_key(_chunk_pk(chunk.job_id, chunk.seq), "chunk"),
            "rs": dynamo.attribute(docs),
            "size": {"N": str(len(docs))},
            "open": {"N": str(sum(1 for r in chunk.recipients if r.outcome in OPEN))},
        }
        items = [
            {"Put": {"TableName": self._table, "Item": header, "ConditionExpression": "attribute_not_exists(pk)"}},
            self._bump(chunk.job_id, chunk.seq, counts),
        ]
        try:
            await dynamo.transact_write(await self._client(), items)
        except dynamo.TransactionRefused as refused:
            if refused.failed(0):
                return False
            raise
        return True

    def _bump(self, job_id: str, seq: int, changes: dict[str, int]) -> dict[str, Any]:
        names = {f"#c{i}": k for i, k in enumerate(changes)}
        values = {f":c{i}": {"N": str(v)} for i, v in enumerate(changes.values())}
        return {
            "Update": {
                "TableName": self._table,
                "Key": _counter_key(job_id, seq % COUNTER_SHARDS),
                "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(changes))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    async def _items(self, job_id: str, seq: int) -> list[dict[str, Any]]:
        client = await self._client()
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": _chunk_pk(job_id, seq)}},
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            reply = await client.query(**request)
            items += reply.get("Items", [])
            if not reply.get("LastEvaluatedKey"):
                return items
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    async def get_chunk(self, job_id: str, seq: int) -> Chunk | None:
        items = await self._items(job_id, seq)
        header = next((i for i in items if i["sk"]["S"] == "chunk"), None)
        if header is None:
            return None
        states = {int(i["sk"]["S"][2:]): _state_attrs(i) for i in items if i["sk"]["S"].startswith("r#")}
        recipients = []
        for index, doc in enumerate(dynamo.native(header["rs"])):
            state = states.get(index)
            if state is None:
                state = {"outcome": Outcome.SUPPRESSED, "reason": doc["s"]} if "s" in doc else {}
            recipients.append(recipient_from_doc(index, doc, state))
        return Chunk(job_id, seq, recipients)

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
        # The open count only: a header carries its recipients' identities (up to 200 KB), and a resume asks this
        # of every chunk of the job (a million recipients: thousands of headers) in every bulk process.
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
                    if _code(exc) != "ConditionalCheckFailedException":
                        raise

        await asyncio.gather(*(one(i) for i in indexes))
        return sorted(done)

    def _state_key(self, job_id: str, seq: int, index: int) -> dict[str, Any]:
        return _key(_chunk_pk(job_id, seq), f"r#{index:05d}")

    async def claim(self, job_id: str, seq: int, owner: str, until: float, now: float) -> list[Recipient]:
        chunk = await self.get_chunk(job_id, seq)
        if chunk is None:
            return []
        candidates = [
            r.index
            for r in chunk.recipients
            if r.outcome == Outcome.PENDING or (r.outcome == Outcome.CLAIMED and r.lease_until < now)
        ]
        client = await self._client()

        async def write(index: int) -> None:
            await client.update_item(
                TableName=self._table,
                Key=self._state_key(job_id, seq, index),
                UpdateExpression="SET outcome = :claimed, #o = :owner, lease_until = :until",
                ConditionExpression=(
                    "attribute_not_exists(outcome) OR outcome = :pending OR (outcome = :claimed AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":claimed": {"S": Outcome.CLAIMED.value},
                    ":pending": {"S": Outcome.PENDING.value},
                    ":owner": {"S": owner},
                    ":until": dynamo.attribute(until),
                    ":now": dynamo.attribute(now),
                },
            )

        claimed = set(await self._each(candidates, write))
        out = []
        for r in chunk.recipients:
            if r.index in claimed:
                r.outcome, r.owner, r.lease_until = Outcome.CLAIMED, owner, until
                out.append(r)
        return out

    async def _owned(self, job_id: str, seq: int, owner: str, indexes: list[int], update: str, values) -> int:
        client = await self._client()

        async def write(index: int) -> None:
            await client.update_item(
                TableName=self._table,
                Key=self._state_key(job_id, seq, index),
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

    async def renew(self, job_id: str, seq: int, owner: str, until: float) -> int:
        chunk = await self.get_chunk(job_id, seq)
        mine = [r.index for r in chunk.recipients if r.outcome == Outcome.CLAIMED and r.owner == owner] if chunk else []
        return await self._owned(
            job_id, seq, owner, mine, "SET lease_until = :until", {":until": dynamo.attribute(until)}
        )

    async def release(self, job_id: str, seq: int, owner: str, indexes: list[int]) -> int:
        return await self._owned(
            job_id,
            seq,
            owner,
            indexes,
            "SET outcome = :pending, #o = :empty, lease_until = :zero",
            {":pending": {"S": Outcome.PENDING.value}, ":empty": {"S": ""}, ":zero": {"N": "0"}},
        )

    async def record(self, job_id: str, seq: int, updates: list[Update], now: float) -> int:
        applied = 0
        pending = list(updates)
        for _ in range(8):
            if not pending:
                break
            chunk = await self.get_chunk(job_id, seq)
            if chunk is None:
                return applied
            by_index = {r.index: r for r in chunk.recipients}
            retry: list[Update] = []
            for start in range(0, len(pending), GROUP):
                group = [u for u in pending[start : start + GROUP] if u.index in by_index]
                group = [u for u in group if advances(by_index[u.index].outcome, u.outcome)]
                if not group:
                    continue
                items, totals, closed = [], {}, 0
                for u in group:
                    current = by_index[u.index]
                    items.append(self._outcome_write(job_id, seq, current, u, now))
                    closed += int(current.outcome in OPEN and u.outcome in FINAL)
                    for k, v in delta(current.outcome, u.outcome).items():
                        totals[k] = totals.get(k, 0) + v
                if closed:
                    items.append(
                        {
                            "Update": {
                                "TableName": self._table,
                                "Key": _key(_chunk_pk(job_id, seq), "chunk"),
                                "UpdateExpression": "ADD #open :n",
                                "ExpressionAttributeNames": {"#open": "open"},
                                "ExpressionAttributeValues": {":n": {"N": str(-closed)}},
                            }
                        }
                    )
                totals = {k: v for k, v in totals.items() if v}
                if totals:
                    items.append(self._bump(job_id, seq, totals))
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
                "Key": self._state_key(job_id, seq, current.index),
                "UpdateExpression": (
                    "SET outcome = :new, #o = :empty, lease_until = :zero, message = :m, provider_id = :p,"
                    " error_code = :e, reason = :r, update_time = :t"
                ),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": {
                    ":was": {"S": current.outcome.value},
                    ":new": {"S": u.outcome.value},
                    ":empty": {"S": ""},
                    ":zero": {"N": "0"},
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
            if _code(exc) == "ConditionalCheckFailedException":
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
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    async def ping(self) -> None:
        await (await self._client()).describe_table(TableName=self._table)

    async def close(self) -> None:
        pass
