"""CommerceService's link RPCs over real gRPC, wired as main() wires them, on SQLite: every method, bad input
refused naming the field with nothing changed, roles and the service identity, the audit trail, and the servicer
refusing to start with an RPC nobody serves."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.protobuf import timestamp_pb2

from runtime import ids
from runtime.audit.model import AuditQuery
from runtime.audit.sqlite_store import SqliteAuditStore
from runtime.auth import ServiceTokens
from services.commerce.main import wire
from services.commerce.rpc.links import LinksRpc
from services.commerce.servicer import CommerceServicer
from tests.support.identity import TestPool
from tests.support.rpc import violations
from tests.support.servers import running
from wecare.commerce.v1 import commerce_service_pb2_grpc as pb_grpc
from wecare.commerce.v1 import links_pb2 as pb

POOL = TestPool()
ADMIN = POOL.bearer("admin", sub="admin-1")
OPERATOR = POOL.bearer("operator", sub="operator-1")
VIEWER = POOL.bearer("viewer", sub="viewer-1")
BASE = "https://go.example"
BROWSER = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"


@pytest.fixture
async def env(tmp_path):
    settings = {"links_base_url": BASE}
    async with running("commerce", wire, POOL, tmp_path, **settings) as process:
        service = (("authorization", f"Bearer {ServiceTokens(process.settings, 'gateway').token()}"),)
        async with grpc.aio.insecure_channel(process.address) as channel:
            yield pb_grpc.CommerceServiceStub(channel), service, tmp_path


async def create(stub, md=OPERATOR, request_id: str = "", **fields) -> pb.Link:
    return await stub.CreateLink(pb.CreateLinkRequest(link=pb.Link(**fields), request_id=request_id), metadata=md)


async def listed(stub) -> list[pb.Link]:
    return list((await stub.ListLinks(pb.ListLinksRequest(page_size=1000), metadata=VIEWER)).links)


async def follow(stub, service, code: str, agent: str = BROWSER, method: str = "GET", visitor: str = ""):
    return await stub.FollowLink(
        pb.FollowLinkRequest(code=code, http_method=method, user_agent=agent, visitor=visitor), metadata=service
    )


async def test_create_get_list_delete(env):
    stub, _, _ = env
    made = await create(stub, target_url="https://Example.com/offer?x=1")
    assert made.name.startswith("links/") and len(made.code) == 22
    assert made.short_url == f"{BASE}/l/{made.code}"
    assert made.target_url == "https://example.com/offer?x=1"
    assert made.creator == "operator-1" and made.create_time.seconds > 0
    got = await stub.GetLink(pb.GetLinkRequest(name=made.name), metadata=VIEWER)
    assert got.stats == pb.LinkStats()
    got.ClearField("stats")
    assert got == made
    assert [x.name for x in await listed(stub)] == [made.name]
    await stub.DeleteLink(pb.DeleteLinkRequest(name=made.name), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stub.GetLink(pb.GetLinkRequest(name=made.name), metadata=VIEWER)
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND


async def test_list_pages_with_tokens_bound_to_the_query(env):
    stub, _, _ = env
    made = [await create(stub, target_url=f"https://example.com/{i}") for i in range(5)]
    first = await stub.ListLinks(pb.ListLinksRequest(page_size=3), metadata=VIEWER)
    second = await stub.ListLinks(pb.ListLinksRequest(page_size=3, page_token=first.next_page_token), metadata=VIEWER)
    assert [x.name for x in [*first.links, *second.links]] == [x.name for x in made]
    assert second.next_page_token == ""
    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await stub.ListLinks(pb.ListLinksRequest(page_token="forged"), metadata=VIEWER)
    assert foreign.value.code() is grpc.StatusCode.INVALID_ARGUMENT and violations(foreign.value) == ["page_token"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target_url": "javascript:alert(1)"}, "link.target_url"),
        ({"target_url": "https://a.example@evil.example/"}, "link.target_url"),
        ({}, "link.target_url"),
        ({"target_url": f"{BASE}/l/{'A' * 22}"}, "link.target_url"),
        ({"target_url": "https://example.com", "contact": "people/1"}, "link.contact"),
        ({"target_url": "https://example.com", "job": "bulkJobs/x"}, "link.job"),
        ({"target_url": "https://example.com", "code": "A" * 22}, "link.code"),
        ({"target_url": "https://example.com", "short_url": "https://x"}, "link.short_url"),
        ({"target_url": "https://example.com", "expire_time": timestamp_pb2.Timestamp(seconds=1)}, "link.expire_time"),
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(env, fields, field):
    stub, _, _ = env
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(stub, **fields)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(refused.value)
    assert await listed(stub) == []


async def test_a_batch_is_all_or_nothing_naming_the_item(env):
    stub, gateway, _ = env
    service = OPERATOR  # bulk's and messaging's calls are not wired yet; the gateway may not make links
    job = f"bulkJobs/{ids.new_id()}"
    good = [
        pb.CreateLinkRequest(
            link=pb.Link(target_url="https://example.com/sale", contact=f"contacts/{ids.new_id()}", job=job),
            request_id=f"{job}/{i}",
        )
        for i in range(3)
    ]
    bad = pb.CreateLinkRequest(link=pb.Link(target_url="ftp://example.com"))
    for requests, field in (
        ([*good, bad], "requests[3].link.target_url"),
        ([*good, good[0]], "requests[3].request_id"),
        ([*good, pb.CreateLinkRequest()], "requests[3].link"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.BatchCreateLinks(pb.BatchCreateLinksRequest(requests=requests), metadata=service)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT and violations(refused.value) == [field]
    assert await listed(stub) == []
    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await stub.BatchCreateLinks(pb.BatchCreateLinksRequest(requests=[good[0]] * 1001), metadata=service)
    assert violations(too_many.value) == ["requests"]

    made = await stub.BatchCreateLinks(pb.BatchCreateLinksRequest(requests=good), metadata=service)
    assert len({x.code for x in made.links}) == 3 and all(x.job == job for x in made.links)
    assert made.links[0].creator == "operator-1"
    # The gateway's identity may follow links, not make them
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.BatchCreateLinks(pb.BatchCreateLinksRequest(requests=good), metadata=gateway)
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    # A retried batch (same request ids) mints nothing new and gives back the same links.
    again = await stub.BatchCreateLinks(pb.BatchCreateLinksRequest(requests=good), metadata=service)
    assert again == made
    assert len(await listed(stub)) == 3
    # The same request id for another link is a conflict naming it.
    other = pb.CreateLinkRequest(link=pb.Link(target_url="https://example.com/else"), request_id=good[1].request_id)
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stub.CreateLink(other, metadata=OPERATOR)
    assert reused.value.code() is grpc.StatusCode.ALREADY_EXISTS


async def test_follow_counts_clicks_once_per_person_and_previews_apart(env):
    stub, service, _ = env
    contact = f"contacts/{ids.new_id()}"
    message = f"messages/{ids.new_id()}"
    personal = await create(stub, target_url="https://example.com/p", contact=contact, message=message)
    shared = await create(stub, target_url="https://example.com/s")
    outcomes = [
        (await follow(stub, service, personal.code, "WhatsApp/2.23.20.0 A")).outcome,
        (await follow(stub, service, personal.code, BROWSER, "HEAD")).outcome,
        (await follow(stub, service, personal.code)).outcome,
        (await follow(stub, service, personal.code)).outcome,
    ]
    assert outcomes == [
        pb.FOLLOW_OUTCOME_PREVIEW,
        pb.FOLLOW_OUTCOME_PREVIEW,
        pb.FOLLOW_OUTCOME_CLICK,
        pb.FOLLOW_OUTCOME_REPEAT_CLICK,
    ]
    reply = await follow(stub, service, shared.code, visitor="V" * 22)
    assert (reply.target_url, reply.link, reply.outcome) == ("https://example.com/s", shared.name, 1)
    assert (await follow(stub, service, shared.code, visitor="W" * 22)).outcome == pb.FOLLOW_OUTCOME_CLICK
    assert (await follow(stub, service, shared.code, visitor="V" * 22)).outcome == pb.FOLLOW_OUTCOME_REPEAT_CLICK

    stats = (await stub.GetLink(pb.GetLinkRequest(name=personal.name), metadata=VIEWER)).stats
    assert (stats.click_count, stats.unique_clickers, stats.preview_count) == (2, 1, 2)
    assert 0 < stats.first_click_time.ToNanoseconds() <= stats.last_click_time.ToNanoseconds()
    shared_stats = (await stub.GetLink(pb.GetLinkRequest(name=shared.name), metadata=VIEWER)).stats
    assert (shared_stats.click_count, shared_stats.unique_clickers) == (3, 2)

    (click,) = (await stub.ListClicks(pb.ListClicksRequest(message=message), metadata=VIEWER)).clicks
    assert (click.link, click.contact, click.message, click.click_count) == (personal.name, contact, message, 2)


def in_two_seconds() -> timestamp_pb2.Timestamp:
    """An expiry far enough ahead that a loaded machine still creates the link before it."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int((time.time() + 2) * 1e9))
    return stamp


