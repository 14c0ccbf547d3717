"""The inbox change feed (EventFeedStore: commit_event, changes_after, last_change_seq): an SNS message is marked
once together with its changes, a change key appears once, the feed is read in commit order, and a second
store on the same data (another messaging process) sees every change. Run on SQLite and on DynamoDB (moto)."""

from __future__ import annotations

import uuid

import pytest

from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters import dynamodb_store, sqlite_store
from services.messaging.domain.inbound import Change, ChangeKind

NOW = 1_795_000_000.0


@pytest.fixture(params=["sqlite", "dynamodb"])
async def two_stores(request, tmp_path):
    """Two stores on one table, as two messaging processes have them."""
    aws = None
    if request.param == "sqlite":
        first = sqlite_store.open_inbound(tmp_path / "in.sqlite3")
        second = sqlite_store.open_inbound(tmp_path / "in.sqlite3")
    else:
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        table = f"in-{uuid.uuid4().hex[:10]}"
        await dynamodb_store.ensure_inbound_table(await aws.client("dynamodb"), table)
        first, second = dynamodb_store.open_inbound(aws, table), dynamodb_store.open_inbound(aws, table)
    yield first.feed, second.feed
    await first.close()
    await second.close()
    if aws is not None:
        await aws.close()


def change(key: str, kind: str = ChangeKind.MESSAGE_RECEIVED, at: float = NOW) -> Change:
    return Change(key, kind, "whatsapp-919812345678", at, {"id": key, "n": 1})


async def test_an_event_is_committed_once_with_its_changes(two_stores):
    store, _ = two_stores
    assert await store.last_change_seq() == 0
    assert await store.commit_event("sns-1", [change("a"), change("b")], NOW)
    assert await store.event_seen("sns-1")
    assert not await store.commit_event("sns-1", [change("c")], NOW)  # marked before: nothing appended
    assert await store.commit_event("sns-2", [change("a"), change("d", ChangeKind.VOICE_CALL)], NOW)
    got = await store.changes_after(0, 100)
    assert [c.key for c in got] == ["a", "b", "d"]  # `a` once
    assert [c.seq for c in got] == sorted(c.seq for c in got)
    assert got[2].kind == ChangeKind.VOICE_CALL
    assert got[0].record == {"id": "a", "n": 1}
    assert (got[0].conversation_id, got[0].time) == ("whatsapp-919812345678", NOW)
    assert await store.last_change_seq() == got[-1].seq
    assert [c.key for c in await store.changes_after(got[0].seq, 100)] == ["b", "d"]
    assert [c.key for c in await store.changes_after(0, 1)] == ["a"]


async def test_an_event_without_changes_is_still_marked(two_stores):
    store, _ = two_stores
    assert await store.commit_event("sns-empty", [], NOW)
    assert await store.event_seen("sns-empty")
    assert await store.changes_after(0, 10) == []


async def test_another_process_sees_every_change_in_order(two_stores):
    first, second = two_stores
    start = await second.last_change_seq()
    for i in range(5):
        writer = first if i % 2 else second
        assert await writer.commit_event(f"sns-{i}", [change(f"k{i}")], NOW)
    seen = await second.changes_after(start, 100)
    assert [c.key for c in seen] == [f"k{i}" for i in range(5)]
    assert [c.key for c in await first.changes_after(start, 100)] == [c.key for c in seen]


async def test_old_changes_are_dropped_and_seq_never_goes_back(two_stores, request):
    if "dynamodb" in request.node.callspec.id:
        pytest.skip("DynamoDB drops old changes by its TTL on `ttl` (the table definition, tests/deploy)")
    store, _ = two_stores
    # Written two days ago, then 1,000 more now: the trim that runs every 1,000th change drops the old ones.
    assert await store.commit_event("old", [change("old")], NOW - 2 * 86_400)
    for i in range(0, 1000, 50):
        assert await store.commit_event(f"sns-{i}", [change(f"k{j}") for j in range(i, i + 50)], NOW)
    keys = [c.key for c in await store.changes_after(0, 2000)]
    assert "old" not in keys and len(keys) >= 999
    last = await store.last_change_seq()
    assert await store.commit_event("after", [change("after")], NOW)
    [after] = await store.changes_after(last, 10)
    assert after.seq > last
