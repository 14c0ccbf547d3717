"""The AuditStore contract, run against every implementation: SQLite in a temporary directory and DynamoDB on
moto (server mode, a fresh table per test). Each listing is checked against the same filter applied in Python
to the entries the test appended."""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest

from runtime import dynamo, ids
from runtime.audit import dynamodb_store
from runtime.audit.dynamodb_store import DynamoAuditStore
from runtime.audit.model import AuditEntry, AuditQuery, Rewritten
from runtime.audit.sqlite_store import SqliteAuditStore
from runtime.aws import AwsClients
from runtime.settings import Settings

DAY = 86400.0
BASE = 1_718_000_000.0  # 2024-06-10T06:13:20Z


@pytest.fixture(params=["sqlite", "dynamodb"])
async def store(request, tmp_path):
    aws = None
    if request.param == "sqlite":
        made = SqliteAuditStore(tmp_path / "audit.sqlite3")
    else:
        # moto only when a DynamoDB case runs: `-k sqlite` needs no server.
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        table = f"audit-{uuid.uuid4().hex[:12]}"
        await dynamodb_store.ensure_table(await aws.client("dynamodb"), table)
        made = DynamoAuditStore(aws, table)
    yield made
    await made.close()
    if aws is not None:
        await aws.close()


def id_at(at: float) -> str:
    """An id as new_id makes it at that time (new_id itself never goes back in time: it is monotonic)."""
    return ids.first_id_at(int(at * 1000))[:10] + uuid.uuid4().hex[:16].upper()


def entry(at: float, actor: str, resource: str, method: str = "/wecare.contacts.v1.ContactsService/UpdateContact"):
    """An entry as the audit interceptor makes it: its id taken at its time."""
    return AuditEntry(
        id=id_at(at),
        time=at,
        actor=actor,
        actor_roles=("operator",),
        method=method,
        resource=resource,
        outcome="OK",
        trace_id=uuid.uuid4().hex,
        before={"version": 1},
        after={"version": 2},
    )


# Three days around BASE, one entry a year earlier, and two entries in the same second.
TIMES_AND_WHO = [
    (BASE - 400 * DAY, "u1", "contacts/A"),
    (BASE - 2 * DAY + 10, "u1", "contacts/A"),
    (BASE - 2 * DAY + 20, "u2", "contacts/B"),
    (BASE - 1 * DAY - 5, "service:bulk", "contacts"),
    (BASE - 1 * DAY, "u1", "contacts/B"),
    (BASE - 1 * DAY + 0.25, "u2", "contacts/A"),
    (BASE - 3600, "u1", "contacts/A"),
    (BASE - 60, "service:bulk", "contacts"),
    (BASE, "u2", "contacts/A"),
    (BASE + 0.5, "u1", "contacts/B"),
    (BASE + 0.75, "u1", "contacts/A"),
    (BASE + 120, "service:bulk", "contacts/A"),
    (BASE + 1 * DAY, "u2", "contacts/B"),
    (BASE + 1 * DAY + 30, "u1", "contacts/A"),
]


@pytest.fixture
async def appended(store) -> list[AuditEntry]:
    entries = [entry(at, actor, resource) for at, actor, resource in TIMES_AND_WHO]
    for e in entries:
        await store.append(e)
    return entries


def expected(entries: list[AuditEntry], query: AuditQuery, before_id: str | None = None) -> list[AuditEntry]:
    def matches(e: AuditEntry) -> bool:
        return (
            (not query.actor or e.actor == query.actor)
            and (not query.resource or e.resource == query.resource)
            and (query.start_time is None or e.time >= query.start_time)
            and (query.end_time is None or e.time < query.end_time)
            and (before_id is None or e.id < before_id)
        )

    return sorted((e for e in entries if matches(e)), key=lambda e: e.id, reverse=True)


async def all_pages(store, query: AuditQuery, size: int) -> list[list[AuditEntry]]:
    pages, before = [], None
    while True:
        page = await store.list(query, before, size)
        assert len(page) <= size
        if not page:
            return pages
        pages.append(page)
        before = page[-1].id


async def test_append_then_list_gives_back_every_field(store):
    made = AuditEntry(
        id=id_at(BASE),
        time=BASE + 0.123456,
        actor="user-1",
        actor_roles=("admin", "operator"),
        method="/wecare.contacts.v1.ContactsService/DeleteContact",
        resource="contacts/01J0000000000000000000000A",
        outcome="PERMISSION_DENIED",
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        before={"version": 3, "ratio": 0.1, "tags": ["vip", "é"], "nested": {"ok": True, "none": None}},
        after=None,
    )
    await store.append(made)
    assert await store.list(AuditQuery(), None, 10) == [made]


