"""Issue 12's PauseJob benchmark on the DynamoDB path (`make bench pause`, or `python -m bench.pause_dynamodb`):
a stack of its own as `make run` starts it with WECARE_STORE=dynamodb on the embedded AWS (moto), and a
1,000,000-recipient contacts job in it.

- The job is created through CreateJob (contact query, the order_update template); its expansion, a million
  contacts read and cut into chunks, is seeded straight into BulkJobChunksTable (bench/job_seed.py: the items
  the expander writes, proved by tests/bench/test_job_seed.py); StartJob, then its chunks are queued on
  bulk-queue as the expansion's last step does.
- Once the job's sends are flowing (PAUSE_AFTER of them in the sandbox log), PauseJob. Measured: its answer time,
  PauseJob to the job's last send in the sandbox log, the sends after it; then every recipient of every chunk a
  worker touched is accounted for, from bulk's chunk store, messaging's states and the sandbox log: sent (all
  three agree, once), handed to messaging and withdrawn, or never handed; nothing claimed or queued is left, no
  address is sent twice, and bulk's counters agree (the untouched chunks: pending).
- Peak resident memory of bulk and messaging over the drill, and of the embedded AWS separately (moto holds the
  whole table in memory: its size is not the product's).
- ResumeJob to the job's first send after it in the sandbox log; then CancelJob (or, for the test's small job,
  the job runs to COMPLETED and every recipient is sent exactly once).

moto takes DynamoDB requests one at a time (~100 a second with transactions), so the sends go at a few a second:
the figures are about bounds (time, memory, what is left), not about throughput."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench import job_seed
from bench.bulk_bench import SentLog, _peak_kib, _processes_of, _rss_kib
from bench.report import Report
from localrun import jsonl
from localrun.handle import Stack, running_stack
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.bulk.adapters.dynamodb_store import DynamoChunkStore
from services.bulk.domain.model import Outcome
from tests.bulk.support import order_update
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.bulk.v1 import bulk_service_pb2_grpc as pb_grpc
from wecare.messaging.v1 import messaging_service_pb2 as mpb
from wecare.messaging.v1 import messaging_service_pb2_grpc as mpb_grpc

SIZE = 1_000_000
PAUSE_AFTER = 40  # the job's sends in the sandbox log before PauseJob
QUIET_SECONDS = 5.0  # no send of the job and nothing claimed for this long: the pause has taken hold
UNTOUCHED_RUN = 4  # chunks in a row that no worker touched end the accounting's walk (workers take 4 at a time)
# moto takes one DynamoDB request at a time, a few hundred a second: what a worker holds claimed is renewed one
# write a recipient every lease/3 s, and messaging's pre-call checks want a store read under FRESH (0.8 s), so one
# chunk at a time and one messaging process keep moto's queue short enough for sends to flow. The sandbox's status
# events (three a send, each ingested) are off: their cost is the dynamodb section's; a send's outcome comes from
# the call's answer.
ENV = {
    "WECARE_STORE": "dynamodb",
    "WECARE_LOG_LEVEL": "WARNING",
    "WECARE_BULK_WORKER_CHUNKS": "1",
    "WECARE_MESSAGING_PROCESSES": "1",
    "WECARE_SANDBOX_CONFIG": json.dumps({"statuses": []}),
}
SENT = {mpb.STATUS_SENT, mpb.STATUS_DELIVERED, mpb.STATUS_READ}
BULK_SENT = {Outcome.SENT, Outcome.DELIVERED, Outcome.READ}
UNTOUCHED = {"never handed", "cancelled, never sent"}  # by no worker (the report settles a cancelled job's)


@dataclass
class Peaks:
    """Peak resident memory (KiB) of each process group, sampled."""

    pids: dict[str, list[int]]
    rss: dict[str, int] = field(default_factory=dict)

    def sample(self) -> None:
        for name, pids in self.pids.items():
            self.rss[name] = max([self.rss.get(name, 0), *(_rss_kib(p) for p in pids)])

    def hwm(self, name: str) -> int:
        """The group's largest lifetime peak (VmHWM), seeding and start included."""
        out = 0
        for p in self.pids[name]:
            try:
                out = max(out, _peak_kib(p))
            except (OSError, RuntimeError):
                pass
        return out


@dataclass
class Accounting:
    chunks_walked: int = 0
    touched_chunks: int = 0
    states: Counter = field(default_factory=Counter)  # sent / withdrawn / never handed
    wrong: list[str] = field(default_factory=list)  # recipients in no state or in two
    duplicates: int = 0  # addresses the sandbox log has twice
    counts: dict[str, int] = field(default_factory=dict)  # bulk's counters, as GetJob gives them


