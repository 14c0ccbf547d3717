"""The inbox change feed (EventFeedStore: seen_events, commit_events, reader): an event's changes are appended and
the event marked in one commit; a reader sees every change committed after it started, at least once, each
conversation's in commit order, whichever process (store) wrote it. Run on SQLite and on DynamoDB (moto).

DynamoDB's feed has no global order (docs/DESIGN.md "Inbound events"): its shards, its numbers allocated by an
atomic counter, a reader's wait for a number not written yet and a slow writer's second append are tested
here too, with a clock of the test's own."""

from __future__ import annotations

import uuid

import pytest

from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters import dynamodb_store, sqlite_store
from services.messaging.adapters.dynamodb_store.feed import (
    FEED_SHARDS,
    GAP_SECONDS,
    REAPPEND_SECONDS,
    DynamoEventFeedStore,
    feed_shard,
    head_key,
)
from services.messaging.adapters.dynamodb_store.inbound_table import InboundTable
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


def change(key: str, conversation: str = "whatsapp-919812345678", at: float = NOW) -> Change:
    return Change(key, ChangeKind.MESSAGE_RECEIVED, conversation, at, {"id": key, "n": 1})


async def read_all(reader, limit: int = 500) -> list[Change]:
    out = []
    while batch := await reader.read(limit):
        out += batch
    return out


async def test_events_are_marked_with_their_changes(two_stores):
    store, _ = two_stores
    reader = store.reader()
    await reader.start()
    assert await reader.read(10) == []
    await store.commit_events([("sns-1", [change("a"), change("b")]), ("sns-2", [change("d")])], NOW)
    await store.commit_events([("sns-empty", [])], NOW)  # an event without changes is still marked
    assert await store.seen_events(["sns-1", "sns-2", "sns-empty", "sns-3"]) == {"sns-1", "sns-2", "sns-empty"}
    assert await store.seen_events([]) == set()
    got = await read_all(reader)
    assert [c.key for c in got] == ["a", "b", "d"]  # one conversation: in commit order
    assert got[0].record == {"id": "a", "n": 1}
    assert (got[0].conversation_id, got[0].time, got[0].kind) == ("whatsapp-919812345678", NOW, "MESSAGE_RECEIVED")
    assert await reader.read(10) == []


async def test_a_reader_starts_at_the_end(two_stores):
    store, _ = two_stores
    await store.commit_events([("before", [change("old")])], NOW)
    reader = store.reader()
    await reader.start()
    await store.commit_events([("after", [change("new")])], NOW)
    assert [c.key for c in await read_all(reader)] == ["new"]


async def test_another_process_sees_every_change_in_each_conversations_order(two_stores):
    first, second = two_stores
    reader = second.reader()
    await reader.start()
    conversations = [f"whatsapp-9198{n:08d}" for n in range(12)]
    committed: dict[str, list[str]] = {c: [] for c in conversations}
    for i in range(36):
        writer = first if i % 2 else second
        conversation = conversations[i % len(conversations)]
        await writer.commit_events([(f"sns-{i}", [change(f"k{i}", conversation)])], NOW + i)
        committed[conversation].append(f"k{i}")
    got = await read_all(reader, limit=5)  # small reads: a reader stops and goes on mid-shard
    assert sorted(c.key for c in got) == sorted(f"k{i}" for i in range(36))
    for conversation, keys in committed.items():
        assert [c.key for c in got if c.conversation_id == conversation] == keys
    other = first.reader()
    await other.start()
    assert await read_all(other) == []


async def test_a_repeated_change_is_read_at_least_once(two_stores):
    store, _ = two_stores
    reader = store.reader()
    await reader.start()
    await store.commit_events([("sns-1", [change("a")])], NOW)
    await store.commit_events([("sns-1-again", [change("a"), change("b")])], NOW)  # a redelivery after a crash
    keys = [c.key for c in await read_all(reader)]
    assert set(keys) == {"a", "b"} and keys.index("a") < keys.index("b")


async def test_old_changes_are_dropped_and_a_reader_goes_on(two_stores, request):
    if "dynamodb" in request.node.callspec.id:
        pytest.skip("DynamoDB drops old changes by its TTL on `ttl` (the table definition, tests/deploy)")
    store, _ = two_stores
    # Written two days ago, then 1,000 more now: the trim that runs every 1,000th change drops the old ones.
    await store.commit_events([("old", [change("old")])], NOW - 2 * 86_400)
    reader = store.reader()
    await reader.start()
    for i in range(0, 1000, 50):
        await store.commit_events([(f"sns-{i}", [change(f"k{j}") for j in range(i, i + 50)])], NOW)
    assert len(await read_all(reader)) == 1000
    fresh = store.reader()
    await fresh.start()
    await store.commit_events([("after", [change("after")])], NOW)
    assert [c.key for c in await read_all(fresh)] == ["after"]


