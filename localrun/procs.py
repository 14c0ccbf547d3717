"""Starting and stopping local processes: free ports, waiting for a port or a health check, stopping in order.
Used by `make run` and by the tests that start processes the same way. Each process runs in a session of its own
(a Ctrl-C in the terminal reaches only the supervisor, which stops them in order); `make run` starts its processes
on a leash (localrun/leash.py) so that none outlives it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


STOP_SECONDS = 30.0  # how long stop() waits for a process before SIGKILL
LEASH_GRACE_SECONDS = 25.0  # a leashed process's graceful stop (its own grace is 20 s), then SIGKILL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> OSError | None:
    """Why a server could not listen on host:port now, or None. SO_REUSEADDR as the servers themselves set it: the
    connections a stopped server leaves in TIME-WAIT do not keep the next one from listening."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host or "127.0.0.1", port))
        except OSError as exc:
            return exc
    return None


def python_env(extra: dict[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment plus `extra`; a None value removes that variable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{ROOT / 'gen'}"
    env["PYTHONUNBUFFERED"] = "1"
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def start(
    args: list[str], env: dict[str, str], log_path: Path | None = None, leashed: bool = False
) -> subprocess.Popen:
    """`args` in a session of its own, output to `log_path`; `leashed`: on a leash to this process (it dies when
    this process dies, however that happens)."""
    if leashed:
        args = [sys.executable, "-m", "localrun.leash", str(os.getpid()), str(LEASH_GRACE_SECONDS), *args]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if log_path:
            out.close()  # the child holds its own copy


def start_python(
    module: str, env: dict[str, str | None], log_path: Path | None = None, *args: str, leashed: bool = False
) -> subprocess.Popen:
    return start([sys.executable, "-m", module, *args], python_env(env), log_path, leashed)


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def stop(proc: subprocess.Popen, timeout: float = STOP_SECONDS) -> int | None:
    """SIGTERM, wait, then SIGKILL: the way Kubernetes stops a pod."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def start_moto(port: int, log_path: Path | None = None, leashed: bool = False) -> subprocess.Popen:
    """The embedded AWS: moto in server mode (S3, SQS, SNS, Cognito, SES, and DynamoDB for the AWS-side tests),
    DynamoDB's requests taken one at a time (localrun/embedded_aws.py says why)."""
    args = [sys.executable, "-m", "localrun.embedded_aws", "-H", "127.0.0.1", "-p", str(port)]
    proc = start(args, python_env(), log_path, leashed)
    try:
        wait_http(f"http://127.0.0.1:{port}/moto-api/", proc=proc)
    except BaseException:
        stop(proc, timeout=5)  # never leave a half-started server behind
        raise
    return proc
