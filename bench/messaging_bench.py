"""Issue 3's figures: dispatch precision and engine headroom, each scenario on its own processes (sandbox,
contacts, one, two or three messaging processes on one embedded store) with its own sandbox log, named in the table.

- Dispatch precision: a streamed send under backlog; from the sandbox log, the worst sliding one-second window
  per limit (per phone, account) and the sustained rate as a ratio of the binding limit (target >= 0.98), both
  over the whole send and in the steady state (first and last second left out).
- Engine headroom: the limits lifted (1,000/s per phone, 100,000/s account), the full path (durable accept,
  provider call through the sandbox, sent record, status events to IngestEvents): sends/s, reported against
  the 1,000/s account limit (goal 3x, stretch 5x); on one process and on two (the local run's default here).
- CPU per send (issue 13), a table of its own: every scenario's processes' CPU time over its send, read from the
  processes (/proc, bench/cpu.py) from the stream's start until the status events are ingested and every
  process is quiet again, divided by the sends: messaging (each process), the sandbox, the client (this
  process, over its stream), contacts. Beside them two floors, measured after the last scenario's send
  against its sandbox (bench/cpu_floors.py): a bare aiohttp POST of the same body and a bare aiobotocore
  send_whatsapp_message, the caller's CPU per call and the sandbox's per request. The ratio of messaging's CPU
  per send to the aiohttp floor (goal: at most 3x) is a row of the main table, for the whole path: headroom,
  status events ingested.

Interface: `run(stack, report)` like the other sections (the stack is not used: every scenario starts its own
processes), or `python -m bench.messaging_bench [scenario ...] [--py-spy DIR]` alone (--py-spy: an offline
profile of every process over each send, grouped by phase: bench/pyspy.py). About 4 minutes on 2 cores."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from bench import phases
from bench.cpu_floors import Floor, measure_floors
from bench.pyspy import recording
from bench.report import Report
from localrun.sandbox import log as sandbox_log
from tests.messaging.scenarios import Outcome, run_dispatch

# name -> (messages, phones, processes, phone rate, account rate, sandbox statuses)
SCENARIOS: dict[str, tuple[int, int, int, float, float, list[str]]] = {
    "precision-2phones": (2_000, 2, 1, 80.0, 1000.0, []),  # 12.5 s at 160/s: 10 steady seconds
    "precision-13phones": (20_000, 13, 1, 80.0, 1000.0, []),
    "precision-13phones-3procs": (20_000, 13, 3, 80.0, 1000.0, []),
    "headroom": (8_000, 13, 1, 1000.0, 100_000.0, ["sent", "delivered", "read"]),
    "headroom-2procs": (8_000, 13, 2, 1000.0, 100_000.0, ["sent", "delivered", "read"]),
}
DESCRIPTIONS = {
    "precision-2phones": "2 phones at 80/s, no status events",
    "precision-13phones": "13 phones at 80/s, the 1,000/s account binds, no status events",
    "precision-13phones-3procs": "the same on 3 messaging processes",
    "headroom": "limits lifted; sent, delivered and read ingested",
    "headroom-2procs": "the same on 2 messaging processes (the local run's default on 2 cores)",
}
ACCOUNT_LIMIT = 1000.0
CPU_GOAL = 3.0  # messaging's CPU per send, at most this many times the bare aiohttp POST's


def scenario(name: str, root: Path, floors: bool = False, profile: Path | None = None) -> Outcome:
    """`floors`: measure the CPU floors against this scenario's sandbox after its send (Outcome.after);
    `profile`: record every process with py-spy over the send into that folder."""
    messages, phones, processes, phone_rate, account_rate, statuses = SCENARIOS[name]
    extra = {"WECARE_WHATSAPP_PAIR_INTERVAL_SECONDS": "0"} if name.startswith("headroom") else {}
    return run_dispatch(
        root / name,
        name=name,
        messages=messages,
        phones=phones,
        process_count=processes,
        phone_rate=phone_rate,
        account_rate=account_rate,
        sandbox_config={"statuses": statuses},
        extra_settings=extra,
        measure_cpu=True,
        observe=(lambda pids: recording(pids, profile)) if profile else None,
        after=measure_floors if floors else None,
    )


def record(report: Report, o: Outcome, keep: Path) -> None:
    """One row per figure; the scenario's sandbox log is kept under `keep` and named."""
    kept = keep / f"{o.name}.sandbox-sent.jsonl"
    shutil.copyfile(o.log_path, kept)
    times = [c.t_ns for c in o.calls]
    steady = sandbox_log.steady_rate(times)
    r = o.report
    if o.name.startswith("headroom"):
        ratio = o.sustained / ACCOUNT_LIMIT
        report.add(
            f"messaging {o.name}: {o.messages:,} sends, {o.processes} process(es), limits lifted, status events on"
            f" ({kept})",
            f"{o.sustained:,.0f} sends/s (steady {steady:,.0f}/s)",
            f"{ratio:.2f}x of 1,000/s",
            "-",
            "goal 3x " + ("met" if ratio >= 3 else "MISSED") + ", stretch 5x",
        )
        return
    violations = r.violations(phone_limit=80, account_limit=ACCOUNT_LIMIT)
    report.add(
        f"messaging {o.name}: worst second per phone / account ({kept})",
        f"{r.max_per_phone} / {r.account}",
        "-",
        "-",
        "limits 80 / 1,000 " + ("held" if not violations else "BROKEN: " + "; ".join(violations)),
    )
    report.add(
        f"messaging {o.name}: sustained rate, {o.messages:,} messages, {o.phones} phones, {o.processes} process(es)",
        f"{o.sustained:,.1f}/s (steady {steady:,.1f}/s)",
        f"{o.ratio:.3f} (steady {steady / o.binding_limit:.3f}) of {o.binding_limit:g}/s",
        "-",
        "target >= 0.98 " + ("met" if steady / o.binding_limit >= 0.98 else "MISSED"),
    )


