"""Bulk on the embedded default, as `make run` starts it (the whole stack: contacts, the sandbox, messaging,
bulk, the gateway), plus two more bulk processes as further workers; checked from outside, in the sandbox log
(localrun/sandbox/log.py) and the reports:

- a 20,000-recipient WhatsApp job over two phones, paused and resumed twice, one worker killed with kill -9 while
  it held a chunk, a chunk message delivered twice: no recipient twice in the log; every recipient in the log or
  in the report as failed, suppressed or unknown (unknown no more than the sends in flight at the kill); the
  report's counts match the log; no one-second window over a limit; nothing sent while paused;
- cancel: nothing of the job in the log later than a second after CancelJob returned, and the report;
- WatchJob over gRPC and as Server-Sent Events at GET /v1/bulkJobs/{id}:watch through the gateway; bad input
  over HTTP is 400 naming the field or the row."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest

from localrun.handle import Stack, running_stack
from localrun.procs import free_port, start_python, stop
from localrun.sandbox import log as sandbox_log
from localrun.stack import grpc_serving
from tests.bulk.support import template_job, until
from tests.messaging.support import recipients
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.bulk.v1 import bulk_service_pb2_grpc as pb_grpc

pytestmark = pytest.mark.process

SETTINGS = {
    "WECARE_BULK_LEASE_SECONDS": "6",  # a killed worker's chunk comes back within 6 s
    "WECARE_BULK_POLL_SECONDS": "0.25",
    "WECARE_BULK_REPORT_DELAY_SECONDS": "2",
}
PHONE_LIMIT = 80
ACCOUNT_LIMIT = 1000
CALL_TIMEOUT = 2.0  # messaging's provider call timeout: the longest a send can be in flight


class Workers:
    """Extra bulk processes (further workers) on the stack's tables, queue and services."""

    def __init__(self, stack: Stack, root: Path):
        self._stack = stack
        self._root = root
        self.procs: dict[int, tuple[object, str]] = {}

    def start(self) -> int:
        address = f"127.0.0.1:{free_port()}"
        env = {
            **self._stack.settings_env(),
            **self._stack.identity_env("bulk"),  # the stack's own bulk key: messaging and contacts check it
            **SETTINGS,
            "WECARE_DATA_DIR": str(self._stack.run.data),
            "WECARE_BULK_ADDRESS": address,
            "WECARE_MESSAGING_ADDRESS": self._stack.addresses["messaging"],
            "WECARE_CONTACTS_ADDRESS": self._stack.addresses["contacts"],
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        log = self._root / f"bulk-{address.rsplit(':', 1)[1]}.log"
        proc = start_python("services.bulk", env, log)
        deadline = time.monotonic() + 60
        while not grpc_serving(address, "wecare.bulk.v1.BulkService"):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc, timeout=10)
                raise AssertionError(f"bulk worker did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        self.procs[proc.pid] = (proc, address)
        return proc.pid

    def kill(self, pid: int) -> None:
        proc, _ = self.procs.pop(pid)
        proc.kill()  # kill -9
        proc.wait()

    def stop_all(self) -> None:
        for proc, _ in self.procs.values():
            stop(proc, timeout=30)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("bulk-stack"), extra_env=SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
def workers(stack, tmp_path_factory) -> Iterator[Workers]:
    extra = Workers(stack, tmp_path_factory.mktemp("workers"))
    try:
        yield extra
    finally:
        extra.stop_all()


def _auth(stack: Stack, user: str = "operator") -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {stack.token(user)}"),)


def _job_calls(stack: Stack, job_name: str) -> list[sandbox_log.Call]:
    """The sandbox log's calls for this job: their ref is `<message id>|bulkJobs/<job id>/<recipient>`."""
    marker = f"|{job_name}/"
    return [c for c in sandbox_log.read(stack.run.root / "sandbox-sent.jsonl") if marker in c.ref]


async def _until_sent(stack: Stack, job_name: str, count: int, within: float = 300) -> None:
    deadline = time.monotonic() + within
    while len(_job_calls(stack, job_name)) < count:
        assert time.monotonic() < deadline, f"{job_name}: fewer than {count} sends within {within}s"
        await asyncio.sleep(0.2)


async def _finished(stub, name: str, md, state: int, within: float = 600) -> pb.BulkJob:
    deadline = time.monotonic() + within
    while True:
        job = await stub.GetJob(pb.GetJobRequest(name=name), metadata=md)
        if job.state == state and job.report_uri:
            return job
        assert time.monotonic() < deadline, f"{name} not finished: {job.state} {job.counts}"
        await asyncio.sleep(0.5)


async def _report(url: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(url) as reply:
        assert reply.status == 200
        return json.loads(await reply.read())


def _holders(stack: Stack, job_id: str) -> Counter[int]:
    """Processes (by pid) holding claims on the job's recipients now, from the embedded store."""
    path = stack.run.data / "BulkJobChunksTable.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        rows = db.execute(
            "SELECT owner, count(*) FROM recipients WHERE job = ? AND outcome = 'CLAIMED' GROUP BY owner", (job_id,)
        ).fetchall()
    holders: Counter[int] = Counter()
    for owner, n in rows:
        holders[int(owner.split("/", 1)[0].rsplit(":", 1)[1])] += n
    return holders


def _assert_quiet(calls: list[sandbox_log.Call], quiet: list[tuple[float, float]]) -> None:
    """No call of the job later than a second after a pause returned, until its resume was asked for."""
    for paused_at, resumed_at in quiet:
        late = [c for c in calls if paused_at + 1.0 < c.t_ns / 1e9 < resumed_at]
        assert late == [], f"{len(late)} sends while paused, e.g. {late[:2]}"


@pytest.mark.timeout(900)
async def test_twenty_thousand_recipients_once_each_through_pauses_a_kill_and_a_duplicate(stack, workers):
    extra = [workers.start(), workers.start()]
    md = _auth(stack)
    to = recipients(20_000, start=10_000_000)
    async with grpc.aio.insecure_channel(
        stack.addresses["bulk"], options=[("grpc.max_send_message_length", 8 << 20)]
    ) as ch:
        stub = pb_grpc.BulkServiceStub(ch)
        job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=md)
        job_id = job.name.split("/")[1]
        assert job.audience_summary.total_count == 20_000 and job.binding_rate == 2 * PHONE_LIMIT
        await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=md)
        quiet: list[tuple[float, float]] = []

        async def pause_and_resume() -> None:
            await stub.PauseJob(pb.PauseJobRequest(name=job.name), metadata=md)
            paused_at = time.time()
            await asyncio.sleep(2.0)
            quiet.append((paused_at, time.time()))
            await stub.ResumeJob(pb.ResumeJobRequest(name=job.name), metadata=md)

        await _until_sent(stack, job.name, 2_000)
        await pause_and_resume()

        # kill -9 a worker while it holds claims (mid-chunk).
        await _until_sent(stack, job.name, 5_000)
        deadline = time.monotonic() + 60
        while not (holding := [pid for pid in extra if _holders(stack, job_id)[pid] > 0]):
            assert time.monotonic() < deadline, "no extra worker ever held a chunk"
            await asyncio.sleep(0.1)
        victim = holding[0]
        held_at_kill = _holders(stack, job_id)[victim]
        workers.kill(victim)
        killed_at = time.time()
        assert held_at_kill > 0

        # SQS delivers at least once: a chunk's message again.
        sqs = stack.aws_client("sqs")
        queue = sqs.get_queue_url(QueueName="bulk-queue")["QueueUrl"]
        for seq in (0, 20, 39):
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"job": job_id, "chunk": seq}))

        await _until_sent(stack, job.name, 9_000)
        await pause_and_resume()
        done = await _finished(stub, job.name, md, pb.JOB_STATE_COMPLETED)

    calls = _job_calls(stack, job.name)
    # No recipient twice, and each call went to the recipient its key names.
    by_recipient = Counter(c.to for c in calls)
    assert [r for r, n in by_recipient.items() if n > 1] == []
    assert all(c.ref.split("|", 1)[1] == f"{job.name}/{c.to}" for c in calls)
    # Every recipient is in the log, or in the report as failed, suppressed or unknown.
    report = await _report(done.report_uri)
    outcomes = {r["recipient"]: r for r in report["recipients"]}
    assert sorted(outcomes) == sorted(to) and report["totalRecipients"] == 20_000
    logged = {c.to: c for c in calls}
    unreached = [r for r in to if r not in logged]
    assert all(outcomes[r]["outcome"] in ("failed", "suppressed", "unknown") for r in unreached), unreached[:5]
    # Unknown no more than the sends in flight at the kill.
    in_flight = sum(1 for c in calls if killed_at - CALL_TIMEOUT <= c.t_ns / 1e9 <= killed_at)
    unknown = sum(1 for r in outcomes.values() if r["outcome"] == "unknown")
    assert unknown <= in_flight
    # The report's counts match the log: the sent are exactly those logged, with the log's provider ids.
    sent = {r for r, o in outcomes.items() if o["outcome"] in ("sent", "delivered", "read")}
    failed_after_call = {r for r, o in outcomes.items() if o["outcome"] == "failed" and o["providerMessageId"]}
    assert sent | failed_after_call == set(logged)
    assert report["sentCount"] == len(sent) and report["sentCount"] + len(failed_after_call) == len(calls)
    assert all(outcomes[r]["providerMessageId"] == c.id for r, c in logged.items())
    assert done.counts.sent == report["sentCount"]
    # No one-second window over a limit, across everything the sandbox took.
    windows = sandbox_log.report(sandbox_log.read(stack.run.root / "sandbox-sent.jsonl"))
    assert windows.violations(phone_limit=PHONE_LIMIT, account_limit=ACCOUNT_LIMIT) == []
    _assert_quiet(calls, quiet)
    assert len(quiet) == 2


