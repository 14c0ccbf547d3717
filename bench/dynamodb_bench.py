"""Issue 12's DynamoDB capacity model, `make bench dynamodb` (about 2 minutes): a stack of its own with
WECARE_STORE=dynamodb on the embedded AWS (moto) and the capacity log on (runtime/capacity_log.py), driven only
through public RPCs and the sandbox, in four windows:

- idle: nothing asked for; what the processes' own loops cost a second (heartbeats, polls, health pings).
- send: SENDS WhatsApp template messages streamed through SendMessages over ONE phone (the lone busy phone of
  a 1,000/s account: its per-phone keys at their worst), the sandbox answering each with sent, delivered and
  read status events through IngestEvents: extrapolated to 1,000 sends/s (and so 3,000 status events/s).
- inbound: customers writing to one phone (INBOUND_CUSTOMERS x INBOUND_TEXTS texts through the sandbox's
  SNS-shaped events and IngestEvents): extrapolated to 1,000 inbound messages/s (Meta counts a phone's inbound
  against its limit, 1,000/s for an upgraded number).
- bulk: WhatsApp jobs of JOBS recipients, each paused a third of the way and resumed: per recipient of the larger
  job, extrapolated to 1,000 recipients/s and totalled for a 1,000,000-recipient job, except keys whose units
  follow the time a job ran rather than its recipients (polls; told apart by the two sizes), counted a second;
  the two sizes (in chunks of CHUNK_SIZE, several a job) also show which items and requests grow with a job
  (growth(): what a chunk, a status batch or DynamoDB's own per-request cap bounds is listed apart).

A key sharded by a hash of the message id (`b#<stream>#<n>`) is one scope: its hottest shard at the rate is the
mean + 3 sigma of a second, unless the run's own hottest shard is more than sampling explains (a real hot shard,
reported as measured): bench/dynamodb_model.Spread. The stack runs one messaging process (ENV: why) and each
window prints its hand-offs a message (design 1: more means put back and handed off again).

moto takes about 100 requests a second here, so the volumes are small: the model is per unit of work. Each key's
units beyond its idle background are divided by the window's work, multiplied by the rate, and the background
added back (bench/dynamodb_model.scale). Writes bench-out/dynamodb-capacity.md (every pattern, every window),
bench-out/dynamodb-capacity.tsv (every key) and the raw log bench-out/dynamodb-capacity.jsonl.

`run(stack, report)` like the other sections (the shared stack is not used), or `python -m bench.dynamodb_bench`."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc

from bench import pause_cost
from bench.dynamodb_model import (
    SPREAD_Z,
    Index,
    Model,
    PatternRow,
    Scaled,
    Schema,
    Spread,
    Tally,
    by_pattern,
    read_log,
    scale,
    scale_fitted,
    schema_of,
)
from bench.report import Report
from localrun.handle import Stack, running_stack
from localrun.procs import ROOT
from localrun.sandbox import log as sandbox_log
from runtime.dynamo_capacity import PARTITION_RCU, PARTITION_WCU
from runtime.settings import Settings
from tests.bulk.support import order_update
from tests.messaging.scenarios import stream_send, template_batch
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.bulk.v1 import bulk_service_pb2_grpc as pb_grpc
from wecare.messaging.v1 import messaging_service_pb2 as mpb

IDLE_SECONDS = 5.0
SENDS = 40
INBOUND_CUSTOMERS, INBOUND_TEXTS = 15, 2
JOBS = (20, 40)  # 2 and 4 chunks: a bulk process works 4 at once, as it did the one chunk of each before
CHUNK_SIZE = 10
# items a request may carry (DynamoDB's limits): a request at its cap is split by the code, it cannot grow further
CAP = {"BatchGetItem": 100, "TransactWriteItems": 100, "TransactGetItems": 100, "BatchWriteItem": 25}
# 1,000 sends/s (with their 3,000 status events/s); inbound at 1,000/s, what one upgraded phone may take in
SEND_RATE, INBOUND_RATE, JOB_RATE, JOB_SIZE = 1000.0, 1000.0, 1000.0, 1_000_000
QUIET_SECONDS = 2.0  # no IngestEvents for this long (and none pending): the window's events are in
ENV = {
    "WECARE_STORE": "dynamodb",
    "WECARE_WHATSAPP_PHONE_RATE": "1000",  # moto is the bound, not the limiter
    "WECARE_LOG_LEVEL": "WARNING",
    # Small chunks, so each job has several (2 and 6): an item or request bounded by a chunk (an identity page,
    # add_chunk's transaction) is the same size at both job sizes, and only what grows with the job grows.
    "WECARE_BULK_CHUNK_SIZE": str(CHUNK_SIZE),
    # One messaging process: moto answers about 100 requests a second, and each process's own loops (holds read
    # 5 times a second, each idle phone's 8 queue shards 4 times a second) took most of them with two; a moto
    # that slow makes the dispatcher's bounds (holds read within 0.8 s, a lease renewed in time) put handed-off
    # messages back, which DynamoDB's milliseconds never do. Per key and per send, the model counts the same.
    "WECARE_MESSAGING_PROCESSES": "1",
}


@dataclass
class Result:
    window: Window
    tally: Tally
    scaled: list[Scaled]
    rows: list[PatternRow]


@dataclass
class Window:
    name: str
    unit: str  # what one unit of work is
    work: int
    rate: float  # units of work a second to extrapolate to
    start: float
    end: float
    note: str = ""

    @property
    def seconds(self) -> float:
        return self.end - self.start


class LogTail:
    """The capacity log read as it grows: when the last call caused by an RPC was made."""

    def __init__(self, path: Path):
        self.path = path
        self._pos = 0

    def last_time(self, cause: str) -> float:
        latest = 0.0
        if not self.path.exists():
            return latest
        with self.path.open(encoding="utf-8") as f:
            f.seek(self._pos)
            for line in f:
                if not line.endswith("\n"):
                    break
                self._pos += len(line.encode())
                record = json.loads(line)
                if cause in record.get("c", ""):
                    latest = max(latest, record["t"])
        return latest


def _events_pending(stack: Stack) -> int:
    with urllib.request.urlopen(f"http://{stack.addresses['sandbox']}/sandbox/health", timeout=5) as reply:
        return int(json.loads(reply.read()).get("events_pending", 0))


async def ingested(stack: Stack, tail: LogTail, seconds: float = QUIET_SECONDS, limit: float = 240) -> bool:
    """Until the sandbox has no event left to deliver and no IngestEvents call has touched DynamoDB for `seconds`
    (the window's events are in). False if that took longer than `limit`."""
    began = last = time.time()
    while time.time() - began < limit:
        await asyncio.sleep(0.25)
        last = max(last, tail.last_time("IngestEvents"))
        if time.time() - last >= seconds and await asyncio.to_thread(_events_pending, stack) == 0:
            return True
    return False


def _whatsapp_sends(stack: Stack) -> int:
    path = stack.run.root / "sandbox-sent.jsonl"
    return sum(1 for c in sandbox_log.read(path) if c.channel == "WHATSAPP") if path.exists() else 0


async def send_window(stack: Stack, tail: LogTail, count: int = SENDS) -> Window:
    phone = Settings().whatsapp_phone_number_ids[0]
    before = _whatsapp_sends(stack)
    start = time.time()
    as_bulk = (("authorization", f"Bearer {stack.service_token('bulk')}"),)  # the stack's own bulk key
    batch = template_batch(count, [phone], key_prefix=f"cap-{start:.0f}-")
    await stream_send(stack.addresses["messaging"], batch, metadata=as_bulk)
    for _ in range(1200):  # every send in the sandbox's log, or 5 minutes
        if _whatsapp_sends(stack) - before >= count:
            break
        await asyncio.sleep(0.25)
    drained = await ingested(stack, tail)
    sent = _whatsapp_sends(stack) - before
    note = f"{sent} sends over 1 phone, statuses on" + ("" if drained else " (NOT all ingested in time)")
    return Window("send", "send", sent, SEND_RATE, start, time.time(), note)


def _post(url: str, body: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as reply:
        reply.read()


async def inbound_window(stack: Stack, tail: LogTail) -> Window:
    phone = Settings().whatsapp_phone_number_ids[0]
    url = f"http://{stack.addresses['sandbox']}/sandbox/inbound"
    start = time.time()
    for n in range(INBOUND_TEXTS):
        for c in range(INBOUND_CUSTOMERS):
            body = {"phone": phone, "from": f"+9196{c:08d}", "text": f"question {n} about order A-{c}", "name": "Asha"}
            await asyncio.to_thread(_post, url, body)
    drained = await ingested(stack, tail)
    events = INBOUND_CUSTOMERS * INBOUND_TEXTS
    note = f"{events} texts from {INBOUND_CUSTOMERS} customers" + ("" if drained else " (NOT all ingested in time)")
    return Window("inbound", "inbound event", events, INBOUND_RATE, start, time.time(), note)


async def bulk_window(stack: Stack, tail: LogTail, size: int) -> Window:
    md = (("authorization", f"Bearer {stack.token('operator')}"),)
    recipients = [
        pb.InlineRecipient(address=f"+9197{size:03d}{i:05d}", display_name=f"Asha {i}", attributes={"order": f"B-{i}"})
        for i in range(size)
    ]
    job = pb.BulkJob(
        display_name=f"capacity {size}",
        channel=mpb.CHANNEL_WHATSAPP,
        category=mpb.CATEGORY_UTILITY,
        content=order_update(),
        inline_audience=pb.InlineAudience(recipients=recipients),
    )
    start = time.time()
    paused_at = None
    async with grpc.aio.insecure_channel(stack.addresses["bulk"]) as channel:
        stub = pb_grpc.BulkServiceStub(channel)
        made = await stub.CreateJob(pb.CreateJobRequest(job=job), metadata=md)
        await stub.StartJob(pb.StartJobRequest(name=made.name), metadata=md)
        while time.time() - start < 300:
            got = await stub.GetJob(pb.GetJobRequest(name=made.name), metadata=md)
            if paused_at is None and got.counts.sent >= size // 3 and got.state == pb.JOB_STATE_RUNNING:
                try:
                    await stub.PauseJob(pb.PauseJobRequest(name=made.name), metadata=md)
                except grpc.aio.AioRpcError as exc:  # it finished between the two calls: nothing to pause
                    if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                        raise
                else:
                    paused_at = got.counts.sent
                    await asyncio.sleep(2)
                    await stub.ResumeJob(pb.ResumeJobRequest(name=made.name), metadata=md)
            if got.state in (pb.JOB_STATE_COMPLETED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED):
                break
            await asyncio.sleep(0.1)
    drained = await ingested(stack, tail)
    state = pb.JobState.Name(got.state).removeprefix("JOB_STATE_").lower()
    how = f"paused at {paused_at} sent and resumed" if paused_at is not None else "NOT paused (it finished first)"
    note = f"{size} recipients, {how}, {state} ({got.counts.sent} sent)"
    note += "" if drained else " (NOT all ingested in time)"
    return Window(f"bulk-{size}", "recipient", size, JOB_RATE, start, time.time(), note)


def _schemas(stack: Stack) -> dict:
    client = stack.aws_client("dynamodb")
    names = client.list_tables()["TableNames"]
    return {n: schema_of(client.describe_table(TableName=n)["Table"]) for n in names}


# --- the report ---------------------------------------------------------------------------------------------------


def _units(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.2f}"


def _hot_key(row: PatternRow) -> Scaled:
    w, r = row.hottest_wcu, row.hottest_rcu
    return w if w.wcu_share >= r.rcu_share else r


def _row_text(row: PatternRow, rate: float) -> str:
    w, r = row.hottest_wcu, row.hottest_rcu
    failed = f", {_units(w.failed_per * rate)} of them refused/cancelled" if w.failed_per else ""
    return (
        f"{_units(w.wcu_rate)} WCU/s ({w.wcu_share:.2f} of {PARTITION_WCU:,}{failed}); "
        f"{_units(r.rcu_rate)} RCU/s ({r.rcu_share:.2f} of {PARTITION_RCU:,})"
    )


def _spread_text(s: Spread) -> str:
    why = "REAL hot shard, as measured" if s.real else "within sampling"
    return (
        f"{s.scope.split('#')[0]}#*#<{s.shards}> mean {s.mean / PARTITION_WCU:.2f}, hottest "
        f"{s.figure / PARTITION_WCU:.2f} of a partition ({why}: the run's hottest shard {s.sample_hottest:.1f} "
        f"units of work, bound {s.sample_bound:.1f})"
    )


def _key_name(row: PatternRow) -> str:
    return row.where if row.keys == 1 else f"{row.where} ({row.keys} keys; hottest {_hot_key(row).key[2]})"


def _handoffs(churn: float, unit: str) -> str:
    if not churn:
        return ""
    if churn <= 1.1:
        return f"; {churn:.2f} hand-offs a {unit} (design 1)"
    return (
        f"; {churn:.2f} hand-offs a {unit} (design 1: the rest were put back and handed off again, the store "
        "slower than the dispatcher's bounds; queue and doubt include them)"
    )


def summarise(report: Report, result: Result) -> None:
    window, tally, rows = result.window, result.tally, result.rows
    wcu = sum(r.wcu_per for r in rows)
    rcu = sum(r.rcu_per for r in rows)
    failed = sum(r.failed_per for r in rows)
    refused = sum(tally.refused.values())
    hot = [r for r in rows if r.hot]
    at = f"{window.rate:,.0f} {window.unit}s/s"
    # a hand-off writes a message's doubt entry in, its outcome takes it out: design 1 a message
    handoffs = sum(load.writes for (_t, index, _k), load in tally.loads.items() if index == "doubt") / 2
    churn = handoffs / window.work if window.work else 0.0
    report.add(
        f"dynamodb {window.name}: {window.note}; {tally.requests:,} requests in {window.seconds:.0f}s "
        f"({refused} refused or cancelled, {tally.retries} SDK retries)",
        f"{wcu:.1f} WCU ({failed:.1f} of them refused/cancelled) + {rcu:.1f} RCU per {window.unit}"
        + _handoffs(churn, window.unit),
        "-",
        "-",
        f"keys over 0.5 of a partition at {at}: {len(hot)}",
    )
    for row in hot:
        hottest = _hot_key(row)
        report.add(
            f"dynamodb {window.name} at {at}: {_key_name(row)}",
            _row_text(row, window.rate),
            f"{max(hottest.wcu_share, hottest.rcu_share):.2f} of a partition",
            "-",
            "target <= 0.5 MISSED",
        )
    sharded = sorted((s for r in rows for s in r.spreads), key=lambda s: -s.figure)[:4]
    if sharded:
        report.add(
            f"dynamodb {window.name} at {at}: sharded keys (shard = crc32 of the message id), hottest first",
            "; ".join(_spread_text(s) for s in sharded),
            "-",
            "-",
            f"a shard's figure: the mean + {SPREAD_Z:g} sigma of a second at the rate, unless the run's hottest "
            "shard is over what sampling at its size explains (then as measured)",
        )
    size, where = tally.largest_item
    body, request = tally.largest_request
    report.add(
        f"dynamodb {window.name}: largest item / largest request",
        f"{size:,} B ({where}) / {body:,} B ({request})",
    )


def growth(report: Report, small: tuple[Window, Tally], large: tuple[Window, Tally], jobless: list[Tally]) -> None:
    """Items and requests whose largest size grew with the job (by more than 10% and 256 bytes), except what a
    bound other than the job explains: a size reached as well in the windows with no job at all (send, inbound:
    a status batch, a sender's pair log of the last seconds), a request carrying as many items as DynamoDB allows
    one (the code splits there), or one carrying at most a chunk's recipients and its two bookkeeping items (the
    jobs have several chunks each: a request per job carries more)."""

    def most(tallies: list[Tally], field: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in tallies:
            for k, v in getattr(t, field).items():
                out[k] = max(out.get(k, 0), v)
        return out

    def grown(a: dict[str, int], b: dict[str, int], elsewhere: dict[str, int], items: dict[str, int] | None):
        found, bounded = [], []
        for k, v in b.items():
            if v <= 1.1 * a.get(k, 0) + 256:
                continue
            text = f"{k} {a.get(k, 0):,} -> {v:,} B"
            if elsewhere.get(k, 0) >= v:
                bounded.append(f"{text} (as large with no job: {elsewhere[k]:,} B)")
            elif items is not None and items.get(k, 0) >= CAP.get(k.split()[0], 10**9):
                bounded.append(f"{text} ({items[k]} items: DynamoDB's most a request, split beyond)")
            elif items is not None and items.get(k, 0) <= CHUNK_SIZE + 2:
                bounded.append(f"{text} (at most {items.get(k, 0)} items: a chunk's)")
            else:
                found.append(text + (f" ({items.get(k, 0)} items)" if items is not None else ""))
        return found, bounded

    (ws, ts), (wl, tl) = small, large
    items, items_bounded = grown(ts.item_max, tl.item_max, most(jobless, "item_max"), None)
    requests, requests_bounded = grown(ts.request_max, tl.request_max, most(jobless, "request_max"), tl.request_items)
    bounded = items_bounded + requests_bounded
    report.add(
        f"dynamodb bulk: items / requests that grow with the job ({ws.work} -> {wl.work} recipients, "
        f"{CHUNK_SIZE} a chunk: {-(-ws.work // CHUNK_SIZE)} and {-(-wl.work // CHUNK_SIZE)} chunks)",
        "items: " + ("; ".join(items) or "none"),
        "requests: " + ("; ".join(requests) or "none"),
        "-",
        "target none: "
        + ("met" if not items and not requests else "MISSED")
        + ("; grew, bounded otherwise: " + "; ".join(bounded) if bounded else ""),
    )


def job_totals(report: Report, result: Result) -> None:
    """A JOB_SIZE job at JOB_RATE: its units per recipient, and its polls for the JOB_SIZE / JOB_RATE seconds."""
    seconds = JOB_SIZE / JOB_RATE
    rows = result.rows
    wcu = sum(r.wcu_per * JOB_SIZE + r.wcu_timed * seconds for r in rows)
    rcu = sum(r.rcu_per * JOB_SIZE + r.rcu_timed * seconds for r in rows)
    top = sorted(rows, key=lambda r: -(r.wcu_per * JOB_SIZE + r.wcu_timed * seconds))[:3]
    report.add(
        f"dynamodb bulk: a {JOB_SIZE:,}-recipient job at {JOB_RATE:,.0f}/s ({seconds:,.0f}s), whole job",
        f"{wcu / 1e6:,.1f}M WCU + {rcu / 1e6:,.1f}M RCU",
        "-",
        "-",
        "most: "
        + "; ".join(f"{r.where} {(r.wcu_per * JOB_SIZE + r.wcu_timed * seconds) / 1e6:,.1f}M WCU" for r in top),
    )


def write_files(out: Path, results: list[Result]) -> None:
    md = [
        "# DynamoDB capacity model (`make bench dynamodb`)",
        "",
        "Per pattern of partition keys (of a table, or table/GSI): units per unit of work beyond the idle background,",
        "units a second at the window's rate for all keys of the pattern, and for its hottest key with its share of",
        "a partition's limit (1,000 WCU/s, 3,000 RCU/s). `failed`: refused conditions and cancelled transactions,",
        "included in WCU. `timed`: a second while the work runs, at any rate (bulk: polls, told apart by 2 job sizes).",
        "A pattern marked `per item` has a key for about every unit of work (`msg#*`): its keys do not get hotter",
        "with the rate, there are more of them; its hottest key shows all the units it took in the run, unscaled.",
        "",
    ]
    tsv = [
        "window\ttable\tindex\tpartition\twcu\trcu\twrites\treads\tfailed_wcu\tlargest_item\t"
        "wcu_per\trcu_per\twcu_timed\trcu_timed\twcu_per_s\trcu_per_s\twcu_share\trcu_share"
    ]
    for result in results:
        window, tally = result.window, result.tally
        md += [
            f"## {window.name}: {window.note}",
            "",
            f"{window.work} {window.unit}s in {window.seconds:.1f}s; {tally.requests:,} requests; "
            f"extrapolated to {window.rate:,.0f} {window.unit}s/s.",
            "",
            "| table/index pattern | keys | WCU per | of it failed | RCU per | WCU/s timed | RCU/s timed | WCU/s "
            "all keys | RCU/s all keys | hottest key WCU/s (share) | hottest key RCU/s (share) | largest item |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result.rows:
            w, rd = r.hottest_wcu, r.hottest_rcu
            md.append(
                f"| {r.where}{' (per item)' if r.per_item else ''} | {r.keys} | "
                f"{r.wcu_per:.3f} | {r.failed_per:.3f} | {r.rcu_per:.3f} | "
                f"{r.wcu_timed:.2f} | {r.rcu_timed:.2f} | {_units(r.wcu_rate)} | {_units(r.rcu_rate)} | "
                f"{w.key[2]} {_units(w.wcu_rate)} ({w.wcu_share:.2f}) | "
                f"{rd.key[2]} {_units(rd.rcu_rate)} ({rd.rcu_share:.2f}) | {r.largest_item:,} |"
            )
        md += [""] + [f"- sharded: {s.text(window.unit)}" for r in result.rows for s in r.spreads]
        refused = ", ".join(f"{k} x{v}" for k, v in tally.refused.items()) or "none"
        size, where = tally.largest_item
        body, request = tally.largest_request
        md += [
            "",
            f"Refused or cancelled: {refused}. Largest item {size:,} B ({where}); largest request "
            f"{body:,} B ({request}).",
            "",
        ]
        for sc in sorted(result.scaled, key=lambda sc: sc.key):
            load = sc.load
            values = (
                window.name, *sc.key, f"{load.wcu:g}", f"{load.rcu:g}", load.writes, load.reads,
                f"{load.failed_wcu:g}", load.largest_item, f"{sc.wcu_per:.4f}", f"{sc.rcu_per:.4f}",
                f"{sc.wcu_timed:.3f}", f"{sc.rcu_timed:.3f}", f"{sc.wcu_rate:.1f}", f"{sc.rcu_rate:.1f}",
                f"{sc.wcu_share:.3f}", f"{sc.rcu_share:.3f}",
            )  # fmt: skip
            tsv.append("\t".join(str(v) for v in values))
    (out / "dynamodb-capacity.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (out / "dynamodb-capacity.tsv").write_text("\n".join(tsv) + "\n", encoding="utf-8")


# --- the section --------------------------------------------------------------------------------------------------


async def measure(root: Path, progress=print, jobs: tuple[int, ...] = JOBS) -> tuple[list[Window], dict, Path, str]:
    """Runs the windows on a stack of its own under root; the log stays in root. Also returns what went wrong
    stopping the stack (moto, or a process, not stopping cleanly does not spoil what was measured)."""
    log = root / "capacity.jsonl"
    env = {**ENV, "WECARE_DYNAMODB_CAPACITY_LOG": str(log)}
    stack_cm = running_stack(root, extra_env=env)
    stack = await asyncio.to_thread(stack_cm.__enter__)
    windows: list[Window] = []
    try:
        tail = LogTail(log)
        start = time.time()
        await asyncio.sleep(IDLE_SECONDS)
        tail.last_time("")
        windows.append(Window("idle", "second", 0, 0.0, start, time.time()))
        steps = [lambda: send_window(stack, tail), lambda: inbound_window(stack, tail)]
        steps += [lambda size=size: bulk_window(stack, tail, size) for size in jobs]
        for step in steps:
            windows.append(await step())
            w = windows[-1]
            progress(f"dynamodb {w.name}: {w.note} in {w.seconds:.1f}s")
        schemas = await asyncio.to_thread(_schemas, stack)
    finally:
        try:
            await asyncio.to_thread(stack_cm.__exit__, None, None, None)
            stopped = ""
        except RuntimeError as exc:  # e.g. moto exiting 1 on SIGTERM after a heavy run
            lines = str(exc).splitlines()
            stopped = "; ".join([lines[0], *(x.strip() for x in lines if "exit 1" in x or "cleanly" in x)])
    return windows, schemas, log, stopped


def analyse(windows: list[Window], schemas: dict, log: Path) -> tuple[list[Result], list[tuple[Window, Tally]]]:
    """One result a window (send, inbound) and one for the bulk jobs together (fitted over their two sizes);
    and each job's own tally, for what grows with a job."""
    tallies = Model(schemas).tally(read_log(log), {w.name: (w.start, w.end) for w in windows})
    idle_window, *rest = windows
    idle = tallies[idle_window.name]
    results = []
    for w in rest:
        if not w.name.startswith("bulk-"):
            scaled = scale(tallies[w.name], w.seconds, w.work, w.rate, idle, idle_window.seconds)
            results.append(Result(w, tallies[w.name], scaled, by_pattern(scaled, w.work, w.rate)))
    jobs = [(w, tallies[w.name]) for w in rest if w.name.startswith("bulk-")]
    if len(jobs) == 2:
        runs = [(t, w.seconds, w.work) for w, t in jobs]
        scaled = scale_fitted(runs, JOB_RATE, idle, idle_window.seconds)
        merged = Tally()
        for _w, t in jobs:
            for key, load in t.loads.items():
                merged.loads[key].add(load)
            merged.requests += t.requests
            merged.retries += t.retries
            for k, v in t.refused.items():
                merged.refused[k] += v
            merged.largest_item = max(merged.largest_item, t.largest_item)
            merged.largest_request = max(merged.largest_request, t.largest_request)
        first, last = jobs[0][0], jobs[-1][0]
        notes = "; ".join(w.note for w, _t in jobs)
        window = Window("bulk", "recipient", sum(w.work for w, _t in jobs), JOB_RATE, first.start, last.end, notes)
        results.append(Result(window, merged, scaled, by_pattern(scaled, jobs[-1][0].work, JOB_RATE)))
    return results, jobs


def report_run(report: Report, out: Path, windows: list[Window], schemas: dict) -> None:
    """The model's tables from a run's log and windows (bench-out/dynamodb-capacity.jsonl and -windows.json)."""
    results, jobs = analyse(windows, schemas, out / "dynamodb-capacity.jsonl")
    for result in results:
        summarise(report, result)
    if len(jobs) == 2:
        growth(report, jobs[0], jobs[1], [r.tally for r in results if not r.window.name.startswith("bulk")])
        job_totals(report, results[-1])
    write_files(out, results)


def _index(raw: dict) -> Index:
    return Index(raw["name"], raw["hash"], raw["range"], raw["projection"], frozenset(raw["include"]))


def again(out: Path) -> Report:
    """The last run's log analysed again (`python -m bench.dynamodb_bench --again`): for a change of the model."""
    saved = json.loads((out / "dynamodb-capacity-windows.json").read_text(encoding="utf-8"))
    windows = [Window(**w) for w in saved["windows"]]
    schemas = {
        n: Schema(s["table"], _index(s["key"]), tuple(_index(i) for i in s["indexes"]))
        for n, s in saved["schemas"].items()
    }
    report = Report()
    report_run(report, out, windows, schemas)
    return report


async def run(stack, report: Report) -> None:
    out = ROOT / "bench-out"
    out.mkdir(exist_ok=True)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wecare-dynamodb-bench-") as tmp:
        report.progress("dynamodb: a stack on DynamoDB (moto) with the capacity log")
        windows, schemas, log, stopped = await measure(Path(tmp), report.progress)
        shutil.copyfile(log, out / "dynamodb-capacity.jsonl")
    if stopped:
        report.note(f"dynamodb: the stack did not stop cleanly: {stopped}")
    saved = {"windows": [asdict(w) for w in windows], "schemas": {n: asdict(s) for n, s in schemas.items()}}
    (out / "dynamodb-capacity-windows.json").write_text(json.dumps(saved, default=list), encoding="utf-8")
    report_run(report, out, windows, schemas)
    if stack is not None:  # the pause's cost at two job sizes, on the bench stack's embedded AWS
        report.progress("dynamodb: a pause's withdrawal at two job sizes")
        with tempfile.TemporaryDirectory(prefix="wecare-pause-cost-") as tmp:
            await pause_cost.run(stack.facts["WECARE_AWS_ENDPOINT_URL"], Path(tmp), report)
    report.note(
        f"dynamodb: {time.monotonic() - began:.0f}s; per-key tables in bench-out/dynamodb-capacity.md (patterns) "
        "and .tsv (every key), the raw log in bench-out/dynamodb-capacity.jsonl; docs/BENCHMARKS.md "
        "'DynamoDB capacity model' says how to read them"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--again"]:
        out_report = again(ROOT / "bench-out")
    else:
        out_report = Report()
        asyncio.run(run(None, out_report))
    print(out_report.markdown())
