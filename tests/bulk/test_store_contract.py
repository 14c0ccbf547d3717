"""The JobStore and ChunkStore contract, run against every implementation: SQLite in a temporary directory and
DynamoDB on moto (server mode, fresh tables per test). Volumes stay small: moto copies a table on every
transaction, and its rollback restores that copy, so the cases make one transaction at a time."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from runtime.aws import AwsClients
from runtime.settings import Settings
from services.bulk.adapters import dynamodb_store
from services.bulk.adapters.dynamodb_jobs import DynamoJobStore
from services.bulk.adapters.dynamodb_store import DynamoChunkStore
from services.bulk.adapters.sqlite_store import SqliteChunkStore, SqliteJobStore
from services.bulk.domain.model import (
    Audience,
    Channel,
    Chunk,
    Expansion,
    Job,
    JobState,
    Outcome,
    Recipient,
    Retarget,
    Update,
    move,
)

NOW = 1_718_000_000.5


@pytest.fixture(params=["sqlite", "dynamodb"])
async def stores(request, tmp_path):
    aws = None
    if request.param == "sqlite":
        jobs = SqliteJobStore(tmp_path / "BulkJobsTable.sqlite3")
        chunks = SqliteChunkStore(tmp_path / "BulkJobChunksTable.sqlite3")
    else:
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        suffix = uuid.uuid4().hex[:10]
        await dynamodb_store.ensure_tables(await aws.client("dynamodb"), f"jobs-{suffix}", f"chunks-{suffix}")
        jobs = DynamoJobStore(aws, f"jobs-{suffix}")
        chunks = DynamoChunkStore(aws, f"chunks-{suffix}")
    yield jobs, chunks
    await jobs.close()
    await chunks.close()
    if aws is not None:
        await aws.close()


def job(job_id: str, **changes) -> Job:
    made = Job(
        id=job_id,
        channel=Channel.WHATSAPP,
        category="UTILITY",
        content={"template": {"template_name": "order_update", "language": "en_US", "body_parameters": []}},
        audience=Audience("contacts", ("vip",), "", "NOT_OPTED_OUT"),
        originations=("phone-number-id-1",),
        display_name="Diwali",
        creator="operator-1",
        create_time=NOW,
        update_time=NOW,
        binding_rate=80.0,
    )
    return dataclasses.replace(made, **changes)


def chunk(job_id: str, seq: int, n: int, suppressed: dict[int, str] | None = None) -> Chunk:
    suppressed = suppressed or {}
    return Chunk(
        job_id,
        seq,
        [
            Recipient(
                index=i,
                address=f"+9198{seq:03d}{i:05d}",
                contact=f"C{seq}-{i}" if i % 2 else "",
                origination="phone-number-id-1",
                values={"display_name": f"Asha {i}"} if i % 3 == 0 else {},
                outcome=Outcome.SUPPRESSED if i in suppressed else Outcome.PENDING,
                reason=suppressed.get(i, ""),
            )
            for i in range(n)
        ],
    )


# --- jobs -------------------------------------------------------------------------------------------------------


async def test_job_round_trip_keeps_every_field(stores):
    jobs, _ = stores
    made = job("J1", schedule_time=NOW + 60.25, start_time=None, failure_reason="", report_key="")
    await jobs.create(made)
    assert await jobs.get("J1") == made
    assert await jobs.get("J2") is None
    # A retargeting job with tracked links and a form: its audience and both fields come back as written.
    again = job(
        "J3",
        audience=Audience("retarget", chunks=4, retarget=Retarget("J1", ("READ", "LIMITED"), clicked="NO")),
        track_links=True,
        form="forms/01J00000000000000000000000",
    )
    await jobs.create(again)
    assert await jobs.get("J3") == again


async def test_replace_is_compare_and_swap_on_version(stores):
    jobs, _ = stores
    made = job("J1")
    await jobs.create(made)
    running = move(made, "start", NOW + 1)
    assert await jobs.replace(running, made.version)
    stale = move(made, "cancel", NOW + 2)  # decided from the old version
    assert not await jobs.replace(stale, made.version)
    assert (await jobs.get("J1")).state == JobState.RUNNING


async def test_list_is_newest_first_in_pages(stores):
    jobs, _ = stores
    for i in range(5):
        await jobs.create(job(f"J{i}"))
    page = await jobs.list(None, 3)
    assert [j.id for j in page] == ["J4", "J3", "J2"]
    assert [j.id for j in await jobs.list(page[-1].id, 3)] == ["J1", "J0"]


async def test_active_jobs_are_those_with_background_work(stores):
    jobs, _ = stores
    draft, running, done, reported = job("J0"), job("J1"), job("J2"), job("J3")
    for j in (draft, running, done, reported):
        await jobs.create(j)
    await jobs.replace(move(running, "start", NOW), running.version)
    await jobs.replace(move(done, "cancel", NOW), done.version)
    cancelled = move(reported, "cancel", NOW)
    await jobs.replace(dataclasses.replace(cancelled, report_key="r.json", version=cancelled.version + 1), 1)
    assert sorted(j.id for j in await jobs.active()) == ["J1", "J2"]  # J2 still owes its report


# --- chunks -------------------------------------------------------------------------------------------------------


async def test_a_chunk_is_written_and_counted_once(stores):
    _, chunks = stores
    assert await chunks.add_chunk(chunk("J1", 0, 6, {1: "opted_out", 4: "duplicate"}))
    assert not await chunks.add_chunk(chunk("J1", 0, 6, {1: "opted_out"}))  # a repeated expansion
    assert await chunks.add_chunk(chunk("J1", 1, 3))
    got = await chunks.get_chunk("J1", 0)
    assert got == chunk("J1", 0, 6, {1: "opted_out", 4: "duplicate"})
    counts = await chunks.counts("J1")
    assert (counts.total, counts.suppressed, counts.pending) == (9, 2, 7)
    assert counts.audience_suppressed == {"opted_out": 1, "duplicate": 1}
    assert await chunks.get_chunk("J1", 2) is None
    assert await chunks.open_chunks("J1", 2) == [0, 1]
    assert (await chunks.open_count("J1", 0), await chunks.open_count("J1", 1)) == (4, 3)
    assert await chunks.open_count("J1", 2) is None


async def test_claims_are_exclusive_until_their_lease_runs_out(stores):
    _, chunks = stores
    await chunks.add_chunk(chunk("J1", 0, 4, {3: "opted_out"}))
    mine = await chunks.claim("J1", 0, "worker-a", NOW + 30, NOW)
    assert [r.index for r in mine] == [0, 1, 2] and all(r.owner == "worker-a" for r in mine)
    assert await chunks.claim("J1", 0, "worker-b", NOW + 40, NOW + 10) == []  # a duplicate delivery
    assert await chunks.renew("J1", 0, "worker-a", NOW + 60) is True
    assert await chunks.claim("J1", 0, "worker-b", NOW + 70, NOW + 45) == []  # renewed: still a's
    taken = await chunks.claim("J1", 0, "worker-b", NOW + 100, NOW + 61)  # a died: its lease ran out
    assert [r.index for r in taken] == [0, 1, 2] and all(r.owner == "worker-b" for r in taken)
    assert await chunks.renew("J1", 0, "worker-a", NOW + 200) is False  # a, back from a pause, is fenced off
    assert await chunks.release("J1", 0, "worker-a", [0, 1, 2]) == 0
    assert await chunks.claim("J1", 0, "worker-c", NOW + 130, NOW + 99) == []  # a's release left b's hold alone
    assert [r.outcome for r in (await chunks.get_chunk("J1", 0)).recipients][:3] == [Outcome.CLAIMED] * 3


async def test_the_hold_is_the_chunks_whatever_its_size(stores):
    """Renewing a chunk's lease is one write whatever it holds: the hold, not each recipient, carries the lease."""
    _, chunks = stores
    await chunks.add_chunk(chunk("J1", 0, 300))
    assert len(await chunks.claim("J1", 0, "worker-a", NOW + 30, NOW)) == 300
    for t in range(1, 5):  # renewed every lease/3 for longer than the first lease
        assert await chunks.renew("J1", 0, "worker-a", NOW + 30 + 10 * t) is True
    assert await chunks.claim("J1", 0, "worker-b", NOW + 100, NOW + 65) == []  # renewed to NOW + 70
    assert len(await chunks.claim("J1", 0, "worker-b", NOW + 100, NOW + 71)) == 300