def sends(o: Outcome) -> int:
    """The sends of the window: the provider calls the sandbox accepted for the scenario's messages."""
    return len(o.calls)


def cpu_row(o: Outcome, aiohttp_us: float) -> tuple[str, ...]:
    c, n = o.cpu, sends(o)
    each = sorted(k for k in c.cpu if k.startswith("messaging-"))
    messaging = c.group("messaging") * 1e6 / n
    cell = f"{messaging:,.0f}" + (f" ({' / '.join(f'{c.micros_per(k, n):,.0f}' for k in each)})" if each else "")
    return (
        f"{o.name}: {DESCRIPTIONS.get(o.name, '')}",
        f"{n:,} sends",
        f"{c.seconds:.1f} ({o.elapsed:.1f})",
        cell,
        f"{c.micros_per('sandbox', n):,.0f}",
        f"{c.micros_per('client', n):,.0f}",
        f"{c.micros_per('contacts', n):,.0f}",
        f"{sum(c.cpu.values()) * 1e6 / n:,.0f}",
        f"{messaging / aiohttp_us:.1f}x",
    )


FLOOR_NAMES = {
    "aiohttp": "floor: bare aiohttp POST of the same body ({body} B)",
    "sdk": "floor: bare aiobotocore send_whatsapp_message (defaults)",
    "sdk-fixed-ua": "(not a floor) aiobotocore with messaging's client settings (fixed User-Agent, one attempt)",
    "lean": "(not a floor) the lean call messaging sends with (runtime/aws_lean.py)",
}


def floor_row(f: Floor, aiohttp_us: float) -> tuple[str, ...]:
    return (
        FLOOR_NAMES[f.kind].format(body=f.body_bytes) + ", 16 at a time",
        f"{f.calls:,} calls",
        f"{f.wall_s:.1f}",
        "-",
        f"{f.sandbox_us:,.0f}",
        f"{f.client_us:,.0f}",
        "-",
        f"{f.sandbox_us + f.client_us:,.0f}",
        f"{f.client_us / aiohttp_us:.1f}x",
    )


