"""How `make run` starts, fails and stops, and how `make token` fails, seen from outside as a user sees them.

Proves: a process that does not stop cleanly turns the stack's exit on SIGTERM non-zero; a process that exits
while starting makes the stack print the tail of that process's log, stop everything else (the embedded AWS
included) and exit non-zero; an address already in use is refused up front with a message naming it, before
anything starts; `make token` without a running stack tells the user to run `make run` and exits non-zero.
Every way of stopping it, each followed by a restart at once, is test_stop_and_restart.py's."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from localrun.handle import stack_env, wait_for_line
from localrun.procs import free_port, python_env, start, start_python, stop
from localrun.stack import READY

pytestmark = pytest.mark.process


def start_stack_with(process: str, env: dict[str, str], output) -> subprocess.Popen:
    """The real stack code (`localrun.stack.main`) with a table of one test process, given as Python source."""
    program = (
        "import sys\n"
        "from localrun import stack\n"
        "from localrun.stack import GRPC, HTTP, Process\n"
        f"stack.PROCESSES = ({process},)\n"
        "sys.exit(stack.main())\n"
    )
    return start([sys.executable, "-c", program], python_env(env), output)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_a_process_that_exits_while_starting_stops_the_stack(tmp_path):
    # The real stack code with one broken process (tests/process/exits_at_start.py) in its table.
    env = stack_env(tmp_path / "run")
    output = tmp_path / "stack.out"
    proc = start_stack_with(
        "Process('broken', 'tests.process.exits_at_start', 'contacts_address', GRPC, '')", env, output
    )
    try:
        code = proc.wait(120)
    finally:
        stop(proc)
    text = output.read_text()
    assert code == 1, text
    assert "broken exited with 3 while starting" in text
    assert "exits_at_start: cannot open its store" in text  # the tail of its log
    assert "stopped moto" in text
    assert READY not in text
    assert not answers(f"http://127.0.0.1:{env['WECARE_MOTO_PORT']}/moto-api/")


def test_a_process_that_does_not_stop_cleanly_makes_the_stack_exit_non_zero(tmp_path):
    # The exit code the session fixture asserts is 0 means something: every process stopped with exit 0.
    output = tmp_path / "stack.out"
    table = "Process('rough', 'tests.process.stops_badly', 'contacts_address', HTTP, '/healthz')"
    proc = start_stack_with(table, stack_env(tmp_path / "run"), output)
    try:
        wait_for_line(output, READY, proc, timeout=120)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    finally:
        stop(proc)
    text = output.read_text()
    assert code == 1, text
    assert "stopped rough (exit 2)" in text and "stopped moto (exit 0)" in text
    assert "rough did not stop cleanly" in text


def test_an_address_in_use_is_refused_before_anything_starts(tmp_path):
    env = stack_env(tmp_path / "run")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env["WECARE_CONTACTS_ADDRESS"] = f"127.0.0.1:{taken.getsockname()[1]}"
        output = tmp_path / "stack.out"
        proc = start_python("localrun.stack", env, output)
        try:
            code = proc.wait(60)
        finally:
            stop(proc)
    text = output.read_text()
    assert code == 1, text
    assert f"{env['WECARE_CONTACTS_ADDRESS']} (WECARE_CONTACTS_ADDRESS) is in use" in text
    assert "stopped" not in text.replace("wecare: stopped", "")  # nothing was started, so nothing was stopped
    assert not (tmp_path / "run" / "logs" / "moto.log").exists()


def test_make_token_without_a_stack_says_to_run_make_run(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "localrun.token"],
        env=python_env({"WECARE_RUN_DIR": str(tmp_path / "never-started")}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "make run" in out.stderr
    assert out.stdout == ""


def test_make_token_with_a_stopped_stack_says_to_run_make_run(tmp_path):
    # A local.env left by a stack that is gone: nothing answers at its endpoint any more.
    run_dir = tmp_path / "stale"
    run_dir.mkdir()
    (run_dir / "local.env").write_text(
        f"WECARE_AWS_ENDPOINT_URL=http://127.0.0.1:{free_port()}\nWECARE_COGNITO_CLIENT_ID=x\n"
        "WECARE_LOCAL_USER_POOL_ID=us-east-1_gone\nWECARE_LOCAL_ADMIN_USER=admin\nWECARE_LOCAL_ADMIN_PASSWORD=x\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "localrun.token"],
        env=python_env({"WECARE_RUN_DIR": str(run_dir)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "not answering" in out.stderr and "make run" in out.stderr