async def test_release_returns_only_the_owners_claims(stores):
    _, chunks = stores
    await chunks.add_chunk(chunk("J1", 0, 3))
    await chunks.claim("J1", 0, "worker-a", NOW + 30, NOW)
    assert await chunks.release("J1", 0, "worker-b", [0, 1]) == 0
    assert await chunks.claim("J1", 0, "worker-b", NOW + 30, NOW + 1) == []  # b's release gave up no hold of a's
    assert await chunks.release("J1", 0, "worker-a", [0, 1]) == 2
    states = [r.outcome for r in (await chunks.get_chunk("J1", 0)).recipients]
    assert states == [Outcome.PENDING, Outcome.PENDING, Outcome.CLAIMED]
    # a gave up the chunk with the release: the next delivery is claimed at once, the one a kept included
    again = await chunks.claim("J1", 0, "worker-b", NOW + 30, NOW + 1)
    assert [r.index for r in again] == [0, 1, 2]


async def test_outcomes_move_forward_only_and_counts_follow(stores):
    _, chunks = stores
    await chunks.add_chunk(chunk("J1", 0, 5, {4: "opted_out"}))
    await chunks.claim("J1", 0, "worker-a", NOW + 30, NOW)
    applied = await chunks.record(
        "J1",
        0,
        [
            Update(0, Outcome.SENT, "messages/M0", "wamid.0"),
            Update(1, Outcome.FAILED, "messages/M1", "", "131026", "undeliverable"),
            Update(2, Outcome.UNKNOWN, "messages/M2"),
            Update(4, Outcome.SENT, "messages/M4"),  # suppressed is terminal
        ],
        NOW + 1,
    )
    assert applied == 3
    counts = await chunks.counts("J1")
    assert (counts.sent, counts.failed, counts.unknown, counts.suppressed, counts.pending) == (1, 1, 1, 1, 1)
    # Later statuses: delivered then read; a repeat and an older one change nothing; unknown becomes sent.
    assert await chunks.record("J1", 0, [Update(0, Outcome.DELIVERED), Update(2, Outcome.SENT, "", "w2")], NOW + 2) == 2
    assert await chunks.record("J1", 0, [Update(0, Outcome.READ), Update(0, Outcome.DELIVERED)], NOW + 3) == 1
    assert await chunks.record("J1", 0, [Update(0, Outcome.SENT), Update(0, Outcome.FAILED)], NOW + 4) == 0
    assert await chunks.record("J1", 0, [Update(1, Outcome.SENT)], NOW + 5) == 0  # failed is terminal
    counts = await chunks.counts("J1")
    assert (counts.sent, counts.delivered, counts.read, counts.unknown, counts.failed) == (2, 1, 1, 0, 1)
    got = {r.index: r for r in (await chunks.get_chunk("J1", 0)).recipients}
    assert (got[0].outcome, got[0].message, got[0].provider_id) == (Outcome.READ, "messages/M0", "wamid.0")
    assert (got[1].error_code, got[1].reason, got[1].owner) == ("131026", "undeliverable", "")
    assert (got[2].outcome, got[2].provider_id) == (Outcome.SENT, "w2")
    assert await chunks.open_chunks("J1", 1) == [0]  # recipient 3 is still claimed
    assert await chunks.open_count("J1", 0) == 1
    await chunks.record("J1", 0, [Update(3, Outcome.SUPPRESSED, reason="cancelled")], NOW + 6)
    assert await chunks.open_chunks("J1", 1) == []
    assert await chunks.open_count("J1", 0) == 0
    assert (await chunks.counts("J1")).pending == 0