async def _states(messaging, md, keys: list[str]) -> dict[str, int]:
    reply = await messaging.BatchGetMessageStates(
        mpb.BatchGetMessageStatesRequest(idempotency_keys=keys), metadata=md, timeout=60
    )
    return {s.idempotency_key: s.status for s in reply.states}


async def account(stack: Stack, chunks: DynamoChunkStore, job_id: str, sends: SentLog, total_chunks: int) -> Accounting:
    """Every recipient of every chunk a worker touched, in exactly one state (see the module's docstring)."""
    out = Accounting()
    sent_to = Counter(a for _, a in sends.calls)
    out.duplicates = sum(1 for n in sent_to.values() if n > 1)
    md = (("authorization", f"Bearer {stack.service_token('bulk')}"),)
    highest = max((int(a[5:]) for a in sent_to), default=0)  # +9198<i>: member i
    untouched_run, seq = 0, 0
    async with grpc.aio.insecure_channel(stack.addresses["messaging"]) as channel:
        messaging = mpb_grpc.MessagingServiceStub(channel)
        while seq < total_chunks:
            chunk = await chunks.get_chunk(job_id, seq)
            assert chunk is not None, f"chunk {seq} of {job_id} is missing"
            keys = [f"bulkJobs/{job_id}/{r.address}" for r in chunk.recipients]
            known = await _states(messaging, md, keys)
            touched = False
            for r, key in zip(chunk.recipients, keys, strict=True):
                status, times = known.get(key), sent_to.get(r.address, 0)
                if status in SENT and times == 1 and r.outcome in BULK_SENT:
                    state = "sent"
                elif status in SENT and times == 1 and r.outcome == Outcome.PENDING:
                    # Sent, its answer still on the cancelled stream: bulk gave the recipient back, and sends it
                    # again under its key on resume, which messaging answers with the original (no second send).
                    state = "sent, bulk told on resume"
                elif r.outcome == Outcome.PENDING and status == mpb.STATUS_WITHDRAWN and times == 0:
                    state = "withdrawn"
                elif r.outcome == Outcome.PENDING and status is None and times == 0:
                    state = "never handed"
                elif (
                    r.outcome == Outcome.SUPPRESSED
                    and r.reason == "cancelled"
                    and status in (None, mpb.STATUS_WITHDRAWN)
                    and times == 0
                ):
                    state = "cancelled, never sent"  # the cancelled job's report settles its open recipients
                else:
                    state = "wrong"
                    name = mpb.Status.Name(status) if status is not None else "none"
                    out.wrong.append(f"{r.address}: bulk {r.outcome.value}, messaging {name}, sent {times}x")
                out.states[state] += 1
                touched = touched or state not in UNTOUCHED
            out.chunks_walked += 1
            out.touched_chunks += touched
            untouched_run = 0 if touched else untouched_run + 1
            seq += 1
            if untouched_run >= UNTOUCHED_RUN and seq * len(chunk.recipients) > highest:
                break
    async with grpc.aio.insecure_channel(stack.addresses["bulk"]) as channel:
        job = await pb_grpc.BulkServiceStub(channel).GetJob(
            pb.GetJobRequest(name=f"bulkJobs/{job_id}"),
            metadata=(("authorization", f"Bearer {stack.token('operator')}"),),
        )
    c = job.counts
    out.counts = {"total": c.total, "sent": c.sent, "failed": c.failed, "unknown": c.unknown, "pending": c.pending}
    return out


def _queue_chunks(stack: Stack, settings: Settings, refs, stop: threading.Event) -> float:
    """The expansion's queueing: one bulk-queue message a chunk, ten a request, until the job stops running (the
    expander looks at the job's state between steps). Returns the seconds it took."""
    began = time.monotonic()
    sqs = stack.aws_client("sqs")
    url = sqs.get_queue_url(QueueName=settings.bulk_queue)["QueueUrl"]
    for start in range(0, len(refs), 10):
        if stop.is_set():
            break
        part = [{"Id": str(i), "MessageBody": r.body()} for i, r in enumerate(refs[start : start + 10])]
        while part:
            failed = {f["Id"] for f in sqs.send_message_batch(QueueUrl=url, Entries=part).get("Failed", [])}
            part = [e for e in part if e["Id"] in failed]
    return time.monotonic() - began


