"""Bulk with the real commerce service (in this event loop, SQLite): a tracked job's clicks in GetJob's counts
and per recipient in its report (previews not counted), and retargeting from its outcomes and clicks: "read but
did not click" reaches exactly those recipients, the dry run counts them, bad retargeting names its field.

The links are minted and opened here as messaging and the gateway do (BatchCreateLinks with messaging's
identity and request id `<key>/0`, FollowLink with the gateway's), since bulk's messaging is a stand-in."""

from __future__ import annotations

import contextlib
from collections import Counter

import grpc
import pytest

from runtime.auth import ServiceTokens
from services.commerce.main import wire as commerce_wire
from tests.bulk.support import OPERATOR, POOL, VIEWER, bulk_env, read_report, template_job, wait_for
from tests.messaging.support import recipients
from tests.support.servers import running
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.commerce.v1 import commerce_service_pb2_grpc as commerce_grpc
from wecare.commerce.v1 import links_pb2 as lpb

BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
WHATSAPP = "WhatsApp/2.24.1.78 A"


@pytest.fixture
async def world(tmp_path, moto_endpoint):
    async with contextlib.AsyncExitStack() as stack:
        commerce = await stack.enter_async_context(
            running("commerce", commerce_wire, POOL, tmp_path / "commerce", links_base_url="https://go.example")
        )
        env = await stack.enter_async_context(
            bulk_env(tmp_path / "bulk", moto_endpoint, commerce_address=commerce.address)
        )
        await env.start_bulk()
        channel = grpc.aio.insecure_channel(commerce.address)
        stack.push_async_callback(channel.close)
        env.commerce = commerce_grpc.CommerceServiceStub(channel)
        env.as_service = {
            name: (("authorization", f"Bearer {ServiceTokens(commerce.settings, name).token()}"),)
            for name in ("messaging", "gateway")
        }
        yield env


async def mint(world, job: str, addresses: list[str]) -> dict[str, str]:
    """One link per recipient, as messaging mints it at acceptance; address -> code."""
    reply = await world.commerce.BatchCreateLinks(
        lpb.BatchCreateLinksRequest(
            requests=[
                lpb.CreateLinkRequest(
                    link=lpb.Link(target_url="https://shop.example/offer", recipient=a, job=job),
                    request_id=f"{job}/{a}/0",
                )
                for a in addresses
            ]
        ),
        metadata=world.as_service["messaging"],
    )
    return {a: link.code for a, link in zip(addresses, reply.links, strict=True)}


async def open_link(world, code: str, agent: str) -> int:
    reply = await world.commerce.FollowLink(
        lpb.FollowLinkRequest(code=code, http_method="GET", user_agent=agent, client_address="127.0.0.1"),
        metadata=world.as_service["gateway"],
    )
    return reply.outcome


def retarget_job(source: str, outcomes: list[int], clicked: int = 0) -> pb.BulkJob:
    job = template_job(["+910000000000"])
    job.ClearField("inline_audience")
    job.retarget.CopyFrom(pb.RetargetAudience(source_job=source, outcomes=outcomes, clicked=clicked))
    return job


