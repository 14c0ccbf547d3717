"""The two CPU floors of a send, measured against a scenario's own sandbox while its processes are up: a bare
aiohttp POST of the body a send makes, and a bare aiobotocore send_whatsapp_message (bench/floor_client.py,
each in a process of its own); beside them, not floors, the SDK as messaging configures it and the lean call
messaging sends with (runtime/aws_lean.py). For each: the calling process's CPU per call (its own process CPU
time over the measured calls) and the sandbox's CPU per request over the same calls (/proc, bench/cpu.py). The
sandbox is told to emit no status events for them, so its figure is the request alone."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import cpu_seconds
from localrun.procs import ROOT, python_env
from localrun.sandbox import log as sandbox_log
from runtime.settings import Settings

KINDS = ("aiohttp", "sdk", "sdk-fixed-ua", "lean")


@dataclass(frozen=True)
class Floor:
    kind: str  # one of KINDS
    calls: int
    client_cpu_s: float
    sandbox_cpu_s: float
    wall_s: float
    body_bytes: int = 0

    @property
    def client_us(self) -> float:
        return self.client_cpu_s * 1e6 / self.calls

    @property
    def sandbox_us(self) -> float:
        return self.sandbox_cpu_s * 1e6 / self.calls


def measure_floors(ps, calls: int = 2000, concurrency: int = 16, warmup: int = 200) -> list[Floor]:
    """Both floors against the sandbox of `ps` (tests.messaging.support.Processes), after its send: the message
    goes to the recipient and carries the callback data of the send's first call, from the same phone."""
    sample = next(c for c in sandbox_log.read(ps.sandbox_log) if c.channel == "WHATSAPP")
    sandbox_pid = next(p.proc.pid for p in ps.procs if p.name == "sandbox")
    ps.configure_sandbox(statuses=[])
    args = [
        "--endpoint",
        ps.sandbox_url,
        "--region",
        Settings.from_env().region,
        "--origination",
        sample.origin,
        "--to",
        sample.to,
        "--callback",
        sample.ref,
        "--calls",
        str(calls),
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(warmup),
    ]
    return [_one(kind, args, ps.env(), sandbox_pid, ps.root / f"floor-{kind}.log") for kind in KINDS]


def _one(kind: str, args: list[str], env: dict[str, str], sandbox_pid: int, log: Path) -> Floor:
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.floor_client", kind, *args],
            env=python_env(env),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"floor client {kind} did not get ready:\n{log.read_text(errors='replace')}")
        before = cpu_seconds(sandbox_pid)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        after = cpu_seconds(sandbox_pid)
        if not line:
            raise RuntimeError(f"floor client {kind} failed:\n{log.read_text(errors='replace')}")
        result = json.loads(line)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Floor(kind, result["calls"], result["cpu_s"], after - before, result["wall_s"], result.get("body_bytes", 0))
