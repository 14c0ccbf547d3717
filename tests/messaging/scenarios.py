"""Dispatch scenarios shared by the process tests and the benchmark (bench/messaging_bench.py): start a
sandbox, contacts and N messaging processes on one embedded store, stream a send of many WhatsApp template
messages over several phones, and read the sandbox log back. With `measure_cpu`, the CPU time each process (and
this one, the client, over its stream) used over the send is read from the processes (bench/cpu.py): from the
stream's start until the status events the sandbox emits are ingested and every process is quiet again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench.cpu import CpuMeter, Reading, wait_quiet
from localrun.sandbox import log as sandbox_log
from localrun.stack import grpc_target
from runtime.auth import ServiceTokens
from runtime.settings import Settings
from tests.messaging.support import Processes, phone_ids, processes, recipients, whatsapp_template
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc


@dataclass
class Outcome:
    name: str
    log_path: Path
    messages: int
    phones: int
    processes: int
    calls: list[sandbox_log.Call]
    report: sandbox_log.WindowReport
    binding_limit: float
    sustained: float
    totals: pb.SendTotals | None = None
    elapsed: float = 0.0
    notes: dict = field(default_factory=dict)
    cpu: Reading | None = None  # measure_cpu: each process's CPU over the send (client, sandbox, contacts, messaging-N)
    idle: Reading | None = None  # measure_cpu: the same processes over a second of idling before the send
    quiet: bool = True  # measure_cpu: every process was quiet again when the window closed
    after: object = None  # what the `after` hook returned

    @property
    def ratio(self) -> float:
        return self.sustained / self.binding_limit if self.binding_limit else 0.0

    def summary(self) -> str:
        r = self.report
        return (
            f"{self.name}: {len(self.calls)} calls, worst second per phone {r.max_per_phone}, account {r.account}, "
            f"sustained {self.sustained:.1f}/s = {self.ratio:.3f} of {self.binding_limit:g}/s; log {self.log_path}"
        )


def service_metadata(name: str = "bulk") -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {ServiceTokens(Settings(), name).token()}"),)


async def stream_send(
    address: str, messages: list[pb.Message], interval_ms: int = 500, metadata: tuple | None = None
) -> pb.SendTotals:
    """SendMessages as bulk calls it (`metadata`: bulk's token of a stack with keys of its own, Stack.service_token)."""
    async with grpc.aio.insecure_channel(
        address, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        stub = pb_grpc.MessagingServiceStub(channel)
        last = None
        async for progress in stub.SendMessages(
            pb.SendMessagesRequest(messages=messages, progress_interval_ms=interval_ms),
            metadata=metadata or service_metadata(),
            timeout=600,
        ):
            last = progress
        return last.totals


def template_batch(count: int, phones: list[str], key_prefix: str = "") -> list[pb.Message]:
    return [
        whatsapp_template(r, phones[i % len(phones)], key=f"{key_prefix}{i}" if key_prefix else "")
        for i, r in enumerate(recipients(count))
    ]


def wait_for_leases(ps: Processes, seconds: float) -> None:
    """Gives the processes time to share the phones and the account budget (a few heartbeats and a hold)."""
    time.sleep(seconds)


def run_dispatch(
    root: Path,
    *,
    name: str,
    messages: int,
    phones: int,
    process_count: int,
    phone_rate: float = 80.0,
    account_rate: float = 1000.0,
    settle_seconds: float | None = None,
    sandbox_config: dict | None = None,
    extra_settings: dict[str, str] | None = None,
    measure_cpu: bool = False,
    observe: Callable[[dict[str, int]], contextlib.AbstractContextManager] | None = None,
    after: Callable[[Processes], object] | None = None,
) -> Outcome:
    """`observe(pids)` is entered around the send (a profiler, say); `after(processes)` runs once the send is
    over, with every process still up, and its result is Outcome.after (the sandbox log of the send is kept
    apart first, so what `after` makes the sandbox accept is not in Outcome.log_path)."""
    ids = phone_ids(phones)
    settings = {
        "WECARE_WHATSAPP_PHONE_RATE": str(phone_rate),
        "WECARE_WHATSAPP_ACCOUNT_RATE": str(account_rate),
        "WECARE_LOG_LEVEL": "WARNING",
        **(extra_settings or {}),
    }
    config = {"statuses": [], **(sandbox_config or {})}
    with processes(root, ids, settings=settings, sandbox_config=config) as ps:
        ports = [f"127.0.0.1:{p}" for p in _ports(process_count)]
        ps.start_sandbox(grpc_target(ports))  # status events spread over every process, as in the local run
        ps.start_contacts()
        for address in ports:
            ps.start_messaging(address)
        wait_for_leases(ps, settle_seconds if settle_seconds is not None else (1.5 if process_count == 1 else 8.0))
        batch = template_batch(messages, ids)
        pids = process_ids(ps)
        pin_messaging(pids)
        idle = cpu = None
        quiet = True
        if measure_cpu:
            meter = CpuMeter(pids).start()
            time.sleep(1.0)
            idle = meter.read()
            meter.start()
            client = CpuMeter({"client": pids["client"]}).start()
        with observe(pids) if observe else contextlib.nullcontext():
            started = time.monotonic()
            totals = asyncio.run(_send_split(ports, batch))
            elapsed = time.monotonic() - started
            if measure_cpu:
                # The client's part ends with its stream; what follows is this process waiting and polling.
                streamed = client.read().cpu["client"]
                wait_events_delivered(ps.sandbox_url)
                quiet = wait_quiet(pids)
                cpu = meter.read()
                cpu = Reading({**cpu.cpu, "client": streamed}, cpu.seconds)
        log_path = ps.sandbox_log
        if after:
            log_path = ps.sandbox_log.with_name("sandbox-sent.send.jsonl")
            shutil.copyfile(ps.sandbox_log, log_path)
        calls = [c for c in sandbox_log.read(log_path) if c.channel == "WHATSAPP"]
        report = sandbox_log.report(calls)
        binding = min(phones * phone_rate, account_rate)
        return Outcome(
            name,
            log_path,
            messages,
            phones,
            process_count,
            calls,
            report,
            binding,
            sandbox_log.sustained_rate(c.t_ns for c in calls),
            totals,
            elapsed,
            cpu=cpu,
            idle=idle,
            quiet=quiet,
            after=after(ps) if after else None,
        )


def pin_messaging(pids: dict[str, int]) -> str | None:
    """With WECARE_BENCH_MESSAGING_CPUS (say "0"), every thread of the messaging processes runs on those CPUs and
    the sandbox and contacts on the others: messaging as a pod with that many vCPUs, Meta's stand-in elsewhere
    (`taskset -c 0` on the whole bench puts the sandbox on the same core). The client is left alone. Returns what
    was pinned, for the report, or None."""
    wanted = os.environ.get("WECARE_BENCH_MESSAGING_CPUS", "").strip()
    if not wanted:
        return None
    cpus = {int(c) for c in wanted.split(",")}
    others = set(os.sched_getaffinity(0)) - cpus or cpus
    for name, pid in pids.items():
        if name == "client":
            continue
        for tid in os.listdir(f"/proc/{pid}/task"):
            os.sched_setaffinity(int(tid), cpus if name.startswith("messaging") else others)
    return f"messaging on CPU {sorted(cpus)}, the sandbox and contacts on {sorted(others)}"


def process_ids(ps: Processes) -> dict[str, int]:
    """The scenario's processes by name (messaging-1, -2... in the order started) and this one as the client."""
    pids = {"client": os.getpid()}
    messaging = [p for p in ps.procs if p.name == "messaging"]
    for i, p in enumerate(messaging, 1):
        pids["messaging" if len(messaging) == 1 else f"messaging-{i}"] = p.proc.pid
    pids.update({p.name: p.proc.pid for p in ps.procs if p.name != "messaging"})
    return pids


def wait_events_delivered(sandbox_url: str, timeout: float = 120.0) -> None:
    """Until the sandbox holds no status event it has yet to deliver to IngestEvents (the last batch may still be
    in IngestEvents then: wait_quiet follows)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{sandbox_url}/sandbox/health", timeout=5) as reply:
            pending = json.loads(reply.read())["events_pending"]
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sandbox still holds {pending} status events after {timeout:.0f}s")
        time.sleep(0.25)


async def _send_split(addresses: list[str], batch: list[pb.Message]) -> pb.SendTotals:
    """The send arrives as one stream at the first process: every process dispatches what it owns."""
    return await stream_send(addresses[0], batch)


def _ports(n: int) -> list[int]:
    from localrun.procs import free_port

    out: list[int] = []
    while len(out) < n:
        p = free_port()
        if p not in out:
            out.append(p)
    return out


async def wait_grpc(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        await channel.channel_ready()