def requests_between(traces: Path, start: float, end: float) -> Counter:
    """The AWS requests each service began between two wall times, from the stack's trace file: (service,
    "DynamoDB" or "SQS"), and the operations of each."""
    out: Counter = Counter()
    for line in jsonl.complete_lines(traces):  # the stack is still writing it
        if '"aws-api"' not in line:
            continue
        span = json.loads(line)
        if start * 1e9 <= span["start_ns"] <= end * 1e9:
            service = span["service"].removeprefix("wecare-")
            out[(service, span["attributes"].get("rpc.service", "?"), span["attributes"].get("rpc.method", "?"))] += 1
    return out


def _window_text(window: Counter, seconds: float) -> str:
    by_service: Counter = Counter()
    for (service, aws, _), n in window.items():
        by_service[f"{service} {aws}"] += n
    dynamo_total = sum(n for (_, aws, _), n in window.items() if aws == "DynamoDB")
    parts = ", ".join(f"{k} {n:,}" for k, n in by_service.most_common())
    top = ", ".join(f"{s} {m} {n:,}" for (s, _, m), n in window.most_common(4))
    return (
        f"{dynamo_total:,} DynamoDB requests in {seconds:.0f}s ({dynamo_total / seconds:.0f}/s): {parts}; most: {top}"
    )


async def _wait(what: str, check, within: float, every: float = 0.1):
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {within:.0f}s")
        await asyncio.sleep(every)


