"""A single contacts process on its own data dir, for the process tests that stop and restart one."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from localrun.handle import Stack
from localrun.procs import free_port, start_python, stop
from localrun.stack import grpc_serving

CONTACTS_SERVICE = "wecare.contacts.v1.ContactsService"


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
