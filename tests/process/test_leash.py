"""The leash every process of `make run` runs on (localrun/leash.py), on small shell commands: when its supervisor is
killed outright the command gets SIGTERM and what it started (its grandchildren) goes too; a command that does not
stop is killed after the grace; the leash exits as its command did."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localrun.procs import python_env

pytestmark = pytest.mark.process

# A supervisor that starts one leashed command, says the leash's pid, and waits to be killed.
SUPERVISOR = """
import subprocess, sys, time
leash = subprocess.Popen([sys.executable, "-m", "localrun.leash", str(__import__("os").getpid()), sys.argv[1],
                          "sh", "-c", sys.argv[2]], start_new_session=True)
print(leash.pid, flush=True)
time.sleep(600)
"""


def _supervised(tmp: Path, command: str, grace: float = 10.0) -> tuple[subprocess.Popen, int, list[int]]:
    """(the supervisor, its leash, the pids the command wrote: its own first, then PIDS's) once the command runs."""
    pids = tmp / "pids"
    script = f"echo $$ >> {pids}\n{command.replace('PIDS', str(pids))}\necho started >> {pids}\nwait"
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(grace), script], env=python_env(), stdout=subprocess.PIPE, text=True
    )
    leash = int(supervisor.stdout.readline())
    _wait_until(lambda: pids.exists() and "started" in pids.read_text())
    return supervisor, leash, [int(p) for p in pids.read_text().split()[:-1]]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # an orphan's zombie: this machine's init may never reap it


def _wait_until(done, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_killed_supervisor_takes_the_command_and_its_children_along(tmp_path):
    # The command starts a grandchild of its own (in its process group), then waits; it stops on SIGTERM.
    supervisor, leash, (command, grandchild) = _supervised(tmp_path, "sleep 120 & echo $! >> PIDS")
    assert all(_running(p) for p in (leash, command, grandchild))
    supervisor.kill()
    supervisor.wait()
    _wait_until(lambda: not any(_running(p) for p in (leash, command, grandchild)))


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace(tmp_path):
    supervisor, leash, [command] = _supervised(tmp_path, "trap '' TERM\nwhile :; do sleep 0.1; done &", grace=0.5)
    started = time.monotonic()
    os.kill(leash, signal.SIGTERM)
    _wait_until(lambda: not _running(command) and not _running(leash))
    assert 0.4 < time.monotonic() - started < 10
    supervisor.kill()
    supervisor.wait()


def test_the_leash_exits_as_its_command_did():
    for script, code in (
        ("exit 0", 0),
        ("exit 3", 3),
        ("kill -TERM $$", -signal.SIGTERM),
        ("kill -KILL $$", -signal.SIGKILL),  # a signal no handler can be set for: ended the same way, no traceback
    ):
        leash = [sys.executable, "-m", "localrun.leash", str(os.getpid()), "5", "sh", "-c", script]
        done = subprocess.run(leash, env=python_env(), timeout=30, stderr=subprocess.PIPE, text=True)
        assert done.returncode == code, script
        assert "Traceback" not in done.stderr, done.stderr