async def test_unknown_malformed_deleted_and_expired_codes_are_not_found(env):
    stub, service, _ = env
    live = await create(stub, target_url="https://example.com/live")
    soon = await create(stub, target_url="https://example.com/soon", expire_time=in_two_seconds())
    doomed = await create(stub, target_url="https://example.com/doomed")
    await stub.DeleteLink(pb.DeleteLinkRequest(name=doomed.name), metadata=ADMIN)
    tampered = live.code[:-1] + ("A" if live.code[-1] != "A" else "B")
    expires_at = soon.expire_time.ToNanoseconds() / 1e9
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.1)
    for code in ("", "nope", "//evil.com", "A" * 22, tampered, doomed.code, soon.code, "z" * 22):
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await follow(stub, service, code)
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND, code
        assert missing.value.details() == "no such link"  # the same answer whatever the reason
    assert (await follow(stub, service, live.code)).target_url == "https://example.com/live"


async def test_clicks_of_a_job_per_recipient_page_by_page(env):
    stub, service, _ = env
    job = f"bulkJobs/{ids.new_id()}"
    requests = [
        pb.CreateLinkRequest(
            link=pb.Link(
                target_url="https://example.com/sale",
                contact=f"contacts/{ids.new_id()}",
                recipient=f"+9198123{i:05d}",
                job=job,
                message=f"messages/{ids.new_id()}",
            )
        )
        for i in range(9)
    ]
    links = (await stub.BatchCreateLinks(pb.BatchCreateLinksRequest(requests=requests), metadata=OPERATOR)).links
    clicked = {x.recipient for x in links[::3]}
    for x in links[::3]:
        await follow(stub, service, x.code, "WhatsApp/2.2329.9 i")  # the preview first, as WhatsApp does
        await follow(stub, service, x.code)
    await follow(stub, service, links[1].code, "facebookexternalhit/1.1")  # a preview only: not clicked
    got, token = [], ""
    while True:
        page = await stub.ListClicks(pb.ListClicksRequest(job=job, page_size=2, page_token=token), metadata=VIEWER)
        got += page.clicks
        token = page.next_page_token
        if not token:
            break
    assert {c.recipient for c in got} == clicked and len(got) == 3
    assert all(c.click_count == 1 and c.first_click_time.seconds > 0 for c in got)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({}, "message"),
        ({"message": f"messages/{ids.new_id()}", "job": f"bulkJobs/{ids.new_id()}"}, "message"),
        ({"message": "messages/x"}, "message"),
        ({"job": "jobs/1"}, "job"),
        ({"job": f"bulkJobs/{ids.new_id()}", "page_size": -1}, "page_size"),
        ({"job": f"bulkJobs/{ids.new_id()}", "page_token": "nope"}, "page_token"),
    ],
)
async def test_list_clicks_refuses_bad_input(env, request_fields, field):
    stub, _, _ = env
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ListClicks(pb.ListClicksRequest(**request_fields), metadata=VIEWER)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT and violations(refused.value) == [field]