async def drill(
    root: Path,
    size: int = SIZE,
    progress=print,
    finish: bool = False,
    env: dict | None = None,
    pause_after: int = PAUSE_AFTER,
) -> dict:
    """The whole run (see the module's docstring); its figures and the accounting."""
    # The embedded AWS takes any credentials; the bench's own process may have none in its environment.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    began = time.monotonic()
    extra = {**ENV, **(env or {})}
    with running_stack(root, extra_env=extra) as stack:
        figures: dict = {"stack_s": time.monotonic() - began}
        settings = Settings.from_env({**stack.settings_env(), **extra})
        endpoint = stack.facts["WECARE_AWS_ENDPOINT_URL"]
        region = stack.facts["AWS_REGION"]
        peaks = Peaks(
            {
                "bulk": _processes_of(stack.proc.pid, "services.bulk"),
                "messaging": _processes_of(stack.proc.pid, "services.messaging"),
                "embedded AWS": _processes_of(stack.proc.pid, "localrun.embedded_aws"),
            }
        )
        md = (("authorization", f"Bearer {stack.token('operator')}"),)
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=endpoint, aws_endpoint_url=endpoint))
        async with grpc.aio.insecure_channel(stack.addresses["bulk"]) as channel:
            bulk = pb_grpc.BulkServiceStub(channel)
            job_pb = pb.BulkJob(
                display_name="pause on dynamodb",
                channel=mpb.CHANNEL_WHATSAPP,
                category=mpb.CATEGORY_UTILITY,
                content=order_update(),
                contact_query=pb.ContactQuery(tags=["bench"]),
            )
            made = await bulk.CreateJob(pb.CreateJobRequest(job=job_pb), metadata=md)
            job_id = made.name.removeprefix("bulkJobs/")
            job = job_seed.read_job(endpoint, region, settings.bulk_jobs_table, job_id)
            progress(f"pause on dynamodb: seeding {size:,} recipients of {made.name}")
            seeded = await asyncio.to_thread(
                job_seed.seed,
                endpoint,
                region,
                settings.bulk_job_chunks_table,
                job,
                size,
                settings.bulk_chunk_size,
                progress,
            )
            figures["seed"] = seeded
            peaks.sample()
            sends = SentLog(stack.run.root / "sandbox-sent.jsonl", made.name)
            started_at = time.time()
            await bulk.StartJob(pb.StartJobRequest(name=made.name), metadata=md)
            stop_queueing = threading.Event()
            refs = job_seed.chunk_refs(job_id, seeded.chunks)
            queueing = asyncio.ensure_future(asyncio.to_thread(_queue_chunks, stack, settings, refs, stop_queueing))

            async def flowing() -> bool:
                sends.poll()
                peaks.sample()
                return len(sends.calls) >= pause_after

            progress(f"pause on dynamodb: started, queueing {seeded.chunks:,} chunks")
            await _wait(f"{pause_after} sends of {made.name}", flowing, within=300)
            progress(f"pause on dynamodb: {len(sends.calls)} sends, pausing")
            figures["first_send_s"] = sends.calls[0][0] - started_at
            paused_at = time.time()
            stop_queueing.set()
            try:
                await bulk.PauseJob(pb.PauseJobRequest(name=made.name), metadata=md)
                figures["pause_error"] = ""
            except grpc.aio.AioRpcError as exc:  # the state changed before the withdrawal failed: measured as is
                figures["pause_error"] = f"{exc.code().name}: {exc.details()}"
                progress(f"pause on dynamodb: PauseJob answered {figures['pause_error']}")
            answered_at = time.time()
            figures["queue_s"] = await queueing
            figures["pause_call_s"] = answered_at - paused_at
            quiet = {"since": time.monotonic()}

            async def settled() -> bool:
                peaks.sample()
                if sends.poll():
                    quiet["since"] = time.monotonic()
                return time.monotonic() - quiet["since"] >= QUIET_SECONDS

            await _wait(f"{made.name} quiet after PauseJob", settled, within=180)
            after = sends.after(paused_at)
            figures["sent_before"] = len(sends.calls) - len(after)
            figures["sent_after"] = len(after)
            figures["pause_to_last_s"] = max(0.0, sends.calls[-1][0] - paused_at)
            figures["answer_to_last_s"] = sends.calls[-1][0] - answered_at
            chunks = DynamoChunkStore(aws, settings.bulk_job_chunks_table)
            figures["paused"] = await account(stack, chunks, job_id, sends, seeded.chunks)
            shown = {k: figures[k] for k in ("pause_call_s", "pause_error", "sent_before", "sent_after")}
            progress(f"pause on dynamodb: paused, {dict(figures['paused'].states)} {shown} rss KiB {peaks.rss}")

            resumed_at = time.time()
            await bulk.ResumeJob(pb.ResumeJobRequest(name=made.name), metadata=md)
            figures["resume_call_s"] = time.time() - resumed_at
            before = len(sends.calls)

            async def resumed() -> bool:
                peaks.sample()
                sends.poll()
                return len(sends.calls) > before

            await _wait(f"a send of {made.name} after ResumeJob", resumed, within=300)
            figures["resume_to_send_s"] = sends.calls[before][0] - resumed_at
            await asyncio.sleep(1.0)  # the window's last spans reach the trace file
            figures["resume_window"] = requests_between(stack.run.traces, resumed_at, sends.calls[before][0])
            progress(
                f"pause on dynamodb: resumed, answered in {figures['resume_call_s']:.1f}s, first send after"
                f" {figures['resume_to_send_s']:.1f}s"
            )
            if finish:

                async def completed() -> bool:
                    peaks.sample()
                    sends.poll()
                    got = await bulk.GetJob(pb.GetJobRequest(name=made.name), metadata=md)
                    return got.state in (pb.JOB_STATE_COMPLETED, pb.JOB_STATE_FAILED) and got

                done = await _wait(f"{made.name} completed", completed, within=600, every=0.5)
                figures["final_state"] = pb.JobState.Name(done.state)
                await asyncio.sleep(1.0)  # a late line of the log
                sends.poll()
            else:
                try:
                    await bulk.CancelJob(pb.CancelJobRequest(name=made.name), metadata=md)
                    figures["cancel_error"] = ""
                except grpc.aio.AioRpcError as exc:  # as PauseJob's: the state changed before the withdrawal failed
                    figures["cancel_error"] = f"{exc.code().name}: {exc.details()}"
                    progress(f"pause on dynamodb: CancelJob answered {figures['cancel_error']}")
                quiet["since"] = time.monotonic()
                await _wait(f"{made.name} quiet after CancelJob", settled, within=180)
                figures["final_state"] = "CANCELLED"
            figures["sends"] = sends.calls
            figures["ended"] = await account(stack, chunks, job_id, sends, seeded.chunks)
            ended = figures["ended"]
            progress(
                f"pause on dynamodb: {figures['final_state']}, {dict(ended.states)}, {len(ended.wrong)} in no state"
                f" or two, {ended.duplicates} sent twice; counts {ended.counts}; rss KiB {peaks.rss}"
            )
            for wrong in ended.wrong[:5]:
                progress(f"pause on dynamodb: in no state or two: {wrong}")
        await aws.close()
        figures["peak_kib"] = dict(peaks.rss)
        figures["hwm_kib"] = {name: peaks.hwm(name) for name in peaks.pids}
        figures["processes"] = {name: len(p) for name, p in peaks.pids.items()}
    figures["total_s"] = time.monotonic() - began
    return figures


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def add_rows(report: Report, f: dict, size: int) -> None:
    s, p = f["seed"], f["paused"]
    report.add(
        f"PauseJob on DynamoDB (moto), a {size:,}-recipient contacts job: seeded expansion (items / requests / time);"
        " StartJob to the first send",
        f"{s.items:,} items in {s.requests:,} BatchWriteItem, {s.seconds:.0f}s ({s.chunks:,} chunks; queueing"
        f" {f['queue_s']:.0f}s until the pause); first send {f['first_send_s']:.1f}s",
    )
    report.add(
        f"PauseJob on DynamoDB after {f['sent_before']:,} sends: PauseJob answered / PauseJob to the job's last send"
        " in the sandbox log / sends after PauseJob",
        f"{f['pause_call_s'] * 1000:,.0f} ms{' (' + f['pause_error'] + ')' if f['pause_error'] else ''} /"
        f" {f['pause_to_last_s']:.2f}s ({f['answer_to_last_s']:+.2f}s after the"
        f" answer) / {f['sent_after']:,}",
    )
    report.add(
        "PauseJob on DynamoDB: recipients of the chunks workers touched, sent / handed to messaging and withdrawn /"
        " never handed; in no state or two; sent twice",
        f"{p.states['sent']:,} (+{p.states['sent, bulk told on resume']:,} bulk learns on resume) /"
        f" {p.states['withdrawn']:,} / {p.states['never handed']:,} ({p.touched_chunks} of"
        f" {p.chunks_walked} chunks walked); {len(p.wrong)}; {p.duplicates}",
        "-",
        "-",
        "every recipient in one state " + ("held" if not p.wrong and not p.duplicates else "BROKEN"),
    )
    e = f["ended"]
    report.add(
        f"After ResumeJob and {'CancelJob' if f['final_state'] == 'CANCELLED' else 'completion'}: recipients of the"
        " chunks workers touched, sent / withdrawn or never handed, still pending / cancelled, never sent (the"
        " report's walk); in no state or two; sent twice",
        f"{e.states['sent'] + e.states['sent, bulk told on resume']:,} / {e.states['withdrawn']:,} +"
        f" {e.states['never handed']:,} / {e.states['cancelled, never sent']:,} ({e.touched_chunks} of"
        f" {e.chunks_walked} chunks walked); {len(e.wrong)}; {e.duplicates}",
        "-",
        "-",
        "every recipient in one state " + ("held" if not e.wrong and not e.duplicates else "BROKEN"),
    )
    report.add(
        "PauseJob on DynamoDB: peak resident memory of bulk / messaging (largest process) over the drill;"
        " the embedded AWS (moto, the table in memory: not the product's)",
        f"{_mib(f['peak_kib']['bulk'])} / {_mib(f['peak_kib']['messaging'])} ({f['processes']['messaging']}"
        f" processes); {_mib(f['peak_kib']['embedded AWS'])}",
    )
    report.add(
        "PauseJob on DynamoDB: the AWS requests from ResumeJob to the job's first send after it, by service (the"
        " embedded AWS answers DynamoDB one request at a time: the window is as long as its queue)",
        _window_text(f["resume_window"], f["resume_to_send_s"]),
    )
    report.add(
        "PauseJob on DynamoDB: ResumeJob answered / ResumeJob to the job's first send after it; the whole piece",
        f"{f['resume_call_s'] * 1000:,.0f} ms / {f['resume_to_send_s']:.2f}s; {f['total_s']:.0f}s (stack"
        f" {f['stack_s']:.0f}s)" + (f"; CancelJob answered {f['cancel_error']}" if f.get("cancel_error") else ""),
    )


async def run(stack, report: Report) -> None:
    """`make bench pause`: the shared stack is not used (this one runs on DynamoDB)."""
    with tempfile.TemporaryDirectory(prefix="wecare-pause-ddb-") as tmp:
        figures = await drill(Path(tmp), SIZE, report.progress)
    add_rows(report, figures, SIZE)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pause_dynamodb")
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (the stack's logs, to read after)")
    args = parser.parse_args()
    report = Report()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(drill(args.keep, args.size, report.progress))
    else:
        with tempfile.TemporaryDirectory(prefix="wecare-pause-ddb-") as tmp:
            figures = asyncio.run(drill(Path(tmp), args.size, report.progress))
    add_rows(report, figures, args.size)
    print(report.markdown())


if __name__ == "__main__":
    sys.exit(main())
