"""Once per recipient whatever happens, over gRPC on bulk processes wired as main() wires them: a worker that died
holding claims (its lease runs out, the next worker sends only to those it never sent to), chunk messages
delivered twice to two workers, a bulk process stopped and another started, cancel within a second with the
report it leaves, chunks past their receive limit in bulk-dlq with the reason and replayed, WatchJob, schedules."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from google.protobuf import timestamp_pb2

from services.bulk.domain.model import Expansion, Outcome
from services.bulk.expansion import Position
from tests.bulk.messaging_double import Held, Send
from tests.bulk.support import ADMIN, OPERATOR, VIEWER, bulk_env, read_report, template_job, until, wait_for
from tests.messaging.support import recipients
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2 as mpb


def _once_each(sends: list[Send], recipients: list[str]) -> None:
    counts = Counter(s.recipient for s in sends)
    assert [r for r, n in counts.items() if n > 1] == []
    assert sorted(counts) == sorted(recipients)


async def test_a_dead_workers_claims_run_out_and_nobody_is_sent_to_twice(env):
    stub = env.stub()
    to = recipients(120, start=2000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    job_id = job.name.split("/")[1]
    chunks = env.processes[0].bulk["chunks"]
    # A worker claimed chunk 0 and died: 20 of its messages were sent, 10 accepted then withdrawn when its
    # stream broke, the rest never submitted. Its claims hold for two more seconds.
    now = time.time()
    claimed = await chunks.claim(job_id, 0, "dead-worker/1", now + 2.0, now)
    assert len(claimed) == 50
    for i, r in enumerate(claimed[:30]):
        held = Held(f"D{i:03d}", f"{job.name}/{r.address}", r.address, r.origination, "dead")
        held.handed_off = i < 20
        held.status = mpb.STATUS_SENT if i < 20 else mpb.STATUS_WITHDRAWN
        held.provider_id = f"wamid.D{i:03d}" if i < 20 else ""
        env.double.messages[held.id] = held
        env.double.by_key[held.key] = held.id
        if i < 20:
            env.double.sends.append(Send(now - 1, r.origination, r.address, held.key, held.id))

    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    done = await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    _once_each(env.double.sent_to(f"{job.name}/"), to)
    assert done.counts.sent == 120
    report = await read_report(done.report_uri)
    ids = {r["recipient"]: r["messageId"] for r in report["recipients"]}
    assert [ids[r.address] for r in claimed[:20]] == [f"D{i:03d}" for i in range(20)]  # the dead worker's sends
    assert all(not ids[r.address].startswith("D") for r in claimed[20:])


async def test_chunks_delivered_twice_to_two_workers_are_sent_once(env):
    await env.start_bulk()  # a second worker on the same tables and queue
    env.double.rate = 150.0
    stub = env.stub()
    to = recipients(300, start=3000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    job_id = job.name.split("/")[1]
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    sqs, url = env.sqs(), env.queue_url()
    for seq in range(6):  # SQS delivers at least once: every chunk again
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"job": job_id, "chunk": seq}))
    await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    _once_each(env.double.sent_to(f"{job.name}/"), to)

    def drained() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])
            == 0
        )

    await until(drained, within=20, what="every copy deleted")


async def test_a_restarted_bulk_process_goes_on_where_the_last_stopped(env):
    env.double.rate = 120.0
    stub = env.stub()
    to = recipients(400, start=4000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await until(lambda: len(env.double.sent_to(f"{job.name}/")) >= 100)
    await env.stop_bulk(env.processes[0])
    stopped_at = len(env.double.sent_to(f"{job.name}/"))
    assert stopped_at < 400
    fresh = await env.start_bulk()
    await wait_for(env.stub(fresh), job.name, pb.JOB_STATE_COMPLETED)
    _once_each(env.double.sent_to(f"{job.name}/"), to)


async def test_cancel_stops_every_send_within_a_second_and_reports_everyone(env):
    env.double.rate = 100.0
    stub = env.stub()
    to = recipients(600, start=5000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await until(lambda: len(env.double.sent_to(f"{job.name}/")) >= 100)
    cancelled = await stub.CancelJob(pb.CancelJobRequest(name=job.name), metadata=OPERATOR)
    returned = time.time()
    assert cancelled.state == pb.JOB_STATE_CANCELLED and cancelled.HasField("finish_time")
    done = await wait_for(stub, job.name, pb.JOB_STATE_CANCELLED)
    sends = env.double.sent_to(f"{job.name}/")
    assert [s for s in sends if s.t > returned + 1.0] == []
    assert len(sends) < 600
    report = await read_report(done.report_uri)
    assert report["status"] == "cancelled" and report["totalRecipients"] == 600
    outcomes = {r["recipient"]: r for r in report["recipients"]}
    sent = {s.recipient for s in sends}
    assert {r for r, o in outcomes.items() if o["outcome"] in ("sent", "delivered", "read")} == sent
    assert all(
        o["outcome"] == "suppressed" and o["reason"] == "cancelled" for r, o in outcomes.items() if r not in sent
    )
    assert (report["sentCount"], report["suppressedCount"]) == (len(sent), 600 - len(sent))
    assert done.counts.sent == len(sent) and done.counts.pending == 0


async def test_watch_streams_state_counts_rate_and_eta_until_the_report(env):
    env.double.rate = 200.0
    stub = env.stub()
    to = recipients(400, start=6000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    steps = []

    async def watch() -> None:
        async for step in stub.WatchJob(pb.WatchJobRequest(name=job.name), metadata=VIEWER):
            steps.append(step)

    watching = asyncio.create_task(watch())
    await until(lambda: steps, what="the first step")
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await asyncio.wait_for(watching, timeout=60)
    states = [pb.JobState.Name(s.state) for s in steps]
    assert states[0] == "JOB_STATE_DRAFT" and states[-1] == "JOB_STATE_COMPLETED" and "JOB_STATE_RUNNING" in states
    finals = [s.counts.sent + s.counts.failed + s.counts.suppressed + s.counts.unknown for s in steps]
    assert finals == sorted(finals) and finals[-1] == 400
    running = [s for s in steps if s.state == pb.JOB_STATE_RUNNING]
    assert any(s.current_rate > 50 for s in running)
    assert all(s.HasField("eta") for s in running) and not steps[-1].HasField("eta")
    assert steps[-1].counts.read + steps[-1].counts.delivered > 0  # the report attributed later statuses


async def test_a_scheduled_job_waits_for_its_time(env):
    stub = env.stub()
    at = time.time() + 2.0
    when = timestamp_pb2.Timestamp()
    when.FromNanoseconds(int(at * 1e9))
    job = await stub.CreateJob(
        pb.CreateJobRequest(job=template_job(recipients(20, start=7000), schedule_time=when)), metadata=OPERATOR
    )
    started = await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    assert started.state == pb.JOB_STATE_SCHEDULED
    await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    assert min(s.t for s in env.double.sent_to(f"{job.name}/")) >= at


async def test_list_jobs_is_newest_first_in_pages(env):
    stub = env.stub()
    made = [
        (await stub.CreateJob(pb.CreateJobRequest(job=template_job(recipients(1, start=i))), metadata=OPERATOR)).name
        for i in range(3)
    ]
    first = await stub.ListJobs(pb.ListJobsRequest(page_size=2), metadata=VIEWER)
    second = await stub.ListJobs(pb.ListJobsRequest(page_size=2, page_token=first.next_page_token), metadata=VIEWER)
    assert [j.name for j in first.jobs] + [j.name for j in second.jobs] == made[::-1]
    assert second.next_page_token == ""


async def test_chunks_past_their_receive_limit_are_dead_lettered_with_the_reason_and_replayed(tmp_path, moto_endpoint):
    async with bulk_env(tmp_path, moto_endpoint, max_receive=2) as env:
        await env.start_bulk()
        stub = env.stub()
        env.double.unavailable = True  # messaging refuses every message for a passing fault
        to = recipients(60, start=8000)
        job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
        await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)

        async def dead() -> pb.ListDeadLetterChunksResponse:
            return await stub.ListDeadLetterChunks(pb.ListDeadLetterChunksRequest(page_size=10), metadata=ADMIN)

        letters = []
        deadline = time.monotonic() + 30
        while len(letters) < 2 and time.monotonic() < deadline:
            letters = list((await dead()).dead_letters)
            await asyncio.sleep(0.3)
        assert sorted(d.chunk for d in letters) == [0, 1] and {d.job for d in letters} == {job.name}
        assert all("UNAVAILABLE" in d.reason and d.receive_count >= 2 for d in letters), letters
        assert (await stub.GetJob(pb.GetJobRequest(name=job.name), metadata=VIEWER)).state == pb.JOB_STATE_RUNNING
        assert env.double.sends == []

        env.double.unavailable = False
        dry = [
            s async for s in stub.ReplayDeadLetterChunks(pb.ReplayDeadLetterChunksRequest(dry_run=True), metadata=ADMIN)
        ]
        assert [r.outcome for s in dry for r in s.results] == [pb.REPLAY_OUTCOME_WOULD_REPLAY] * 2
        assert len((await dead()).dead_letters) == 2  # a dry run leaves them
        steps = [
            s
            async for s in stub.ReplayDeadLetterChunks(
                pb.ReplayDeadLetterChunksRequest(max_count=10, max_per_second=20), metadata=ADMIN
            )
        ]
        assert steps[-1].replayed_count == 2 and steps[-1].failed_count == 0
        await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
        _once_each(env.double.sent_to(f"{job.name}/"), to)
        assert list((await dead()).dead_letters) == []

        # A dead letter of a chunk that is done only goes away: no effect twice.
        sqs = env.sqs()
        sqs.send_message(
            QueueUrl=env.queue_url("bulk_dlq"), MessageBody=json.dumps({"job": job.name.split("/")[1], "chunk": 0})
        )
        again = [s async for s in stub.ReplayDeadLetterChunks(pb.ReplayDeadLetterChunksRequest(), metadata=ADMIN)]
        assert [r.outcome for s in again for r in s.results] == [pb.REPLAY_OUTCOME_ALREADY_DONE]
        assert len(env.double.sent_to(f"{job.name}/")) == 60


async def test_recipient_states_in_the_store_after_a_job(env):
    """The store holds each recipient's final state, with the ids the report shows."""
    stub = env.stub()
    to = recipients(10, start=9000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    chunk = await env.processes[0].bulk["chunks"].get_chunk(job.name.split("/")[1], 0)
    assert all(r.outcome in (Outcome.SENT, Outcome.DELIVERED, Outcome.READ) for r in chunk.recipients)
    assert all(r.message.startswith("messages/") and r.provider_id.startswith("wamid.") for r in chunk.recipients)


async def test_a_message_that_is_not_a_chunk_goes_to_the_dead_letters_with_why(env):
    stub = env.stub()
    env.sqs().send_message(QueueUrl=env.queue_url(), MessageBody="hello")

    async def letters() -> list[pb.DeadLetterChunk]:
        return list((await stub.ListDeadLetterChunks(pb.ListDeadLetterChunksRequest(), metadata=ADMIN)).dead_letters)

    found: list[pb.DeadLetterChunk] = []
    deadline = time.monotonic() + 20
    while not found and time.monotonic() < deadline:
        found = await letters()
        await asyncio.sleep(0.2)
    assert [(d.job, d.reason) for d in found] == [("", "not a bulk chunk message")]
    steps = [s async for s in stub.ReplayDeadLetterChunks(pb.ReplayDeadLetterChunksRequest(), metadata=ADMIN)]
    assert [r.outcome for s in steps for r in s.results] == [pb.REPLAY_OUTCOME_FAILED]
    assert len(await letters()) == 1  # a failed replay leaves it


async def test_an_audience_contacts_refuses_for_good_fails_the_job_with_its_report(env):
    stub = env.stub()
    job = template_job([])
    job.ClearField("inline_audience")
    job.contact_query.CopyFrom(pb.ContactQuery(tags=["vip"]))
    made = await stub.CreateJob(pb.CreateJobRequest(job=job), metadata=OPERATOR)
    job_id = made.name.split("/")[1]
    # The expansion stopped at a page token contacts no longer honours (a rotated key, say).
    chunks = env.processes[0].bulk["chunks"]
    now = time.time()
    assert await chunks.take_expansion(job_id, "earlier", now + 1, now)
    assert await chunks.save_expansion(job_id, "earlier", Expansion(Position("not-a-page-token").text(), 0, False))
    await stub.StartJob(pb.StartJobRequest(name=made.name), metadata=OPERATOR)
    failed = await wait_for(stub, made.name, pb.JOB_STATE_FAILED)
    assert "INVALID_ARGUMENT" in failed.failure_reason and failed.HasField("finish_time")
    report = await read_report(failed.report_uri)
    assert (report["status"], report["totalRecipients"]) == ("failed", 0)