async def test_clicks_reach_counts_and_report_and_read_but_not_clicked_is_one_job(world):
    stub = world.stub()
    to = recipients(60)
    world.double.failing |= {to[0], to[1]}
    world.double.limited.add(to[2])
    world.double.unread |= set(to[3:13])
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to, track_links=True)), metadata=OPERATOR)
    assert job.track_links
    codes = await mint(world, job.name, to)
    clickers = to[3:6] + to[20:35]
    for a in clickers:
        assert await open_link(world, codes[a], WHATSAPP) == lpb.FOLLOW_OUTCOME_PREVIEW  # WhatsApp's preview first
        assert await open_link(world, codes[a], BROWSER) == lpb.FOLLOW_OUTCOME_CLICK
    for a in to[20:25]:
        assert await open_link(world, codes[a], BROWSER) == lpb.FOLLOW_OUTCOME_REPEAT_CLICK
    for a in to[40:45]:  # previews only: the bot fetched it, nobody opened it
        assert await open_link(world, codes[a], WHATSAPP) == lpb.FOLLOW_OUTCOME_PREVIEW

    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    done = await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    assert (done.counts.sent, done.counts.failed, done.counts.limited) == (57, 2, 1)
    assert (done.counts.clicked, done.counts.clicks) == (18, 23)
    assert done.counts.click_rate == pytest.approx(18 / 57)
    report = await read_report(done.report_uri)
    assert (report["clickedCount"], report["clickCount"]) == (18, 23)
    rows = {r["recipient"]: r for r in report["recipients"]}
    assert {a for a, r in rows.items() if r["clicked"]} == set(clickers)
    assert all(rows[a]["firstClickTime"] for a in clickers) and rows[to[40]]["firstClickTime"] is None
    assert Counter(rows[a]["clicks"] for a in clickers) == {1: 13, 2: 5}
    assert rows[to[2]]["errorCode"] == "131049"

    # "Read but did not click": read (not the unread, not the failed), minus those who clicked.
    expected = sorted(set(to[13:]) - set(clickers))
    wanted = retarget_job(job.name, [pb.RETARGET_OUTCOME_READ], pb.ENGAGEMENT_NO)
    dry = await stub.CreateJob(pb.CreateJobRequest(job=wanted, validate_only=True), metadata=OPERATOR)
    assert dry.audience_summary.recipient_count == len(expected) == 32
    again = await stub.CreateJob(pb.CreateJobRequest(job=wanted), metadata=OPERATOR)
    assert again.retarget.source_job == job.name and list(again.retarget.outcomes) == [pb.RETARGET_OUTCOME_READ]
    await stub.StartJob(pb.StartJobRequest(name=again.name), metadata=OPERATOR)
    await wait_for(stub, again.name, pb.JOB_STATE_COMPLETED)
    assert sorted(s.recipient for s in world.double.sent_to(f"{again.name}/")) == expected

    counts = {
        (pb.RETARGET_OUTCOME_LIMITED,): 1,
        (pb.RETARGET_OUTCOME_FAILED,): 3,
        (pb.RETARGET_OUTCOME_DELIVERED,): 57,
        (pb.RETARGET_OUTCOME_DELIVERED, pb.RETARGET_OUTCOME_FAILED): 60,
    }
    for outcomes, n in counts.items():
        dry = await stub.CreateJob(
            pb.CreateJobRequest(job=retarget_job(job.name, list(outcomes)), validate_only=True), metadata=OPERATOR
        )
        assert dry.audience_summary.recipient_count == n, outcomes
    clicked = retarget_job(job.name, [], pb.ENGAGEMENT_YES)
    dry = await stub.CreateJob(pb.CreateJobRequest(job=clicked, validate_only=True), metadata=OPERATOR)
    assert dry.audience_summary.recipient_count == 18
    viewed = await stub.GetJob(pb.GetJobRequest(name=job.name), metadata=VIEWER)
    assert viewed.counts.clicked == 18


async def test_bad_retargeting_is_invalid_argument_naming_the_field_and_creates_nothing(world):
    stub = world.stub()
    untracked = await stub.CreateJob(pb.CreateJobRequest(job=template_job(recipients(3))), metadata=OPERATOR)
    cases = {
        "job.retarget.source_job": retarget_job("bulkJobs/01J00000000000000000000000", []),
        "job.retarget.clicked": retarget_job(untracked.name, [], pb.ENGAGEMENT_NO),
    }
    running_ = retarget_job(untracked.name, [pb.RETARGET_OUTCOME_READ])
    before = len((await stub.ListJobs(pb.ListJobsRequest(), metadata=VIEWER)).jobs)
    for field, job in cases.items():
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CreateJob(pb.CreateJobRequest(job=job), metadata=OPERATOR)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in caught.value.details(), field
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # a draft has no outcomes yet
        await stub.CreateJob(pb.CreateJobRequest(job=running_), metadata=OPERATOR)
    assert "job.retarget.source_job" in caught.value.details() and "DRAFT" in caught.value.details()
    bad_outcome = retarget_job(untracked.name, [pb.RETARGET_OUTCOME_READ])
    bad_outcome.retarget.source_job = "jobs/x"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateJob(pb.CreateJobRequest(job=bad_outcome), metadata=OPERATOR)
    assert (
        caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "job.retarget.source_job" in caught.value.details()
    )
    assert len((await stub.ListJobs(pb.ListJobsRequest(), metadata=VIEWER)).jobs) == before
