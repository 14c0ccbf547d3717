"""A handle on a running local stack started as `make run` starts it (`python -m localrun.stack` in its own run
dir, on free ports): its addresses, connection facts and tokens. Used by the process tests and by `make bench`."""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3

from localrun import keys
from localrun.bootstrap import read_env_file
from localrun.procs import free_port, start_python, stop
from localrun.rundir import RunDir
from localrun.stack import PROCESSES, READY
from localrun.token import fetch_token
from runtime.service_identity import ServiceTokens
from runtime.settings import Settings


@dataclass
class Stack:
    run: RunDir
    proc: subprocess.Popen
    output: Path  # the stack's own console output
    addresses: dict[str, str]  # process name -> address
    ready_seconds: float

    @property
    def facts(self) -> dict[str, str]:
        return read_env_file(self.run.local_env)

    def settings_env(self) -> dict[str, str]:
        """The settings the stack gives its processes (no local passwords)."""
        return {k: v for k, v in self.facts.items() if not k.startswith("WECARE_LOCAL_")}

    def identity_env(self, service: str) -> dict[str, str | None]:
        """The key settings of a further process calling the stack's services as `service` (localrun/keys.py)."""
        return keys.process_env(service, keys.ensure(self.run.keys))

    def service_token(self, service: str) -> str:
        """A token of `service` signed with the stack's own key of it, for a test or a bench calling as it."""
        env = self.identity_env(service)
        published = tuple(env["WECARE_SERVICE_PUBLIC_KEYS"].split(","))
        settings = Settings(service_key=env["WECARE_SERVICE_KEY"] or "", service_public_keys=published)
        return ServiceTokens(settings, service).token()

    def token(self, user: str = "admin", id_token: bool = False) -> str:
        return fetch_token(self.run, user, id_token)

    def aws_client(self, service: str):
        """A boto3 client of the stack's embedded AWS (for scripts and tests; it takes any credentials)."""
        facts = self.facts
        return boto3.client(
            service,
            endpoint_url=facts["WECARE_AWS_ENDPOINT_URL"],
            region_name=facts["AWS_REGION"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )


def stack_env(run_dir: Path) -> dict[str, str]:
    """What makes a stack run beside any other: its own run dir, and free ports for moto and every process."""
    env = {"WECARE_RUN_DIR": str(run_dir), "WECARE_MOTO_PORT": str(free_port())}
    env.update({p.address_env: f"127.0.0.1:{free_port()}" for p in PROCESSES})
    return env


def wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        for line in text.splitlines():
            if line.startswith(needle):
                return line
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode} before {needle!r}:\n{text}")
        time.sleep(0.1)
    raise AssertionError(f"no {needle!r} within {timeout:.0f}s:\n{path.read_text(errors='replace')}")


@contextlib.contextmanager
def running_stack(root: Path, timeout: float = 180.0, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Starts a stack under root, yields it once ready, stops it with SIGTERM; raises if it did not exit 0."""
    run = RunDir(root / "run")
    env = {**stack_env(run.root), **(extra_env or {})}
    addresses = {p.name: env[p.address_env] for p in PROCESSES}
    output = root / "stack.out"
    proc = start_python("localrun.stack", env, output)
    try:
        ready = wait_for_line(output, READY, proc, timeout=timeout)
    except BaseException:
        stop(proc, timeout=60)
        raise
    seconds = float(re.search(r"ready in ([\d.]+)s", ready).group(1))
    try:
        yield Stack(run, proc, output, addresses, seconds)
    finally:
        code = stop(proc, timeout=60)
    if code != 0:
        raise RuntimeError(f"the stack exited with {code} on SIGTERM:\n{output.read_text(errors='replace')}")
