"""The DocsStore contract, run against both implementations: SQLite in a temporary directory and DynamoDB on
moto (server mode, a fresh table per test). Documents with their revision counter, and sessions: per owner,
newest first, capped (the oldest forgotten), expired ones invisible and purged."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from runtime import ids
from runtime.aws import AwsClients
from runtime.errors import Aborted, AlreadyExists, NotFound
from runtime.settings import Settings
from services.ai.adapters import dynamodb_store
from services.ai.adapters.dynamodb_store import DynamoDocsStore
from services.ai.adapters.sqlite_store import SqliteDocsStore
from services.ai.domain import documents, sessions
from services.ai.domain.answers import Citation
from services.ai.domain.documents import ContentType, DocumentInput
from services.ai.domain.sessions import Speaker, Turn

NOW = 1_718_000_000.25
DAY = 24 * 3600.0


@pytest.fixture(params=["sqlite", "dynamodb"])
async def store(request, tmp_path):
    aws = None
    if request.param == "sqlite":
        made = SqliteDocsStore(tmp_path / "docs.sqlite3")
    else:
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        table = f"docs-{uuid.uuid4().hex[:12]}"
        await dynamodb_store.ensure_table(await aws.client("dynamodb"), table)
        made = DynamoDocsStore(aws, table)
    yield made
    await made.close()
    if aws is not None:
        await aws.close()


def document(n: int, text: str = "Some text."):
    content = f"# Doc {n}\n\n{text}\n\n## Part two\n\nMore text {n}."
    return documents.new_document(ids.new_id(), DocumentInput("", content, ContentType.MARKDOWN), NOW + n, "admin")


def session(owner: str, created: float, ttl: float = 30 * DAY):
    started = sessions.start(ids.new_id(int(created * 1000)), owner, "What does Basic cost?", created, ttl)
    turns = (
        Turn(Speaker.USER, "What does Basic cost?", created),
        Turn(
            Speaker.ASSISTANT,
            "₹499 per month.",
            created,
            citations=(Citation("documents/x", "Plans", "p1", "Basic", "q"),),
        ),
    )
    return sessions.record(started, turns, created, ttl)


async def test_documents_round_trip_and_revision_moves_with_every_write(store):
    start = await store.revision()
    first, second = document(1), document(2)
    await store.create_document(first)
    await store.create_document(second)
    assert await store.get_document(first.id) == first
    assert await store.get_document(ids.new_id()) is None
    with pytest.raises(AlreadyExists):
        await store.create_document(first)
    assert await store.revision() == start + 2

    listed = await store.list_documents(None, 10)
    assert listed == [first, second]
    basic = await store.list_documents(None, 10, with_content=False)
    assert [(d.id, d.title, d.content, d.passages) for d in basic] == [
        (first.id, "Doc 1", "", ()),
        (second.id, "Doc 2", "", ()),
    ]
    assert await store.list_documents(first.id, 10) == [second]
    assert await store.list_documents(None, 1) == [first]
    assert await store.all_documents() == [first, second]

    changed = documents.apply_update(first, DocumentInput(content="# Doc 1\n\nChanged."), ("content",), "", NOW + 5)
    await store.replace_document(changed, first.version)
    assert await store.get_document(first.id) == changed
    with pytest.raises(Aborted):
        await store.replace_document(dataclasses.replace(changed, version=changed.version + 1), first.version)
    with pytest.raises(NotFound):
        await store.replace_document(document(9), 1)
    assert await store.revision() == start + 3

    with pytest.raises(Aborted):
        await store.delete_document(first.id, expected_version=first.version)
    assert await store.get_document(first.id) == changed  # the refused delete changed nothing
    assert await store.delete_document(first.id, expected_version=changed.version) == changed
    assert await store.delete_document(first.id) is None
    assert await store.all_documents() == [second]
    assert await store.revision() == start + 4


async def test_sessions_belong_to_their_owner_newest_first(store):
    mine = [session("alice", NOW + i) for i in range(3)]
    for s in mine:
        assert await store.create_session(s, keep=20) == []
    theirs = session("bob", NOW + 10)
    await store.create_session(theirs, keep=20)

    assert await store.get_session("alice", mine[0].id, NOW + 20) == mine[0]
    assert await store.get_session("bob", mine[0].id, NOW + 20) is None  # not bob's
    assert [s.id for s in await store.list_sessions("alice", NOW + 20, None, 10)] == [s.id for s in reversed(mine)]
    assert [s.id for s in await store.list_sessions("alice", NOW + 20, mine[2].id, 1)] == [mine[1].id]
    assert [s.id for s in await store.list_sessions("bob", NOW + 20, None, 10)] == [theirs.id]

    grown = sessions.record(mine[0], (Turn(Speaker.USER, "And Family?", NOW + 30),), NOW + 30)
    await store.replace_session(grown, mine[0].version)
    assert await store.get_session("alice", mine[0].id, NOW + 31) == grown
    with pytest.raises(Aborted):
        await store.replace_session(sessions.record(mine[0], (), NOW + 40), mine[0].version)
    with pytest.raises(NotFound):
        await store.replace_session(session("alice", NOW + 50), 1)

    assert await store.delete_session("bob", mine[1].id) is False  # bob cannot delete alice's
    assert await store.delete_session("alice", mine[1].id) is True
    assert await store.get_session("alice", mine[1].id, NOW + 60) is None


async def test_the_21st_session_forgets_the_oldest(store):
    made = [session("carol", NOW + i) for i in range(21)]
    dropped = []
    for s in made:
        dropped += await store.create_session(s, keep=20)
    assert dropped == [made[0].id]
    live = await store.list_sessions("carol", NOW + 100, None, 50)
    assert [s.id for s in live] == [s.id for s in reversed(made[1:])]
    assert await store.get_session("carol", made[0].id, NOW + 100) is None


async def test_expired_sessions_are_invisible_and_purged(store):
    old = session("dave", NOW, ttl=DAY)
    fresh = session("dave", NOW + 1, ttl=30 * DAY)
    await store.create_session(old, keep=20)
    await store.create_session(fresh, keep=20)
    later = NOW + 2 * DAY
    assert await store.get_session("dave", old.id, later) is None
    assert [s.id for s in await store.list_sessions("dave", later, None, 10)] == [fresh.id]
    # The next session started after the expiry removes the expired one for good.
    newer = session("dave", later)
    assert await store.create_session(newer, keep=20) == [old.id]
    assert await store.get_session("dave", old.id, NOW) is None


async def test_passage_vectors_are_kept_by_encoder_key_and_passage_id(store):
    start = await store.revision()
    await store.put_passage_vectors("model-a", {"p1": b"\x00\x01" * 384, "p2": b"\x02" * 10})
    await store.put_passage_vectors("model-b", {"p1": b"other"})
    assert await store.passage_vectors("model-a", ["p1", "p2", "p3"]) == {"p1": b"\x00\x01" * 384, "p2": b"\x02" * 10}
    assert await store.passage_vectors("model-b", ["p1", "p2"]) == {"p1": b"other"}
    assert await store.passage_vectors("model-a", []) == {}
    assert await store.passage_vector_ids("model-a") == ["p1", "p2"]

    await store.put_passage_vectors("model-a", {"p2": b"new"})  # overwritten
    await store.delete_passage_vectors("model-a", ["p1", "p9"])  # an id with none is ignored
    assert await store.passage_vectors("model-a", ["p1", "p2"]) == {"p2": b"new"}
    assert await store.passage_vector_ids("model-a") == ["p2"]
    assert await store.passage_vector_ids("model-b") == ["p1"]
    assert await store.revision() == start  # derived data: the documents' revision does not move


async def test_many_passage_vectors_go_in_and_out_in_batches(store):
    vectors = {f"p{i:04d}": i.to_bytes(2, "big") * 768 for i in range(620)}  # past one batch of each kind
    await store.put_passage_vectors("model", vectors)
    assert await store.passage_vectors("model", list(vectors)) == vectors
    assert await store.passage_vector_ids("model") == sorted(vectors)
    await store.delete_passage_vectors("model", list(vectors)[:600])
    assert await store.passage_vector_ids("model") == sorted(vectors)[600:]
