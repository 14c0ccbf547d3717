"""The LinkStore contract, run against every implementation: SQLite in a temporary directory and DynamoDB on
moto (server mode, a fresh table per test). Volumes stay small: moto copies a table on every transaction."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from runtime import dynamo, ids
from runtime.aws import AwsClients
from runtime.errors import AlreadyExists
from runtime.settings import Settings
from services.commerce.adapters import link_dynamodb
from services.commerce.adapters.link_dynamodb import DynamoLinkStore
from services.commerce.adapters.link_sqlite import SqliteLinkStore
from services.commerce.adapters.link_store import click_key
from services.commerce.domain import codes
from services.commerce.domain.links import Link, LinkStats

NOW = 1_718_000_000.25


@pytest.fixture(params=["sqlite", "dynamodb"])
async def store(request, tmp_path, monkeypatch):
    aws = None
    if request.param == "sqlite":
        made = SqliteLinkStore(tmp_path / "links.sqlite3")
    else:
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        table = f"links-{uuid.uuid4().hex[:12]}"
        await link_dynamodb.ensure_table(await aws.client("dynamodb"), table)
        made = DynamoLinkStore(aws, table)
        # moto undoes a cancelled transaction by restoring a copy of the table taken when it began, which also
        # undoes one that committed meanwhile: one transaction at a time keeps it honest (reads still race them,
        # so conditions still fail and are retried as on DynamoDB).
        monkeypatch.setattr(link_dynamodb, "WRITE_CONCURRENCY", 1)
        one_at_a_time = asyncio.Lock()
        transact = dynamo.transact_write

        async def serialised(*args, **kwargs):
            async with one_at_a_time:
                return await transact(*args, **kwargs)

        monkeypatch.setattr(link_dynamodb.dynamo, "transact_write", serialised)
    yield made
    await made.close()
    if aws is not None:
        await aws.close()


def link(target: str = "https://example.com/p", **fields) -> Link:
    fields.setdefault("id", ids.new_id())
    fields.setdefault("code", codes.new_code())
    return Link(target_url=target, create_time=NOW, creator="operator-1", **fields)


async def test_create_then_get_by_id_and_by_code(store):
    made = link(
        contact=ids.new_id(), recipient="+919812345678", message=ids.new_id(), job=ids.new_id(), expire_time=NOW + 86400
    )
    assert await store.create([made]) == [made]
    assert await store.get(made.id) == made
    assert await store.by_code(made.code) == made
    assert await store.get(ids.new_id()) is None
    assert await store.by_code(codes.new_code()) is None
    assert await store.stats(made.id) == LinkStats()


async def test_a_repeated_request_id_gives_back_the_first_link(store):
    first = link(request_id="send/1/url/0")
    assert await store.create([first]) == [first]
    again = link(target="https://example.com/other", request_id="send/1/url/0")
    other = link(request_id="send/1/url/1")
    assert await store.create([again, other]) == [first, other]
    assert await store.get(again.id) is None  # the repeat stored nothing
    assert await store.by_code(again.code) is None


async def test_a_taken_code_is_refused(store):
    first = link()
    await store.create([first])
    with pytest.raises(AlreadyExists):
        await store.create([link(code=first.code)])
    assert await store.by_code(first.code) == first


async def test_list_in_creation_order_page_by_page(store):
    made = [link(target=f"https://example.com/{i}") for i in range(7)]
    await store.create(made)
    assert [x.id for x in await store.list(None, 100)] == [x.id for x in made]
    assert [x.id for x in await store.list(None, 3)] == [x.id for x in made[:3]]
    assert [x.id for x in await store.list(made[2].id, 3)] == [x.id for x in made[3:6]]
    assert await store.list(made[-1].id, 3) == []


async def test_delete_frees_the_code_and_the_request_id_and_keeps_the_clicks(store):
    made = link(request_id="r-1", message=ids.new_id())
    await store.create([made])
    await store.record_click(made, "contact:A", NOW)
    await store.record_preview(made, NOW)
    assert await store.delete(made.id) == made
    assert await store.delete(made.id) is None
    assert await store.get(made.id) is None and await store.by_code(made.code) is None
    assert await store.stats(made.id) == LinkStats()
    assert [c.person for c in await store.clicks_of_message(made.message, None, 10)] == ["contact:A"]
    anew = link(request_id="r-1")
    assert await store.create([anew]) == [anew]


async def test_a_click_once_per_person_repeats_counted_apart(store):
    made = link(contact=ids.new_id(), message=ids.new_id(), job=ids.new_id())
    other = link()
    await store.create([made, other])
    assert await store.record_click(made, "contact:A", NOW) is True
    assert await store.record_click(made, "contact:A", NOW + 5) is False
    assert await store.record_click(made, "contact:A", NOW + 2) is False  # late: last stays the latest
    assert await store.record_click(made, "visitor:B", NOW + 9) is True
    await store.record_preview(made, NOW + 1)
    await store.record_preview(made, NOW + 1)
    assert await store.stats(made.id) == LinkStats(
        click_count=4, unique_clickers=2, preview_count=2, first_click_time=NOW, last_click_time=NOW + 9
    )
    assert await store.stats(other.id) == LinkStats()
    clicks = {c.person: c for c in await store.clicks_of_message(made.message, None, 10)}
    a = clicks["contact:A"]
    assert (a.link_id, a.contact, a.message, a.job) == (made.id, made.contact, made.message, made.job)
    assert (a.first_click_time, a.last_click_time, a.click_count) == (NOW, NOW + 5, 3)
    assert clicks["visitor:B"].click_count == 1


async def test_previews_alone_make_no_click(store):
    made = link(message=ids.new_id())
    await store.create([made])
    for _ in range(3):
        await store.record_preview(made, NOW)
    assert await store.stats(made.id) == LinkStats(preview_count=3)
    assert await store.clicks_of_message(made.message, None, 10) == []


async def test_concurrent_first_opens_by_one_person_make_one_click(store):
    made = link(message=ids.new_id())
    await store.create([made])
    firsts = await asyncio.gather(*(store.record_click(made, "contact:A", NOW + i) for i in range(6)))
    assert sorted(firsts) == [False] * 5 + [True]
    stats = await store.stats(made.id)
    assert (stats.click_count, stats.unique_clickers) == (6, 1)
    (click,) = await store.clicks_of_message(made.message, None, 10)
    assert click.click_count == 6


async def test_clicks_of_a_job_page_by_page_across_its_shards(store):
    job, message = ids.new_id(), ids.new_id()
    links = [link(job=job, contact=ids.new_id(), recipient=f"+9198123{i:05d}") for i in range(12)]
    stray = link(job=ids.new_id())
    await store.create([*links, stray])
    clicked = links[::2]
    for i, x in enumerate(clicked):
        await store.record_click(x, f"contact:{x.contact}", NOW + i)
    await store.record_click(stray, "visitor:x", NOW)
    await store.record_click(link(message=message), "contact:Z", NOW)  # a link never stored still counts its click
    pages, after = [], None
    while True:
        page = await store.clicks_of_job(job, after, 4)
        if not page:
            break
        pages.append(page)
        after = click_key(page[-1].link_id, page[-1].person)
    got = [c for page in pages for c in page]
    assert [len(p) for p in pages] == [4, 2]
    assert [c.link_id for c in got] == sorted(x.id for x in clicked)  # key order: link id, then person
    assert {c.recipient for c in got} == {x.recipient for x in clicked}
    assert all(c.job == job and c.click_count == 1 for c in got)
    assert [c.person for c in await store.clicks_of_message(message, None, 10)] == ["contact:Z"]
    assert await store.clicks_of_job(ids.new_id(), None, 10) == []
    assert await store.clicks_of_message("", None, 10) == []