async def test_cancel_stops_the_job_within_a_second(stack):
    md = _auth(stack)
    to = recipients(3_000, start=20_000_000)
    async with grpc.aio.insecure_channel(stack.addresses["bulk"]) as ch:
        stub = pb_grpc.BulkServiceStub(ch)
        job = await stub.CreateJob(pb.CreateJobRequest(job=template_job(to)), metadata=md)
        await stub.StartJob(pb.StartJobRequest(name=job.name), metadata=md)
        await _until_sent(stack, job.name, 300)
        cancelled = await stub.CancelJob(pb.CancelJobRequest(name=job.name), metadata=md)
        returned = time.time()
        assert cancelled.state == pb.JOB_STATE_CANCELLED
        done = await _finished(stub, job.name, md, pb.JOB_STATE_CANCELLED, within=120)
    calls = _job_calls(stack, job.name)
    assert [c for c in calls if c.t_ns / 1e9 > returned + 1.0] == []
    report = await _report(done.report_uri)
    assert report["status"] == "cancelled" and report["totalRecipients"] == 3_000
    outcomes = {r["recipient"]: r["outcome"] for r in report["recipients"]}
    logged = {c.to for c in calls}
    assert {r for r, o in outcomes.items() if o in ("sent", "delivered", "read")} == logged
    assert Counter(o for r, o in outcomes.items() if r not in logged) == {"suppressed": 3_000 - len(logged)}