async def test_list_is_newest_first_and_pages_before_an_id(store, appended):
    everything = expected(appended, AuditQuery())
    assert len(everything) == len(TIMES_AND_WHO)
    assert await store.list(AuditQuery(), None, 100) == everything
    assert await store.list(AuditQuery(), None, 4) == everything[:4]
    pages = await all_pages(store, AuditQuery(), 4)
    assert [len(p) for p in pages] == [4, 4, 4, 2]
    assert [e for p in pages for e in p] == everything
    assert await store.list(AuditQuery(), everything[-1].id, 10) == []


QUERIES = {
    "actor": AuditQuery(actor="u1"),
    "service actor": AuditQuery(actor="service:bulk"),
    "resource": AuditQuery(resource="contacts/A"),
    "start": AuditQuery(start_time=BASE),
    "end": AuditQuery(end_time=BASE),
    "day": AuditQuery(start_time=BASE - DAY, end_time=BASE),
    "actor and resource": AuditQuery(actor="u1", resource="contacts/A"),
    "actor and range": AuditQuery(actor="u1", start_time=BASE - 2 * DAY, end_time=BASE + 0.75),
    "resource and end": AuditQuery(resource="contacts/B", end_time=BASE + DAY),
    "everything": AuditQuery(actor="u2", resource="contacts/A", start_time=BASE - 2 * DAY, end_time=BASE + 0.5),
    "nobody": AuditQuery(actor="u9"),
    "empty range": AuditQuery(start_time=BASE + 10, end_time=BASE + 20),
    "a year ago": AuditQuery(end_time=BASE - 300 * DAY),
}


@pytest.mark.parametrize("name", list(QUERIES))
async def test_filters_and_their_combinations(store, appended, name):
    query = QUERIES[name]
    want = expected(appended, query)
    assert await store.list(query, None, 100) == want
    pages = await all_pages(store, query, 2)
    assert [e for p in pages for e in p] == want
    if want:
        assert await store.list(query, want[0].id, 100) == want[1:]


async def test_time_bounds_are_start_inclusive_end_exclusive(store, appended):
    at_base = [e for e in appended if e.time == BASE]
    assert await store.list(AuditQuery(start_time=BASE, end_time=BASE + 0.5), None, 10) == at_base
    assert await store.list(AuditQuery(start_time=BASE + 0.001, end_time=BASE + 0.5), None, 10) == []
    assert await store.list(AuditQuery(start_time=BASE - 1, end_time=BASE), None, 10) == []


async def test_limit_of_one_and_zero(store, appended):
    newest = expected(appended, AuditQuery())[0]
    assert await store.list(AuditQuery(), None, 1) == [newest]
    assert await store.list(AuditQuery(actor="u1"), None, 1) == expected(appended, AuditQuery(actor="u1"))[:1]
    assert await store.list(AuditQuery(), None, 0) == []


async def test_the_log_is_append_only(store):
    """An entry is never overwritten: the same entry again (a retry after a lost answer) changes nothing, another
    entry under its id is refused and the first stays."""
    first = entry(BASE, "u1", "contacts/A")
    await store.append(first)
    await store.append(first)
    forged = dataclasses.replace(first, actor="someone-else", outcome="PERMISSION_DENIED", after={"version": 9})
    with pytest.raises(Rewritten):
        await store.append(forged)
    assert await store.list(AuditQuery(), None, 10) == [first]


async def test_ping(store):
    await store.ping()


async def test_dynamodb_retention_sets_expire_at_for_the_table_ttl(moto_endpoint):
    """DynamoDB only: with a retention, entries carry the attribute the table's TTL removes them by."""
    aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint))
    try:
        client = await aws.client("dynamodb")
        table = f"audit-{uuid.uuid4().hex[:12]}"
        await dynamodb_store.ensure_table(client, table)
        await dynamodb_store.ensure_table(client, table)  # a second run finds it made
        ttl = await client.describe_time_to_live(TableName=table)
        assert ttl["TimeToLiveDescription"]["AttributeName"] == dynamodb_store.TIME_TO_LIVE
        kept = DynamoAuditStore(aws, table, retention_days=30)
        made = entry(time.time(), "u1", "contacts/A")
        await kept.append(made)
        assert await kept.list(AuditQuery(), None, 10) == [made]
        items = (
            await client.query(
                TableName=table,
                IndexName=dynamodb_store.ACTOR_INDEX,
                KeyConditionExpression="actor_key = :a",
                ExpressionAttributeValues={":a": {"S": f"u1#{dynamo.shard_of(made.id, dynamodb_store.SHARDS)}"}},
            )
        )["Items"]
        assert len(items) == 1
        expire_at = int(items[0][dynamodb_store.TIME_TO_LIVE]["N"])
        assert abs(expire_at - (time.time() + 30 * DAY)) < 60
        # A retry a moment later computes another expiry: still the same entry, taken as done
        later = DynamoAuditStore(aws, table, retention_days=31)
        await later.append(made)
        assert await kept.list(AuditQuery(), None, 10) == [made]
    finally:
        await aws.close()