# --- DynamoDB: shards, numbers, gaps ------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def dynamo_feed(moto_endpoint):
    aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint))
    name = f"in-{uuid.uuid4().hex[:10]}"
    client = await aws.client("dynamodb")
    await dynamodb_store.ensure_inbound_table(client, name)
    clock = Clock()
    yield DynamoEventFeedStore(InboundTable(aws, name), clock), client, name, clock
    await aws.close()


def on_shard(shard: int, n: int = 1) -> list[str]:
    """Conversations whose changes go to `shard`."""
    found = []
    i = 0
    while len(found) < n:
        conversation = f"whatsapp-9190{i:08d}"
        if feed_shard(conversation) == shard:
            found.append(conversation)
        i += 1
    return found


async def test_changes_spread_over_the_shards_by_conversation(dynamo_feed):
    store, client, name, _ = dynamo_feed
    conversations = [f"whatsapp-9198{n:08d}" for n in range(200)]
    await store.commit_events([(f"sns-{n}", [change(f"k{n}", c)]) for n, c in enumerate(conversations)], NOW)
    heads = []
    for shard in range(FEED_SHARDS):
        item = (await client.get_item(TableName=name, Key=head_key(shard), ConsistentRead=True))["Item"]
        heads.append(int(item["seq"]["N"]))
    assert sum(heads) == 200
    assert max(heads) <= 12  # 200 conversations over 64 shards: ~3 a shard, none takes them all
    expected = [0] * FEED_SHARDS
    for c in conversations:
        expected[feed_shard(c)] += 1
    assert heads == expected


async def test_a_reader_waits_for_a_number_not_written_yet_then_goes_on(dynamo_feed):
    store, client, name, clock = dynamo_feed
    [conversation] = on_shard(5)
    reader = store.reader()
    await reader.start()
    # A writer took number 1 of shard 5 and has not written it (yet): number 2 is there.
    await client.update_item(
        TableName=name,
        Key=head_key(5),
        UpdateExpression="ADD seq :k",
        ExpressionAttributeValues={":k": {"N": "1"}},
    )
    await store.commit_events([("sns-2", [change("second", conversation)])], NOW)
    assert await reader.read(10) == []  # number 1 first: order within the shard holds
    clock.now += GAP_SECONDS - 0.1
    assert await reader.read(10) == []
    clock.now += 0.2
    assert [c.key for c in await reader.read(10)] == ["second"]  # waited long enough: passed over
    await store.commit_events([("sns-3", [change("third", conversation)])], NOW)
    assert [c.key for c in await reader.read(10)] == ["third"]


async def test_a_number_at_the_head_never_written_is_passed_over(dynamo_feed):
    store, client, name, clock = dynamo_feed
    [conversation] = on_shard(9)
    reader = store.reader()
    await reader.start()
    await client.update_item(  # taken by a writer that then crashed: the head, and nothing under it
        TableName=name,
        Key=head_key(9),
        UpdateExpression="ADD seq :k",
        ExpressionAttributeValues={":k": {"N": "2"}},
    )
    assert await reader.read(10) == []
    clock.now += GAP_SECONDS
    assert await reader.read(10) == []
    await store.commit_events([("sns", [change("after", conversation)])], NOW)  # the redelivered event
    assert [c.key for c in await reader.read(10)] == ["after"]


async def test_a_slow_writer_appends_again(dynamo_feed, monkeypatch):
    store, client, name, clock = dynamo_feed
    [conversation] = on_shard(3)
    reader = store.reader()
    await reader.start()
    table = store._t
    real_db = table.db

    class Slow:
        """The client, but the first BatchWriteItem returns REAPPEND_SECONDS late (by the test's clock)."""

        def __init__(self, inner):
            self._inner = inner
            self.slowed = False

        def __getattr__(self, name):
            return getattr(self._inner, name)

        async def batch_write_item(self, **kwargs):
            reply = await self._inner.batch_write_item(**kwargs)
            if not self.slowed:
                self.slowed = True
                clock.now += REAPPEND_SECONDS
            return reply

    slow = Slow(await real_db())

    async def slow_db():
        return slow

    monkeypatch.setattr(table, "db", slow_db)
    await store.commit_events([("sns-slow", [change("slow", conversation)])], NOW)
    head = (await client.get_item(TableName=name, Key=head_key(3), ConsistentRead=True))["Item"]
    assert head["seq"]["N"] == "2"  # appended twice: numbers 1 and 2
    keys = [c.key for c in await reader.read(10)]
    assert keys == ["slow", "slow"]  # both copies here; the inbox's poller passes on the first only
