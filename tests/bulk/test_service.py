"""BulkService over real gRPC, wired as main() wires it, on SQLite, with contacts (wired as its main() wires it),
the messaging stand-in (tests/bulk/messaging_double.py) and moto for bulk-queue, bulk-dlq and the report bucket:
a job's life from creation to its report, each recipient sent once whatever happens to the workers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import grpc
import pytest
from prometheus_client import REGISTRY

from tests.bulk.support import OPERATOR, PHONES, VIEWER, read_report, template_job, until, wait_for
from tests.messaging.support import recipients
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2 as mpb
from wecare.messaging.v1.messaging_service_pb2 import STATUS_WITHDRAWN


def _metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_job_sends_to_each_recipient_once_and_reports_every_one(env):
    stub = env.stub()
    to = recipients(230)
    reached = ("SENT", "DELIVERED", "READ")  # a worker records the first outcome it is told, once per recipient
    sent_before = sum(_metric("wecare_bulk_recipients_total", {"outcome": o}) for o in reached)
    failed_before = _metric("wecare_bulk_recipients_total", {"outcome": "FAILED"})
    completed_before = _metric("wecare_bulk_jobs", {"state": "COMPLETED"})
    env.double.failing.add(to[7])
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    assert job.state == pb.JOB_STATE_DRAFT and job.name.startswith("bulkJobs/")
    assert job.audience_summary.total_count == 230 and job.audience_summary.complete
    assert job.binding_rate == 160.0  # two phones at 80/s each
    assert not env.double.sends  # a draft sends nothing

    started = await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    assert started.state == pb.JOB_STATE_RUNNING and started.HasField("start_time")
    done = await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)

    sends = env.double.sent_to(f"{job.name}/")
    assert sorted(s.recipient for s in sends) == sorted(to)  # everyone, once
    assert Counter(s.origination for s in sends) == {PHONES[0]: 115, PHONES[1]: 115}  # spread evenly
    assert done.counts.total == 230 and done.counts.pending == 0
    assert (done.counts.sent, done.counts.failed) == (229, 1)
    # On /metrics: the outcomes the workers recorded, and the job as this process last saw it.
    assert sum(_metric("wecare_bulk_recipients_total", {"outcome": o}) for o in reached) - sent_before == 229
    assert _metric("wecare_bulk_recipients_total", {"outcome": "FAILED"}) - failed_before == 1
    assert _metric("wecare_bulk_jobs", {"state": "COMPLETED"}) - completed_before == 1

    report = await read_report(done.report_uri)
    assert report["jobId"] == job.name.split("/")[1] and report["status"] == "completed"
    assert report["channel"] == "WHATSAPP" and report["createTime"] and report["finishTime"]
    assert (report["totalRecipients"], report["sentCount"], report["failedCount"], report["suppressedCount"]) == (
        230,
        229,
        1,
        0,
    )
    by_recipient = {r["recipient"]: r for r in report["recipients"]}
    assert sorted(by_recipient) == sorted(to)
    failed = by_recipient[to[7]]
    assert (failed["outcome"], failed["errorCode"]) == ("failed", "131026")
    log = {s.recipient: s for s in sends}
    for r in report["recipients"]:
        assert r["providerMessageId"] == f"wamid.{log[r['recipient']].message}"
    # Later statuses reached the report: the stand-in reads each message 0.4 s after it is sent.
    assert Counter(r["outcome"] for r in report["recipients"])["read"] > 200


async def test_the_messages_carry_each_recipients_values_and_key(env):
    stub = env.stub()
    to = recipients(3, start=500)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    held = sorted(env.double.messages.values(), key=lambda h: h.recipient)
    assert [h.key for h in held] == [f"{job.name}/{r}" for r in to]
    values = [[p.text for p in h.content.template.body_parameters] for h in held]
    assert values == [["Asha 0", "A-0"], ["Asha 1", "A-1"], ["Asha 2", "A-2"]]


async def test_illegal_transitions_are_failed_precondition_and_change_nothing(env):
    stub = env.stub()
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(recipients(2))), metadata=OPERATOR)
    for call, request in ((stub.PauseJob, pb.PauseJobRequest), (stub.ResumeJob, pb.ResumeJobRequest)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(request(name=job.name), metadata=OPERATOR)
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "DRAFT" in refused.value.details()
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    assert twice.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    with pytest.raises(grpc.aio.AioRpcError) as over:
        await stub.CancelJob(pb.CancelJobRequest(name=job.name), metadata=OPERATOR)
    assert over.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert (await stub.GetJob(pb.GetJobRequest(name=job.name), metadata=VIEWER)).state == pb.JOB_STATE_COMPLETED


async def test_a_template_paused_by_meta_pauses_the_job_with_the_reason_and_resumed_none_is_skipped(env):
    env.double.rate = 150.0
    stub = env.stub()
    to = recipients(600, start=3000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await until(lambda: len(env.double.sent_to(f"{job.name}/")) >= 100)
    env.double.paused_reason = "template order_update.en_US is PAUSED: low quality"
    paused = await wait_for(stub, job.name, pb.JOB_STATE_PAUSED)
    assert paused.state_reason.startswith("TEMPLATE_PAUSED: ") and "low quality" in paused.state_reason
    during = len(env.double.sent_to(f"{job.name}/"))
    assert during < 600
    env.double.paused_reason = ""  # Meta reinstated it
    resumed = await stub.ResumeJob(pb.ResumeJobRequest(name=job.name), metadata=OPERATOR)
    assert resumed.state_reason == ""
    done = await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    sends = env.double.sent_to(f"{job.name}/")
    assert sorted(s.recipient for s in sends) == sorted(to)  # each once: none twice, none skipped
    assert done.counts.sent == 600 and done.counts.suppressed == 0


async def test_sends_meta_refused_after_the_call_for_a_paused_template_are_sent_again_on_resume_once(env):
    """Meta paused the template a moment before messaging knew: those sends were made, recorded sent by bulk, then
    refused by Meta (132015) and withdrawn by messaging (their keys free). ResumeJob reopens exactly them, so each
    recipient ends with one send that was not refused, and the report says sent with that send's id."""
    env.double.rate = 150.0
    stub = env.stub()
    to = recipients(600, start=4000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await until(lambda: len(env.double.sent_to(f"{job.name}/")) >= 100)
    env.double.meta_paused = True  # Meta paused it; messaging learns it a moment later
    await until(lambda: len(env.double.refused_after_call) >= 20)
    env.double.paused_reason = "template order_update.en_US is PAUSED: low quality"
    env.double.meta_paused = False
    paused = await wait_for(stub, job.name, pb.JOB_STATE_PAUSED)
    refused = set(env.double.refused_after_call)
    assert paused.state_reason.startswith("TEMPLATE_PAUSED: ")
    await asyncio.sleep(1.0)  # the refusals (0.8 s after their call, after the stream said sent) have all landed
    assert all(env.double.messages[i].status == STATUS_WITHDRAWN for i in refused)
    env.double.paused_reason = ""  # Meta reinstated it
    await stub.ResumeJob(pb.ResumeJobRequest(name=job.name), metadata=OPERATOR)
    done = await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)

    sends = env.double.sent_to(f"{job.name}/")
    kept = [s for s in sends if s.message not in refused]
    assert sorted(s.recipient for s in kept) == sorted(to)  # each once, none skipped
    again = {env.double.messages[i].recipient for i in refused}
    assert len(sends) == 600 + len(refused) and len(again) == len(refused) >= 20  # the refused ones sent again
    assert done.counts.sent == 600 and (done.counts.failed, done.counts.suppressed) == (0, 0)
    report = await read_report(done.report_uri)
    by_recipient = {r["recipient"]: r for r in report["recipients"]}
    last = {s.recipient: s for s in kept}
    for r in to:
        assert by_recipient[r]["outcome"] in ("sent", "delivered", "read"), by_recipient[r]
        assert by_recipient[r]["providerMessageId"] == f"wamid.{last[r].message}"


