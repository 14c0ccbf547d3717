"""`make bench`: starts the platform as `make run` does (own run dir, free ports), runs every section, prints
one table with the baseline measured in the same run, and writes it to bench-out/BENCHMARKS.latest.md."""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
import time
from pathlib import Path

from bench import ai_bench, bulk_bench, contacts_bench, dynamodb_bench, inbound_bench, messaging_bench, pause_dynamodb
from bench.report import Report
from localrun.handle import running_stack
from localrun.procs import ROOT

SECTIONS = {
    "contacts": contacts_bench.run,
    "messaging": messaging_bench.run,
    "bulk": bulk_bench.run,
    "ai": ai_bench.run,
    "dynamodb": dynamodb_bench.run,
    "inbound": inbound_bench.run,
    "pause": pause_dynamodb.run,  # PauseJob on a 1,000,000-recipient job on DynamoDB (moto): a stack of its own
}
# Run only when named (`make bench pause`): on the embedded moto it takes longer than the whole budget of the rest.
ON_REQUEST = {"pause"}


async def main(selected: list[str]) -> None:
    report = Report()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wecare-bench-") as tmp, running_stack(Path(tmp)) as stack:
        report.note(f"stack ready in {stack.ready_seconds:.1f}s; run dir {stack.run.root}")
        ready = time.perf_counter() - began
        took: dict[str, float] = {}
        for name in selected:
            report.progress(f"section {name}")
            section_began = time.perf_counter()
            await SECTIONS[name](stack, report)
            took[name] = time.perf_counter() - section_began
    report.note(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"{__import__('os').cpu_count()} cores; whole run {time.perf_counter() - began:.0f}s (stack start "
        f"{ready:.0f}s, " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in took.items()) + "; budget 600s)"
    )
    table = report.markdown()
    print()
    print(table)
    out = ROOT / "bench-out"
    out.mkdir(exist_ok=True)
    (out / "BENCHMARKS.latest.md").write_text(table + "\n", encoding="utf-8")
    print(f"\n(written to {out / 'BENCHMARKS.latest.md'}; docs/BENCHMARKS.md records a run)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument(
        "sections", nargs="*", help=f"any of {', '.join(SECTIONS)} (default: all but {', '.join(sorted(ON_REQUEST))})"
    )
    chosen = parser.parse_args().sections or [name for name in SECTIONS if name not in ON_REQUEST]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    asyncio.run(main(chosen))