async def test_roles_and_the_service_identity(env):
    stub, service, _ = env
    made = await create(stub, target_url="https://example.com/r")
    for call, md in (
        (lambda m: create(stub, m, target_url="https://example.com/v"), VIEWER),  # viewers read
        (lambda m: stub.DeleteLink(pb.DeleteLinkRequest(name=made.name), metadata=m), OPERATOR),  # admins delete
        (lambda m: create(stub, m, target_url="https://example.com/s"), service),  # services batch, not one by one
        (lambda m: follow(stub, m, made.code), ADMIN),  # only the gateway's identity follows links
    ):
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await call(md)
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stub.FollowLink(pb.FollowLinkRequest(code=made.code))
    assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
    # ...and does nothing else: reading links is people's (no service reads them yet)
    with pytest.raises(grpc.aio.AioRpcError) as reading:
        await stub.GetLink(pb.GetLinkRequest(name=made.name), metadata=service)
    assert reading.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert (await stub.GetLink(pb.GetLinkRequest(name=made.name), metadata=VIEWER)).stats.click_count == 0


async def test_changes_are_audited_without_the_recipients_address(env):
    stub, service, tmp_path = env
    made = await create(stub, target_url="https://example.com/a", recipient="+919812345678")
    await follow(stub, service, made.code)
    await stub.DeleteLink(pb.DeleteLinkRequest(name=made.name), metadata=ADMIN)
    audit = SqliteAuditStore(tmp_path / "AuditTable.sqlite3")
    entries = await audit.list(AuditQuery(resource=made.name), None, 10)
    await audit.close()
    methods = sorted(e.method.rsplit("/", 1)[1] for e in entries)
    assert methods == ["CreateLink", "DeleteLink", "FollowLink"]
    assert "+919812345678" not in repr(entries)


def test_a_servicer_without_a_handler_for_every_rpc_refuses_to_start():
    class Partial:
        async def GetLink(self, request, context): ...

    with pytest.raises(TypeError, match="no handler for CreateLink"):
        CommerceServicer(Partial())
    with pytest.raises(TypeError, match="served by both"):
        CommerceServicer(LinksRpc(None, None), Partial())
