"""An offline profile of a scenario's processes with py-spy (a sampling profiler, not a dependency of the
project: `.venv/bin/pip install py-spy`), run once and summarised in docs/BENCHMARKS.md, never in `make bench`:

    .venv/bin/python -m bench.messaging_bench precision-13phones --py-spy bench-out/pyspy

records every process of the scenario (`py-spy record --nonblocking --format raw`, one file a process) over the
send, then prints each process's samples grouped by phase (bench/phases.py). --nonblocking reads the processes
without stopping them (a sample may be torn; at 100 samples a second over tens of seconds that is noise)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


@contextlib.contextmanager
def recording(pids: dict[str, int], out: Path, rate: int = 100) -> Iterator[dict[str, Path]]:
    """py-spy records each named process into out/<name>.txt (raw: one line per distinct stack, its count)
    while the block runs; stopped with SIGINT (py-spy writes its file then)."""
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / f"{name}.txt" for name in pids}
    procs = []
    for name, pid in pids.items():
        args = [py_spy(), "record", "--nonblocking", "--full-filenames", "--format", "raw", "--rate", str(rate)]
        args += ["--pid", str(pid), "--output", str(files[name])]
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(out / f"{name}.py-spy.log", "wb")))
    try:
        yield files
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