def marketing_job(to: list[str]) -> pb.BulkJob:
    job = template_job(to)
    job.category = mpb.CATEGORY_MARKETING
    job.content.template.template_name = "spring_sale"
    return job


async def test_a_marketing_job_is_not_finished_while_a_131049_reattempt_is_due_and_reports_its_outcome(env):
    """131049 comes a moment after the call said sent and messaging queues one re-attempt 3 s later: the job waits
    (WAITING, the reason naming the re-attempts) instead of completing, completes only after each re-attempt went,
    and the report says what became of each (its key, sent/delivered/read and its provider id)."""
    stub = env.stub()
    to = recipients(40, start=7000)
    env.double.reattempt_after = 3.0
    env.double.limited |= set(to[:4])
    job = await stub.CreateJob(pb.CreateJobRequest(job=marketing_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    waiting = await wait_for(stub, job.name, pb.JOB_STATE_WAITING)
    assert "131049" in waiting.state_reason and waiting.counts.limited == 4, waiting
    dues = [h.reattempt_due for h in env.double.messages.values() if h.key.startswith(f"{job.name}/")]
    assert waiting.resume_time.ToNanoseconds() / 1e9 >= max(dues)
    done = await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    sends = env.double.sent_to(f"{job.name}/")
    again = [s for s in sends if s.key.endswith("/reattempt-1")]
    assert sorted(s.recipient for s in again) == sorted(to[:4])  # each re-attempted once
    first = {s.recipient: s.t for s in sends if not s.key.endswith("/reattempt-1")}
    assert all(s.t >= first[s.recipient] + 3.0 for s in again)
    assert done.finish_time.ToNanoseconds() / 1e9 > max(s.t for s in again)  # finished after the last re-attempt
    assert (done.counts.limited, done.counts.sent) == (4, 36)
    report = {r["recipient"]: r for r in (await read_report(done.report_uri))["recipients"]}
    by_key = {s.key: s for s in again}
    for r in to[:4]:
        line, key = report[r], f"{job.name}/{r}/reattempt-1"
        assert line["outcome"] == "limited" and line["reason"].startswith(f"re-attempt {key}: "), line
        assert f"wamid.{by_key[key].message}" in line["reason"], line


async def test_a_job_cancelled_while_waiting_for_its_reattempts_sends_none_of_them(env):
    stub = env.stub()
    to = recipients(20, start=7100)
    env.double.reattempt_after = 3.0
    env.double.limited |= set(to[:3])
    job = await stub.CreateJob(pb.CreateJobRequest(job=marketing_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await wait_for(stub, job.name, pb.JOB_STATE_WAITING)
    await stub.CancelJob(pb.CancelJobRequest(name=job.name), metadata=OPERATOR)
    await asyncio.sleep(4.0)  # past the re-attempts' due time
    assert not [s for s in env.double.sent_to(f"{job.name}/") if s.key.endswith("/reattempt-1")]
    done = await wait_for(stub, job.name, pb.JOB_STATE_CANCELLED)
    report = await read_report(done.report_uri)
    lines = [r for r in report["recipients"] if r["recipient"] in to[:3]]
    assert all(line["outcome"] == "limited" and "withdrawn" in line["reason"] for line in lines), lines


async def test_a_job_waits_while_the_tier_is_spent_and_goes_on_by_itself(env):
    env.double.rate = 150.0
    stub = env.stub()
    to = recipients(600, start=5000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await until(lambda: len(env.double.sent_to(f"{job.name}/")) >= 100)
    frees = time.time() + 3.0
    env.double.tier_available, env.double.tier_releases = 0, [(frees, 1000)]
    waiting = await wait_for(stub, job.name, pb.JOB_STATE_WAITING)
    waited_at = time.time()
    assert waiting.resume_time.ToNanoseconds() / 1e9 == pytest.approx(frees, abs=0.01)
    assert "tier" in waiting.state_reason
    assert waiting.counts.pending > 0
    env.double.tier_available, env.double.tier_releases = -1, []  # the window freed places
    done = await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    sends = env.double.sent_to(f"{job.name}/")
    assert sorted(s.recipient for s in sends) == sorted(to)  # each once, none skipped
    assert [s for s in sends if waited_at + 1.0 < s.t < frees - 0.1] == []  # it went on at the resume time
    assert done.counts.sent == 600 and done.state_reason == ""


async def test_pause_stops_every_send_and_resume_finishes_without_repeats(env):
    env.double.rate = 150.0
    stub = env.stub()
    to = recipients(600, start=1000)
    job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=OPERATOR)
    await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=OPERATOR)
    await until(lambda: len(env.double.sent_to(f"{job.name}/")) >= 100)
    paused = await stub.PauseJob(pb.PauseJobRequest(name=job.name), metadata=OPERATOR)
    returned = time.time()
    assert paused.state == pb.JOB_STATE_PAUSED
    await asyncio.sleep(1.5)
    late = [s for s in env.double.sent_to(f"{job.name}/") if s.t > returned + 1.0]
    assert late == []
    during = len(env.double.sent_to(f"{job.name}/"))
    assert during < 600
    await stub.ResumeJob(pb.ResumeJobRequest(name=job.name), metadata=OPERATOR)
    done = await wait_for(stub, job.name, pb.JOB_STATE_COMPLETED)
    sends = env.double.sent_to(f"{job.name}/")
    assert sorted(s.recipient for s in sends) == sorted(to)
    assert done.counts.sent == 600
