"""Handles on whole processes for the process tests: a running local stack (its run dir, addresses, tokens), a
single contacts process on its own data dir, and waiting for a line of a process's output."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from localrun.bootstrap import read_env_file
from localrun.procs import free_port, start_python, stop
from localrun.rundir import RunDir
from localrun.stack import PROCESSES, grpc_serving
from localrun.token import fetch_token

CONTACTS_SERVICE = "wecare.contacts.v1.ContactsService"


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

    def token(self, user: str = "admin", id_token: bool = False) -> str:
        return fetch_token(self.run, user, id_token)


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


@dataclass
class ContactsProcess:
    proc: subprocess.Popen
    address: str
    log: Path

    def stop(self) -> int | None:
        return stop(self.proc, timeout=60)


def start_contacts(stack: Stack, data_dir: Path, log: Path, **settings: str) -> ContactsProcess:
    """One contacts process on its own, against the stack's user pool, serving SQLite in data_dir."""
    address = f"127.0.0.1:{free_port()}"
    env = {**stack.settings_env(), "WECARE_DATA_DIR": str(data_dir), "WECARE_CONTACTS_ADDRESS": address, **settings}
    proc = start_python("services.contacts", env, log)
    deadline = time.monotonic() + 60
    while not grpc_serving(address, CONTACTS_SERVICE):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc, timeout=10)
            raise AssertionError(f"contacts did not become SERVING:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return ContactsProcess(proc, address, log)