async def test_watch_over_grpc_and_as_server_sent_events_through_the_gateway(stack):
    md = _auth(stack)
    token = stack.token("viewer")
    base = f"http://{stack.addresses['gateway']}/v1"
    async with aiohttp.ClientSession() as http:
        body = {
            "displayName": "watch me",
            "channel": "CHANNEL_WHATSAPP",
            "category": "CATEGORY_UTILITY",
            "content": {"template": {"templateName": "hello_world", "language": "en_US"}},
            "inlineAudience": {"recipients": [{"address": r} for r in recipients(400, start=30_000_000)]},
        }
        async with http.post(f"{base}/bulkJobs", json=body, headers={"authorization": md[0][1]}) as reply:
            assert reply.status == 200, await reply.text()
            job = await reply.json()
        assert job["state"] == "JOB_STATE_DRAFT" and job["name"].startswith("bulkJobs/")

        events: list[dict] = []

        async def sse() -> None:
            url = f"{base}/{job['name']}:watch"
            async with http.get(url, params={"access_token": token}, timeout=aiohttp.ClientTimeout(total=120)) as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
                async for raw in r.content:
                    line = raw.decode().strip()
                    if line.startswith("data:"):
                        events.append(json.loads(line[5:]))

        over_grpc: list[pb.WatchJobResponse] = []

        async def watch() -> None:
            async with grpc.aio.insecure_channel(stack.addresses["bulk"]) as ch:
                stub = pb_grpc.BulkServiceStub(ch)
                async for step in stub.WatchJob(pb.WatchJobRequest(name=job["name"]), metadata=_auth(stack, "viewer")):
                    over_grpc.append(step)

        streams = [asyncio.create_task(sse()), asyncio.create_task(watch())]
        await until(lambda: events and over_grpc, what="the first step of both streams")
        async with http.post(f"{base}/{job['name']}:start", json={}, headers={"authorization": md[0][1]}) as reply:
            assert reply.status == 200, await reply.text()
        await asyncio.wait_for(asyncio.gather(*streams), timeout=120)

        async with http.get(f"{base}/{job['name']}", headers={"authorization": f"Bearer {token}"}) as reply:
            finished = await reply.json()
    assert events[0]["state"] == "JOB_STATE_DRAFT" and events[-1]["state"] == "JOB_STATE_COMPLETED"
    assert "JOB_STATE_RUNNING" in {e["state"] for e in events}
    assert int(events[-1]["counts"]["total"]) == 400 and int(events[-1]["counts"]["sent"]) == 400
    assert any(float(e.get("currentRate", 0)) > 0 for e in events)
    assert over_grpc[-1].state == pb.JOB_STATE_COMPLETED and over_grpc[-1].counts.sent == 400
    assert finished["reportUri"].startswith("http") and finished["state"] == "JOB_STATE_COMPLETED"


