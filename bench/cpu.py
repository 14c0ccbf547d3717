"""CPU time of running processes, read from the processes themselves, and the benchmark's accounting with it.

A process's CPU time is its user + system time, all its threads, as the kernel counts it in /proc/<pid>/stat
(proc(5): utime and stime, in clock ticks). A meter reads it for named processes at the start and at the end of
a window; divided by the units of work done in the window it is CPU microseconds per unit (per send). CPU time
counts only what a process itself ran, so it moves much less with other load on the machine than a throughput
figure does (a loaded machine still costs a little: caches, migrations and more frequent wake-ups)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process `pid` has used so far (every thread, living or ended; not its
    children). Raises ProcessLookupError when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        raise ProcessLookupError(f"no process {pid}") from None
    return stat_cpu_seconds(text)


def stat_cpu_seconds(text: str) -> float:
    """utime + stime of a /proc/<pid>/stat line, in seconds. The command name (field 2) is in parentheses and
    may itself hold spaces and parentheses: the fields are counted after the last ')', from field 3 (state);
    utime and stime are fields 14 and 15 (proc(5))."""
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass(frozen=True)
class Reading:
    """CPU seconds each named process used over a window, and the window's wall-clock seconds."""

    cpu: dict[str, float]
    seconds: float

    def micros_per(self, name: str, units: int) -> float:
        """CPU microseconds of `name` per unit of work done in the window."""
        if units <= 0:
            raise ValueError("no units of work in the window")
        return self.cpu[name] * 1e6 / units

    def group(self, prefix: str) -> float:
        """CPU seconds of every process whose name is `prefix` or starts with `prefix-` (messaging-1, -2...)."""
        return sum(v for k, v in self.cpu.items() if k == prefix or k.startswith(prefix + "-"))

    def cores(self, name: str) -> float:
        """How many cores `name` kept busy on average over the window."""
        return self.cpu[name] / self.seconds if self.seconds > 0 else 0.0


class CpuMeter:
    """Reads the named processes' CPU time at start() and at read(); read() gives what each used in between."""

    def __init__(self, pids: dict[str, int]):
        self.pids = dict(pids)
        self._start: dict[str, float] = {}
        self._began = 0.0

    def now(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def start(self) -> CpuMeter:
        self._start = self.now()
        self._began = time.monotonic()
        return self

    def read(self) -> Reading:
        if not self._start:
            raise RuntimeError("the meter was not started")
        end = self.now()
        return Reading({n: end[n] - self._start[n] for n in self.pids}, time.monotonic() - self._began)


def wait_quiet(pids: dict[str, int], busy: float = 0.1, sample: float = 0.5, timeout: float = 15.0) -> bool:
    """Waits until no process of `pids` used more than `busy` of a core over one `sample` (work that outlives a
    call, like applying status events, has finished); False if they were still busy after `timeout`."""
    deadline = time.monotonic() + timeout
    meter = CpuMeter(pids)
    while time.monotonic() < deadline:
        meter.start()
        time.sleep(sample)
        reading = meter.read()
        if all(reading.cores(name) <= busy for name in pids):
            return True
    return False
