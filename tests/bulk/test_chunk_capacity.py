"""A chunk on DynamoDB (moto) at the scale it exists for: every request its life makes (written, claimed, each
recipient sent then delivered, in progress steps of ten) is charged to its partition key by the capacity model
(bench/dynamodb_model.py, from runtime/capacity_log.py's record). The chunk header stays a few bytes as the chunk
fills (it used to carry every identity and be rewritten with each outcome: 4.8x a partition's write limit at
1,000 recipients/s in `make bench dynamodb`), no item grows with the chunk beyond an identity page, and no shared
key takes more than half a partition's writes at 1,000 recipients/s."""

from __future__ import annotations

import uuid

import pytest

from bench.dynamodb_model import Model, pattern, read_log, schema_of
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.bulk.adapters import dynamodb_store
from services.bulk.adapters.dynamodb_store import PAGE_BYTES, DynamoChunkStore
from services.bulk.domain.model import Outcome, Update
from tests.bulk.test_store_contract import NOW, chunk

RATE = 1_000  # recipients a second
STEP = 10  # outcomes a progress step of the send brings
PARTITION_WCU = 1_000


@pytest.fixture
async def logged(tmp_path, moto_endpoint):
    log = tmp_path / "capacity.jsonl"
    table = f"chunks-{uuid.uuid4().hex[:10]}"
    aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint, dynamodb_capacity_log=str(log)))
    client = await aws.client("dynamodb")
    await dynamodb_store.ensure_chunks_table(client, table)
    schema = schema_of((await client.describe_table(TableName=table))["Table"])
    yield DynamoChunkStore(aws, table), client, table, log, {table: schema}
    await aws.close()


async def header_size(client, table: str, job_id: str, seq: int) -> int:
    key = dynamodb_store._key(dynamodb_store._chunk_pk(job_id, seq), "chunk")
    reply = await client.get_item(TableName=table, Key=key)
    return len(str(reply["Item"]))


async def work(store: DynamoChunkStore, job_id: str, seq: int, n: int) -> None:
    """A chunk's life on the send path: written, claimed, sent and delivered in progress steps."""
    assert await store.add_chunk(chunk(job_id, seq, n))
    claimed = await store.claim(job_id, seq, "w1", NOW + 60, NOW)
    assert len(claimed) == n
    for outcome in (Outcome.SENT, Outcome.DELIVERED):
        for start in range(0, n, STEP):
            updates = [Update(i, outcome, message=f"messages/m{seq}-{i}") for i in range(start, min(n, start + STEP))]
            assert await store.record(job_id, seq, updates, NOW + 1) == len(updates)


async def test_the_header_stays_small_as_a_chunk_fills(logged):
    store, client, table, _, _ = logged
    sizes = {}
    for seq, n in enumerate((20, 120)):
        await work(store, "J1", seq, n)
        sizes[n] = await header_size(client, table, "J1", seq)
        assert await store.open_count("J1", seq) == 0
        got = await store.get_chunk("J1", seq)
        assert [r.outcome for r in got.recipients] == [Outcome.DELIVERED] * n
        assert [r.address for r in got.recipients] == [r.address for r in chunk("J1", seq, n).recipients]
    assert max(sizes.values()) < 200, sizes  # counts only, whatever the chunk holds
    counts = await store.counts("J1")
    assert (counts.total, counts.sent, counts.delivered, counts.pending) == (140, 140, 140, 0)


async def test_no_shared_key_above_half_a_partition_at_1000_recipients_a_second(logged):
    store, _, _, log, schemas = logged
    n = 120
    await work(store, "J2", 0, n)
    tally = Model(schemas).tally(read_log(log), {"all": (0.0, float("inf"))})["all"]
    assert not tally.refused, dict(tally.refused)
    by_pattern: dict[str, list[float]] = {}
    for (_, _, partition), load in tally.loads.items():
        by_pattern.setdefault(pattern(partition), []).append(load.wcu)
    for pat, units in by_pattern.items():
        if len(units) >= n / 2:  # a key a recipient: takes one recipient's writes at any rate
            assert max(units) <= 10, (pat, max(units))
            continue
        share = max(units) / n * RATE / PARTITION_WCU
        assert share <= 0.5, f"{pat}: {share:.2f} of a partition's writes at {RATE} recipients/s"
    assert by_pattern.get("r#*#*#*") and len(by_pattern["r#*#*#*"]) == n, "a state item a recipient"
    # Nothing grows with the chunk beyond an identity page (the header used to hold every identity).
    assert tally.largest_item[0] <= PAGE_BYTES + 1_000, tally.largest_item


async def test_renewing_a_chunks_lease_is_one_write_whatever_it_holds(logged):
    """A worker renews its lease every lease/3 s for as long as it works a chunk: one write on the chunk's hold,
    not one a recipient (500 a chunk, 200 writes a second per bulk process, before)."""
    store, _, _, log, _ = logged
    for seq, n in enumerate((10, 120)):
        assert await store.add_chunk(chunk("J3", seq, n))
        assert len(await store.claim("J3", seq, "w1", NOW + 30, NOW)) == n
        before = len(read_log(log))
        assert await store.renew("J3", seq, "w1", NOW + 60) is True
        lines = read_log(log)[before:]
        assert [line["op"] for line in lines] == ["UpdateItem"], lines
