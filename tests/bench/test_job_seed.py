"""The seeded job is the job its expansion writes (bench/job_seed.py): the same N members of the synthetic book
expanded by the service's Expander into one BulkJobChunksTable on moto, and seeded into another, leave the same
items, every attribute of every one (headers, identity pages, counter shards, the expansion), and queue the same
chunks. Sizes that end in a short chunk, and a chunk cut by its bytes rather than its count."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bench import job_seed
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.bulk.adapters import dynamodb_store
from services.bulk.adapters.dynamodb_store import DynamoChunkStore
from services.bulk.domain.model import Audience, Channel, Job, JobState
from services.bulk.expansion import Expander

REGION = "IN"
PAGE = 300  # members a ListContacts page: not a multiple of the chunk size, as the expander meets them


def _job() -> Job:
    return Job(
        id=uuid.uuid4().hex[:12],
        channel=Channel.WHATSAPP,
        category="UTILITY",
        content={
            "template": {
                "template_name": "order_update",
                "language": "en_US",
                "body_parameters": [{"text": "{{display_name}}"}, {"text": "{{attributes.order}}"}],
            }
        },
        audience=Audience("contacts", ("bench",)),
        originations=("111111111111111", "222222222222222"),
        state=JobState.RUNNING,
    )


class Book:
    """ListContacts of the synthetic book, PAGE members a page, as ContactsDirectory.page answers."""

    def __init__(self, size: int):
        self.size = size

    async def page(self, audience, channel, cursor: str):
        start = int(cursor or 0)
        end = min(start + PAGE, self.size)
        return [job_seed.member(i) for i in range(start, end)], str(end) if end < self.size else ""


class Queue:
    def __init__(self):
        self.refs = []

    async def send(self, refs) -> None:
        self.refs += refs


class States:
    def __init__(self, job: Job):
        self._job = job

    async def get(self, job_id: str, fresh: bool = False) -> Job:
        return self._job


async def _items(client, table: str) -> list[dict]:
    items, request = [], {"TableName": table, "ConsistentRead": True}
    while True:
        reply = await client.scan(**request)
        items += reply["Items"]
        if "LastEvaluatedKey" not in reply:
            return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


@pytest.mark.parametrize(("size", "chunk_size"), [(2_000, 500), (1_234, 500), (2_000, 5_000)])
async def test_a_seeded_job_is_what_its_expansion_writes(moto_endpoint, size, chunk_size):
    aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint))
    client = await aws.client("dynamodb")
    expanded, seeded = f"expanded-{uuid.uuid4().hex[:8]}", f"seeded-{uuid.uuid4().hex[:8]}"
    for table in (expanded, seeded):
        await dynamodb_store.ensure_chunks_table(client, table)
    job = _job()
    queue = Queue()
    expander = Expander(
        DynamoChunkStore(aws, expanded), queue, Book(size), States(job), REGION, chunk_size, 30.0, "bulk-test"
    )
    try:
        assert await expander.expand(job)
        tally = await asyncio.to_thread(job_seed.seed, moto_endpoint, "us-east-1", seeded, job, size, chunk_size)
        want, got = await _items(client, expanded), await _items(client, seeded)
    finally:
        await aws.close()
    chunks = len(queue.refs)
    assert (tally.recipients, tally.chunks) == (size, chunks)
    assert queue.refs == job_seed.chunk_refs(job.id, chunks)
    if chunk_size > size:
        assert chunks > 1  # cut by CHUNK_BYTES (~125 bytes a member), not by the count
    assert len(got) == len(want) > 2 * chunks  # a header and at least one identity page a chunk
    for w, g in zip(want, got, strict=True):
        assert g == w, f"{g['pk']['S']}/{g['sk']['S']}"
