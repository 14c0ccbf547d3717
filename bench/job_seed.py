"""A bulk job of any size seeded straight into BulkJobChunksTable as its expansion would have written it, for the
benchmarks on the DynamoDB path: going through contacts and the expander on the embedded moto (about 100
requests a second) would take hours for 1,000,000 recipients.

What a contacts job needs up front, once expanded (services/bulk/adapters/dynamodb_store.py): every chunk's
header and identity pages (a resume reads every header's open count; a worker claims any chunk), the job's
counters and its expansion marked done. No recipient has a state item until a worker claims it, so none is
seeded. The contacts are a synthetic book (member i: +9198<i>, contact C<i>, name and order attribute), cut into
chunks by the expander's own rule (recipient_of, chunk_size or CHUNK_BYTES) and turned into items by the store's
own chunk_items; tests/bench/test_job_seed.py compares every seeded item with what the expander writes.

The items go to the embedded AWS as raw BatchWriteItem requests (moto checks no signature): botocore's
validation of a million nested maps would take longer than moto takes to store them. The expansion's last step,
queueing the chunks on bulk-queue, is left to the caller (queue_chunks), after StartJob."""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from runtime import dynamo
from services.bulk.adapters.chunk_queue import ChunkRef
from services.bulk.adapters.codec import job_from_doc
from services.bulk.adapters.dynamodb_jobs import _job_key
from services.bulk.adapters.dynamodb_store import COUNTER_SHARDS, _counter_key, _expansion_key, chunk_items
from services.bulk.domain import spec
from services.bulk.domain.model import Chunk, Job
from services.bulk.domain.spec import Candidate
from services.bulk.expansion import Cutter, recipient_of

BATCH = 25  # BatchWriteItem's most items a request


def member(i: int) -> Candidate:
    """Contact i of the synthetic book, as ListContacts gives it to the expander (adapters/contacts.candidate)."""
    number = f"+9198{i:08d}"
    return Candidate(
        address=number,
        contact=f"C{i:09d}",
        display_name=f"Asha {i}",
        phone_number=number,
        attributes={"order": f"A-{i}"},
        consent="OPTED_IN",
    )


def address(i: int) -> str:
    return member(i).address


def expanded_chunks(job: Job, size: int, region: str, chunk_size: int) -> Iterator[Chunk]:
    """The chunks the expander cuts `size` members of the book into (Expander._expand_contacts's rule)."""
    names = spec.placeholders(job.content)
    cut = Cutter(job.id, chunk_size)
    for i in range(size):
        if full := cut.add(recipient_of(member(i), cut.index, cut.seq, job, region, names, inline=False)):
            yield full
    if rest := cut.rest():
        yield rest


def expansion_item(job_id: str, chunks: int) -> dict[str, Any]:
    """The expansion as the expander's last save leaves it: done, its lease given back."""
    return {
        **_expansion_key(job_id),
        "cursor": {"S": ""},
        "next_seq": {"N": str(chunks)},
        "done": {"BOOL": True},
        "owner": {"S": ""},
        "lease_until": dynamo.attribute(0.0),
    }


@dataclass
class Seeded:
    recipients: int = 0
    chunks: int = 0
    items: int = 0
    requests: int = 0
    seconds: float = 0.0


def seed_items(job: Job, size: int, region: str, chunk_size: int, tally: Seeded) -> Iterator[dict[str, Any]]:
    """Every item of the expanded job: headers and pages chunk by chunk, then the counters and the expansion."""
    shards: list[dict[str, int]] = [{} for _ in range(COUNTER_SHARDS)]
    for chunk in expanded_chunks(job, size, region, chunk_size):
        header, pages, counts = chunk_items(chunk)
        yield header
        yield from pages
        shard = shards[chunk.seq % COUNTER_SHARDS]  # add_chunk bumps the shard of its seq
        for k, v in counts.items():
            shard[k] = shard.get(k, 0) + v
        tally.chunks += 1
        tally.recipients += len(chunk.recipients)
    for n, totals in enumerate(shards):
        if totals:
            yield {**_counter_key(job.id, n), **{k: {"N": str(v)} for k, v in totals.items()}}
    yield expansion_item(job.id, tally.chunks)


class RawDynamo:
    """DynamoDB's JSON protocol over one kept-alive connection to the embedded AWS (a thread's own)."""

    def __init__(self, endpoint: str, region: str):
        parts = urlsplit(endpoint)
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self._headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/aws4_request, "
                "SignedHeaders=host, Signature=0"
            ),
        }

    def call(self, operation: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {**self._headers, "X-Amz-Target": f"DynamoDB_20120810.{operation}"}
        self._conn.request("POST", "/", data, headers)
        reply = self._conn.getresponse()
        out = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{operation} answered {reply.status}: {out[:500]!r}")
        return json.loads(out)

    def close(self) -> None:
        self._conn.close()


def read_job(endpoint: str, region: str, table: str, job_id: str) -> Job:
    raw = RawDynamo(endpoint, region)
    try:
        reply = raw.call("GetItem", {"TableName": table, "Key": _job_key(job_id), "ConsistentRead": True})
    finally:
        raw.close()
    if "Item" not in reply:
        raise RuntimeError(f"bulkJobs/{job_id} is not in {table}")
    return job_from_doc(dynamo.native(reply["Item"]["doc"]))


def seed(
    endpoint: str,
    region: str,
    table: str,
    job: Job,
    size: int,
    chunk_size: int,
    progress: Callable[[str], None] = lambda _: None,
) -> Seeded:
    """Writes the expanded job's items; the requests are built on one thread while another sends them (moto,
    taking one DynamoDB request at a time, is the bound)."""
    tally = Seeded()
    began = time.monotonic()
    bodies: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    failure: list[BaseException] = []

    def build() -> None:
        try:
            batch: list[dict[str, Any]] = []
            for item in seed_items(job, size, region, chunk_size, tally):
                tally.items += 1
                batch.append({"PutRequest": {"Item": item}})
                if len(batch) == BATCH:
                    bodies.put(json.dumps({"RequestItems": {table: batch}}).encode())
                    batch = []
                if failure:
                    return
            if batch:
                bodies.put(json.dumps({"RequestItems": {table: batch}}).encode())
        except BaseException as exc:  # the sender reports it
            failure.append(exc)
        finally:
            bodies.put(None)

    builder = threading.Thread(target=build, name="seed-build", daemon=True)
    builder.start()
    raw = RawDynamo(endpoint, region)
    shown = began
    try:
        while (body := bodies.get()) is not None:
            reply = raw.call("BatchWriteItem", body)
            tally.requests += 1
            left = reply.get("UnprocessedItems") or {}
            while left:  # never from moto; real DynamoDB may hand some back
                reply = raw.call("BatchWriteItem", {"RequestItems": left})
                tally.requests += 1
                left = reply.get("UnprocessedItems") or {}
            if time.monotonic() - shown > 10:
                shown = time.monotonic()
                progress(f"seeded {tally.recipients:,} of {size:,} recipients ({shown - began:.0f}s)")
    except BaseException:
        failure.append(RuntimeError("the sender stopped"))
        while bodies.get() is not None:  # let the builder finish
            pass
        raise
    finally:
        raw.close()
        builder.join()
    if failure:
        raise failure[0]
    tally.seconds = time.monotonic() - began
    return tally


def chunk_refs(job_id: str, chunks: int) -> list[ChunkRef]:
    """What the expansion queues on bulk-queue: one message a chunk, in order."""
    return [ChunkRef(job_id, seq) for seq in range(chunks)]