async def test_a_late_failure_after_delivery_moves_the_count(stores):
    _, chunks = stores
    await chunks.add_chunk(chunk("J1", 0, 1))
    await chunks.record("J1", 0, [Update(0, Outcome.DELIVERED, "messages/M0", "w0")], NOW)
    await chunks.record("J1", 0, [Update(0, Outcome.FAILED, error_code="131047")], NOW + 1)
    counts = await chunks.counts("J1")
    assert (counts.sent, counts.delivered, counts.failed) == (0, 0, 1)


async def test_a_sent_recipient_whose_message_was_withdrawn_is_reopened_once_and_counts_follow(stores):
    """Meta refused a send its template paused (132015) and messaging withdrew it: before the resume the recipient
    recorded sent goes back to PENDING (open again, not counted sent), once; nothing else moves back."""
    _, chunks = stores
    await chunks.add_chunk(chunk("J1", 0, 4))
    await chunks.claim("J1", 0, "worker-a", NOW + 30, NOW)
    await chunks.record(
        "J1",
        0,
        [
            Update(0, Outcome.SENT, "messages/M0", "w0"),
            Update(1, Outcome.SENT, "messages/M1", "w1"),
            Update(2, Outcome.DELIVERED, "messages/M2", "w2"),
            Update(3, Outcome.FAILED, "messages/M3", "", "132016"),
        ],
        NOW + 1,
    )
    assert await chunks.open_chunks("J1", 1) == []
    back = [Update(i, Outcome.PENDING, reason="withdrawn: template paused") for i in (0, 2, 3)]
    assert await chunks.record("J1", 0, back, NOW + 2) == 1  # only the sent one (delivered, failed stay)
    assert await chunks.record("J1", 0, back[:1], NOW + 3) == 0  # once
    counts = await chunks.counts("J1")
    assert (counts.sent, counts.delivered, counts.failed, counts.pending) == (2, 1, 1, 1)
    assert await chunks.open_chunks("J1", 1) == [0] and await chunks.open_count("J1", 0) == 1
    assert await chunks.release("J1", 0, "worker-a", []) == 0  # a's worker is done with the chunk
    [again] = await chunks.claim("J1", 0, "worker-b", NOW + 40, NOW + 4)  # the resumed job claims it again
    assert again.index == 0
    await chunks.record("J1", 0, [Update(0, Outcome.SENT, "messages/M9", "w9")], NOW + 5)
    counts = await chunks.counts("J1")
    assert (counts.sent, counts.pending) == (3, 0) and await chunks.open_count("J1", 0) == 0
    got = (await chunks.get_chunk("J1", 0)).recipients[0]
    assert (got.outcome, got.message, got.provider_id) == (Outcome.SENT, "messages/M9", "w9")


async def test_expansion_lease_and_progress(stores):
    _, chunks = stores
    assert await chunks.expansion("J1") == Expansion()
    taken = await chunks.take_expansion("J1", "x-a", NOW + 30, NOW)
    assert taken is not None and (taken.owner, taken.next_seq, taken.done) == ("x-a", 0, False)
    assert await chunks.take_expansion("J1", "x-b", NOW + 40, NOW + 10) is None
    assert await chunks.save_expansion("J1", "x-a", Expansion("page-2", 4, False, "x-a", NOW + 60))
    assert not await chunks.save_expansion("J1", "x-b", Expansion("page-9", 9, True, "x-b", NOW + 60))
    again = await chunks.take_expansion("J1", "x-b", NOW + 100, NOW + 61)  # a's lease ran out
    assert again is not None and (again.cursor, again.next_seq) == ("page-2", 4)
    assert await chunks.save_expansion("J1", "x-b", Expansion("", 6, True, "", 0.0))
    assert await chunks.take_expansion("J1", "x-c", NOW + 200, NOW + 150) is None  # done: nothing to take
    assert (await chunks.expansion("J1")).done
