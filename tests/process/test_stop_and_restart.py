"""`make run` stops cleanly however it is stopped, and starts again at once on the same ports.

One chain of real `make run`s on one run dir and one set of ports, each stopped while the dispatcher has messages
queued (the phones are slowed to 1 message/s, and the last message sent is seen still ACCEPTED): Ctrl-C in a real
terminal (tmux send-keys C-c), its terminal closed (tmux kill-session: SIGHUP), SIGTERM to `make`, and its
supervisor killed outright (SIGKILL). After each: no process of that run is left (make, the supervisor, the
leashes, the services, the embedded AWS), every port of the stack is free, and the next `make run`, started the
moment the last process is gone, comes up healthy. Messaging logs a graceful stop every time, the SIGKILL
included (its leash gave it SIGTERM)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from localrun.handle import stack_env
from localrun.procs import ROOT, port_in_use, python_env
from localrun.rundir import RunDir
from localrun.stack import PROCESSES, READY
from localrun.token import fetch_token

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed and `make test` could not install it (apt-get): Ctrl-C and a closed terminal "
        "need a real terminal",
    ),
]

QUEUED = 12  # messages sent before each stop; at 1/s a phone, most are still queued when it comes
START_SECONDS = 180.0
GONE_SECONDS = 60.0  # a graceful stop of every process (each has 20 s of grace, and stops in well under one)
GRACEFUL = '"message": "stopped"'  # runtime/server.py's last line after a graceful stop


@pytest.fixture
def cleanup():
    """Whatever a failing test leaves: its tmux servers, its makes, and every process they had."""
    runs: list[MakeRun | Terminal] = []
    yield runs
    for run in runs:
        run.end()
    deadline = time.monotonic() + GONE_SECONDS
    while (left := [pid for run in runs for pid in _running(run.processes)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        os.kill(pid, signal.SIGKILL)


def test_stopped_every_way_with_work_queued_then_started_again_at_once(tmp_path, cleanup):
    env = _env(tmp_path)
    ports = _ports(env)
    messaging_log = RunDir(Path(env["WECARE_RUN_DIR"])).log("messaging")

    for stop_by in ("ctrl_c", "close_terminal", "sigterm_to_make", "sigkill_to_supervisor"):
        run = Terminal(tmp_path, env) if stop_by in ("ctrl_c", "close_terminal") else MakeRun(tmp_path, env)
        cleanup.append(run)
        run.wait_ready()
        _queue_work(env)
        processes = run.processes = _tree(run.root_pid)
        assert len(processes) >= len(PROCESSES) + 3, processes  # each process, the embedded AWS, make, supervisor
        graceful_before = _count(messaging_log, GRACEFUL)

        getattr(run, stop_by)()

        _wait_gone(processes, stop_by)
        assert not [p for p in ports if port_in_use("127.0.0.1", p)], f"ports held after {stop_by}"
        assert _count(messaging_log, GRACEFUL) == graceful_before + 1, f"messaging did not stop gracefully: {stop_by}"
        run.check_stopped()

    # The last stop was the hardest: the next run comes up healthy at once, and stops as it should.
    run = MakeRun(tmp_path, env)
    cleanup.append(run)
    run.wait_ready()
    run.sigterm_to_make()
    run.check_stopped()


class MakeRun:
    """`make run` as a user starts it from a shell, its output to a file."""

    def __init__(self, tmp: Path, env: dict[str, str]):
        self.output = tmp / f"make-{uuid.uuid4().hex[:6]}.out"
        with open(self.output, "wb") as out:
            self.make = subprocess.Popen(
                ["make", "run"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self.root_pid = self.make.pid
        self.processes: dict[int, str] = {}

    def end(self) -> None:
        if self.make.poll() is None:
            self.make.send_signal(signal.SIGTERM)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_ready(self) -> None:
        _wait_until(lambda: READY in self.text() or self.make.poll() is not None, START_SECONDS, "no ready line")
        assert READY in self.text(), self.text()

    def sigterm_to_make(self) -> None:
        self.make.send_signal(signal.SIGTERM)  # make passes it on to the supervisor, and waits for it
        self.make.wait(GONE_SECONDS)
        self.orderly = True

    def sigkill_to_supervisor(self) -> None:
        [supervisor] = [pid for pid in _children(self.make.pid) if b"localrun.stack" in _cmdline(pid)]
        os.kill(supervisor, signal.SIGKILL)
        self.make.wait(GONE_SECONDS)
        self.orderly = False

    def check_stopped(self) -> None:
        if self.orderly:
            _check_orderly(self.text())
        else:
            assert "wecare: stopped" not in self.text()  # it had no chance to stop anything itself


class Terminal:
    """`make run` typed into an interactive shell in a real terminal (a tmux pane of a tmux server of its own), its
    output copied to a file as it is shown."""

    def __init__(self, tmp: Path, env: dict[str, str]):
        self.socket = tmp / f"tmux-{uuid.uuid4().hex[:6]}"
        self.output = self.socket.with_suffix(".out")
        self.env = {k: v for k, v in env.items() if k != "TMUX"}  # not nested in a tmux the tests may run in
        self.tmux("new-session", "-d", "-s", "stack", "-x", "200", "-y", "50", "bash --norc --noprofile")
        self.tmux("pipe-pane", "-o", "-t", "stack", f"cat >> {self.output}")
        self.shell = int(self.tmux("display-message", "-p", "-t", "stack", "#{pane_pid}"))
        self.tmux("send-keys", "-t", "stack", f"cd {ROOT} && make run", "Enter")
        self.root_pid = 0  # make's, once it runs (the shell outlives a Ctrl-C)
        self.processes: dict[int, str] = {}

    def end(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", str(self.socket), *args], env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def wait_ready(self) -> None:
        _wait_until(lambda: READY in self.text() or "Error" in self.text(), START_SECONDS, "no ready line")
        assert READY in self.text(), self.text()
        [self.root_pid] = [pid for pid in _children(self.shell) if _cmdline(pid).startswith(b"make\0run")]

    def ctrl_c(self) -> None:
        self.tmux("send-keys", "-t", "stack", "C-c")
        self.orderly = True

    def close_terminal(self) -> None:
        self.tmux("kill-session", "-t", "stack")  # the pty goes away: SIGHUP to the shell, which hangs up its jobs
        self.orderly = False

    def check_stopped(self) -> None:
        if self.orderly:  # the terminal is still there to show the orderly stop
            _wait_until(lambda: "wecare: stopped" in self.text(), 10, "no stopped line")
            _check_orderly(self.text())
        self.end()


def _check_orderly(text: str) -> None:
    """The supervisor stopped every process itself, in reverse order, each with exit 0."""
    stopped = re.findall(r"stopped (\w+) \(exit (-?\d+)\)", text)
    assert stopped == [(p.name, "0") for p in reversed(PROCESSES)] + [("moto", "0")], text
    assert "did not stop cleanly" not in text and "wecare: stopped" in text


def _env(tmp: Path) -> dict[str, str]:
    env = python_env(stack_env(tmp / "run"))
    for make_var in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):  # as from a shell, not as a sub-make of `make test`
        env.pop(make_var, None)
    env["WECARE_WHATSAPP_PHONE_RATE"] = "1"  # so that sent messages wait in the dispatcher's queue
    return env


def _ports(env: dict[str, str]) -> list[int]:
    return [int(env["WECARE_MOTO_PORT"])] + [int(env[p.address_env].rpartition(":")[2]) for p in PROCESSES]


def _queue_work(env: dict[str, str]) -> None:
    token = fetch_token(RunDir(Path(env["WECARE_RUN_DIR"])), "operator")
    api = f"http://{env['WECARE_GATEWAY_ADDRESS']}/v1"
    auth = {"Authorization": f"Bearer {token}"}
    names = []
    for i in range(QUEUED):
        template = {"templateName": "order_update", "language": "en_US"}
        template["bodyParameters"] = [{"text": "Meera"}, {"text": f"A-{i}"}]
        message = {"channel": "CHANNEL_WHATSAPP", "category": "CATEGORY_UTILITY", "recipient": f"+9198123{i:05d}"}
        reply = requests.post(
            f"{api}/messages:send",
            json={"message": {**message, "content": {"template": template}}},
            headers=auth,
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        names.append(reply.json()["name"])
    last = requests.get(f"{api}/{names[-1]}", headers=auth, timeout=10).json()
    assert last["status"] == "STATUS_ACCEPTED", last  # still queued: the dispatcher has work when the stop comes


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (state is [0], ppid [1], start time [19]), or None when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and (_stat(int(p)) or [None, None])[1] == str(pid)]


def _tree(pid: int) -> dict[int, str]:
    """Every process under pid (and pid itself), by pid, with its start time (pids are reused)."""
    found, todo = {}, [pid]
    while todo:
        current = todo.pop()
        if stat := _stat(current):
            found[current] = stat[19]
            todo += _children(current)
    return found


def _running(processes: dict[int, str]) -> list[int]:
    """Those still running (a zombie runs no more: this machine's init may never reap an orphan)."""
    return [pid for pid, start in processes.items() if (s := _stat(pid)) and s[19] == start and s[0] != "Z"]


def _wait_gone(processes: dict[int, str], stop_by: str) -> None:
    deadline = time.monotonic() + GONE_SECONDS
    while left := _running(processes):
        assert time.monotonic() < deadline, f"left running {GONE_SECONDS:.0f}s after {stop_by}: {left}"
        time.sleep(0.05)


def _count(path: Path, needle: str) -> int:
    return path.read_text(errors="replace").count(needle) if path.exists() else 0


def _wait_until(done: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
