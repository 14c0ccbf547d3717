"""Issue 3's figures: dispatch precision and engine headroom, each scenario on its own processes (sandbox,
contacts, one or three messaging processes on one embedded store) with its own sandbox log, named in the table.

- Dispatch precision: a streamed send under backlog; from the sandbox log, the worst sliding one-second window
  per limit (per phone, account) and the sustained rate as a ratio of the binding limit (target >= 0.98), both
  over the whole send and in the steady state (first and last second left out).
- Engine headroom: the limits lifted (1,000/s per phone, 100,000/s account), the full path (durable accept,
  provider call through the sandbox, sent record, status events to IngestEvents): sends/s, reported against
  the 1,000/s account limit (goal 3x, stretch 5x).

Interface: `run(stack, report)` like the other sections (the stack is not used: every scenario starts its own
processes), or `python -m bench.messaging_bench [scenario ...]` alone. About 3 minutes on 2 cores."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from bench.report import Report
from localrun.sandbox import log as sandbox_log
from tests.messaging.scenarios import Outcome, run_dispatch

# name -> (messages, phones, processes, phone rate, account rate, sandbox statuses)
SCENARIOS: dict[str, tuple[int, int, int, float, float, list[str]]] = {
    "precision-2phones": (4_000, 2, 1, 80.0, 1000.0, []),
    "precision-13phones": (20_000, 13, 1, 80.0, 1000.0, []),
    "precision-13phones-3procs": (20_000, 13, 3, 80.0, 1000.0, []),
    "headroom": (8_000, 13, 1, 1000.0, 100_000.0, ["sent", "delivered", "read"]),
}
ACCOUNT_LIMIT = 1000.0


def scenario(name: str, root: Path) -> Outcome:
    messages, phones, processes, phone_rate, account_rate, statuses = SCENARIOS[name]
    extra = {"WECARE_WHATSAPP_PAIR_INTERVAL_SECONDS": "0"} if name == "headroom" else {}
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
    )


def record(report: Report, o: Outcome, keep: Path) -> None:
    """One row per figure; the scenario's sandbox log is kept under `keep` and named."""
    kept = keep / f"{o.name}.sandbox-sent.jsonl"
    shutil.copyfile(o.log_path, kept)
    times = [c.t_ns for c in o.calls]
    steady = sandbox_log.steady_rate(times)
    r = o.report
    if o.name == "headroom":
        ratio = o.sustained / ACCOUNT_LIMIT
        report.add(
            f"messaging headroom: {o.messages:,} sends, limits lifted, status events on ({kept})",
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


async def run(stack, report: Report, names: list[str] | None = None) -> None:
    keep = Path(tempfile.mkdtemp(prefix="wecare-messaging-bench-"))
    for name in names or list(SCENARIOS):
        report.progress(f"messaging {name}")
        with tempfile.TemporaryDirectory(prefix=f"wecare-{name}-") as tmp:
            outcome = await asyncio.to_thread(scenario, name, Path(tmp))
            record(report, outcome, keep)
    report.note(f"messaging: each scenario's sandbox log is kept in {keep}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.messaging_bench")
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    chosen = parser.parse_args().scenarios or list(SCENARIOS)
    out = Report()
    asyncio.run(run(None, out, chosen))
    print(out.markdown())