async def test_bad_input_over_http_is_400_naming_the_field_or_row(stack):
    base = f"http://{stack.addresses['gateway']}/v1"
    headers = {"authorization": f"Bearer {stack.token('operator')}"}
    bad_row = {
        "channel": "CHANNEL_WHATSAPP",
        "category": "CATEGORY_UTILITY",
        "content": {"template": {"templateName": "hello_world", "language": "en_US"}},
        "inlineAudience": {"recipients": [{"address": "+919800000001"}, {"address": "not a phone"}]},
    }
    async with aiohttp.ClientSession() as http:

        async def names() -> list[str]:
            async with http.get(f"{base}/bulkJobs", params={"pageSize": 500}, headers=headers) as reply:
                return [j["name"] for j in (await reply.json()).get("jobs", [])]

        before = await names()
        async with http.post(f"{base}/bulkJobs", json=bad_row, headers=headers) as reply:
            assert reply.status == 400
            error = await reply.json()
        fields = [v["field"] for d in error["details"] for v in d.get("fieldViolations", [])]
        assert "job.inline_audience.recipients[1].address" in fields
        async with http.post(f"{base}/bulkJobs", json={**bad_row, "channel": "CHANNEL_FAX"}, headers=headers) as reply:
            assert reply.status == 400
            assert "channel" in (await reply.text())
        assert await names() == before
