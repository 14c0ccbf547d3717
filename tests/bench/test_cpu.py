"""The benchmark's CPU accounting (bench/cpu.py) against a child process that burns a known amount of CPU and
says how much by its own clock (time.process_time): what /proc says of it must agree, whatever the machine's
load (only the CPU the child itself ran is compared, never a duration)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bench.cpu import CLOCK_TICKS, CpuMeter, Reading, cpu_seconds, stat_cpu_seconds, wait_quiet

# Burns CPU when told how much, then reports its own CPU time (before, after) and waits for the next line.
BURNER = """
import json, sys, time
for line in sys.stdin:
    seconds = float(line)
    before = time.process_time()
    while time.process_time() - before < seconds:
        pass
    print(json.dumps([before, time.process_time()]), flush=True)
"""
# /proc counts in clock ticks; the child's own clock is exact: they agree within a tick or two.
TOLERANCE = 3 / CLOCK_TICKS


@pytest.fixture
def burner() -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def burn(proc: subprocess.Popen, seconds: float) -> tuple[float, float]:
    proc.stdin.write(f"{seconds}\n")
    proc.stdin.flush()
    before, after = json.loads(proc.stdout.readline())
    return before, after


def test_cpu_seconds_is_what_the_process_itself_used(burner):
    _, after = burn(burner, 0.3)  # the child now waits on stdin: its CPU time stands still
    assert after >= 0.3
    assert cpu_seconds(burner.pid) == pytest.approx(after, abs=TOLERANCE)


def test_the_meter_counts_only_the_window(burner):
    burn(burner, 0.2)  # before the window: not counted
    meter = CpuMeter({"burner": burner.pid, "idle": os.getpid()}).start()
    before, after = burn(burner, 0.4)
    reading = meter.read()
    assert reading.cpu["burner"] == pytest.approx(after - before, abs=TOLERANCE)
    assert reading.cpu["burner"] < 0.6 - 2 * TOLERANCE  # the 0.2 s burnt before the window is not in it
    assert reading.micros_per("burner", 1000) == pytest.approx(reading.cpu["burner"] * 1000)
    assert set(reading.cpu) == {"burner", "idle"}


def test_reading_groups_processes_by_name_and_refuses_no_units():
    r = Reading({"messaging-1": 0.5, "messaging-2": 0.25, "messagingx": 9.0, "sandbox": 1.0}, seconds=2.0)
    assert r.group("messaging") == 0.75  # messaging-N, not a name that merely starts alike
    assert Reading({"messaging": 0.4}, 1.0).group("messaging") == 0.4
    assert r.micros_per("sandbox", 4) == 250_000
    assert r.cores("sandbox") == 0.5
    with pytest.raises(ValueError):
        r.micros_per("sandbox", 0)


def test_stat_lines_with_awkward_command_names():
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime ...
    tail = "S 1 1 1 0 -1 4194560 100 0 0 0 {u} {s} 7 8 20 0 1 0 100 1000 10"
    for comm in ("python", "a b", "x) S 1 (y", "))"):
        line = f"4242 ({comm}) " + tail.format(u=3 * CLOCK_TICKS, s=CLOCK_TICKS // 2)
        assert stat_cpu_seconds(line) == pytest.approx(3.5)  # children's times (7, 8) are not counted


def test_a_process_that_is_gone(burner):
    burner.kill()
    burner.wait()
    with pytest.raises(ProcessLookupError):
        cpu_seconds(burner.pid)
    meter = CpuMeter({"gone": burner.pid})
    with pytest.raises(RuntimeError):
        meter.read()  # never started


def test_wait_quiet(burner):
    assert wait_quiet({"burner": burner.pid}, busy=0.1, sample=0.2, timeout=5)  # blocked on stdin: no CPU
    burner.stdin.write("30\n")  # 30 s of CPU: busy for all of the wait below
    burner.stdin.flush()
    assert not wait_quiet({"burner": burner.pid}, busy=0.0, sample=0.2, timeout=0.5)