def record_cpu(report: Report, outcomes: list[Outcome], floors: list[Floor], loads: tuple) -> None:
    """The CPU table (one row a scenario, then the floors), the ratio row of the main table, and notes."""
    aiohttp_us = next(f.client_us for f in floors if f.kind == "aiohttp")
    head = (
        "CPU µs per send (floors: per call)",
        "sends",
        "window s (stream s)",
        "messaging (each process)",
        "sandbox",
        "client",
        "contacts",
        "all",
        "messaging (floors: the caller) / aiohttp floor",
    )
    rows = [cpu_row(o, aiohttp_us) for o in outcomes] + [floor_row(f, aiohttp_us) for f in floors]
    report.table("CPU per send, per process (issue 13): each process's own CPU time over the send", head, rows)
    whole = next((o for o in outcomes if o.name == "headroom"), outcomes[-1])
    messaging = whole.cpu.group("messaging") * 1e6 / sends(whole)
    ratio = messaging / aiohttp_us
    report.add(
        f"messaging CPU per send / bare aiohttp POST (caller's CPU per call), {whole.name}: the whole path",
        f"{messaging:,.0f} µs / {aiohttp_us:,.0f} µs",
        f"{ratio:.1f}x",
        "-",
        f"goal <= {CPU_GOAL:g}x " + ("met" if ratio <= CPU_GOAL else "MISSED"),
    )
    idle = "; ".join(
        f"{o.name} " + ", ".join(f"{k} {v * 1000 / o.idle.seconds:.0f}" for k, v in o.idle.cpu.items())
        for o in outcomes
    )
    report.note(
        "CPU per send: user + system time of each process (every thread) from /proc/<pid>/stat at the stream's "
        "start and once the sandbox has delivered every status event and no process uses more than 0.1 core "
        "(the client: over its stream), divided by the sends (10 ms ticks); the floors' callers are processes of "
        "their own (bench/floor_client.py), measured "
        f"against the last scenario's sandbox after its send. Load average (1 min) {loads[0]:.1f} at the section's "
        f"start, {loads[1]:.1f} at its end: CPU time per send moves much less with load than rates do, but not "
        f"nothing (caches, wake-ups). Idle background in the second before each send, CPU ms/s: {idle}"
    )
    pinned = os.environ.get("WECARE_BENCH_MESSAGING_CPUS")
    if pinned:
        report.note(
            f"messaging: WECARE_BENCH_MESSAGING_CPUS={pinned}: every messaging process ran on CPU {pinned} only (a pod"
            " of that many vCPUs), the sandbox and contacts on the other cores, the client unpinned"
        )
    restless = [o.name for o in outcomes if not o.quiet]
    if restless:
        report.note(f"CPU per send: a process was still busy when the window closed in {', '.join(restless)}")


async def run(stack, report: Report, names: list[str] | None = None, profile: Path | None = None) -> None:
    keep = Path(tempfile.mkdtemp(prefix="wecare-messaging-bench-"))
    names = names or list(SCENARIOS)
    outcomes: list[Outcome] = []
    load_start = os.getloadavg()[0]
    for name in names:
        report.progress(f"messaging {name}")
        with tempfile.TemporaryDirectory(prefix=f"wecare-{name}-") as tmp:
            outcome = await asyncio.to_thread(
                scenario, name, Path(tmp), name == names[-1], profile / name if profile else None
            )
            record(report, outcome, keep)
            outcomes.append(outcome)
    record_cpu(report, outcomes, outcomes[-1].after, (load_start, os.getloadavg()[0]))
    report.note(f"messaging: each scenario's sandbox log is kept in {keep}")
    if profile:
        for o in outcomes:
            write_phases(o, profile / o.name)


def write_phases(o: Outcome, folder: Path) -> None:
    """The py-spy profile of each process of the scenario, grouped by phase, to folder/phases.md and stdout."""
    parts = [f"### {o.name}: {DESCRIPTIONS.get(o.name, '')}"]
    for name in o.cpu.cpu:
        path = folder / f"{name}.txt"
        if path.exists():
            summary = phases.summarise_file(path, phases.kind_of(name))
            parts.append(phases.markdown(name, summary, o.cpu.micros_per(name, sends(o))))
    text = "\n\n".join(parts) + "\n"
    (folder / "phases.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.messaging_bench")
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="record every process with py-spy into DIR")
    args = parser.parse_args()
    out = Report()
    asyncio.run(run(None, out, args.scenarios or list(SCENARIOS), args.py_spy))
    print(out.markdown())
