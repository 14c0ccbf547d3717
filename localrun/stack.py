"""`make run`: the whole platform on this one machine, no AWS account. Starts the embedded AWS (moto server),
creates its resources (localrun.bootstrap), then starts every process of PROCESSES in order, waits until each is
healthy, prints where everything is and a ready line, and on Ctrl-C, SIGTERM or SIGHUP (its terminal closed) stops
everything in reverse order. Every process runs on a leash (localrun/leash.py): if this supervisor dies without
stopping them (SIGKILL, a crash), each is stopped all the same, so no process and no port outlives it.

The run dir (`.run/`, or WECARE_RUN_DIR) holds `data/` (every embedded table), `logs/<process>.log`,
`traces.jsonl`, `local.env` and `keys/` (each service's identity key, localrun/keys.py). Every address comes from
the environment (WECARE_MOTO_PORT, WECARE_<NAME>_ADDRESS), so a second stack (the process tests) runs beside a
developer's on other ports.

Messaging may run as several processes on the one store (WECARE_MESSAGING_PROCESSES; by default one a core, at
most 2), which share the limits exactly through it: the first listens on WECARE_MESSAGING_ADDRESS, the others on
free ports, and every other process is given all of their addresses as one gRPC target, over which its channel
spreads its calls (runtime/clients.py dial: round robin)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import grpc
from botocore.exceptions import BotoCoreError, ClientError
from grpc_health.v1 import health_pb2, health_pb2_grpc

from localrun import keys
from localrun.bootstrap import ROLES, LocalAws, Options, bootstrap
from localrun.procs import ROOT, free_port, port_in_use, start_moto, start_python, stop
from localrun.rundir import RunDir
from runtime.settings import Settings

GRPC = "grpc"
HTTP = "http"
READY = "wecare: ready"  # the line tests and scripts wait for
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, `kill` or a stopping make, terminal closed
MAX_DEFAULT_MESSAGING_PROCESSES = 2  # the default's cap: more processes on one SQLite file only contend for its lock


@dataclass(frozen=True)
class Process:
    """One platform process as the local run starts it."""

    name: str
    module: str  # run as `python -m <module>`
    address_setting: str  # the Settings field holding its address; the environment sets it as WECARE_<FIELD>
    health: str  # GRPC: grpc.health.v1 Check of `health_target`; HTTP: GET `health_target` answers 200
    health_target: str
    identity: str = ""  # the service identity it calls others as, when not its own name

    @property
    def address_env(self) -> str:
        return "WECARE_" + self.address_setting.upper()

    def address(self, settings: Settings) -> str:
        return getattr(settings, self.address_setting)

    def installed(self) -> bool:
        """Whether `python -m <module>` can run it yet (a package with __main__.py, or a module file)."""
        path = ROOT / self.module.replace(".", "/")
        return (path / "__main__.py").exists() or path.with_suffix(".py").exists()


# Started in this order, stopped in reverse. A new process joins with one line here (and its address in Settings).
PROCESSES: tuple[Process, ...] = (
    Process("contacts", "services.contacts", "contacts_address", GRPC, "wecare.contacts.v1.ContactsService"),
    # The sandbox delivers provider events to IngestEvents as the gateway's SNS endpoint does in production.
    Process("sandbox", "localrun.sandbox", "sandbox_address", HTTP, "/sandbox/health", identity="gateway"),
    Process("messaging", "services.messaging", "messaging_address", GRPC, "wecare.messaging.v1.MessagingService"),
    Process("bulk", "services.bulk", "bulk_address", GRPC, "wecare.bulk.v1.BulkService"),
    Process("ai", "services.ai", "ai_address", GRPC, "wecare.ai.v1.AIService"),
    Process("commerce", "services.commerce", "commerce_address", GRPC, "wecare.commerce.v1.CommerceService"),
    Process("gateway", "gateway", "gateway_address", HTTP, "/healthz"),
)


# The local run's payment provider is the sandbox; these keys mean nothing anywhere else.
LOCAL_PAYMENTS = {
    "WECARE_PAYMENT_KEY_ID": "rzp_test_local",
    "WECARE_PAYMENT_KEY_SECRET": "local-only-payment-key-secret",
    "WECARE_PAYMENT_WEBHOOK_SECRET": "local-only-payment-webhook-secret",
    # The sandbox plays WhatsApp payments too: invoices on WhatsApp go as order_details (review and pay).
    "WECARE_WHATSAPP_PAYMENTS_CONFIGURATION": "sandbox-upi",
}


class StartFailed(Exception):
    pass


@dataclass(frozen=True)
class Instance:
    """One running copy of a process: messaging may have several (`messaging`, `messaging-2`, ...)."""

    process: Process
    name: str  # its log is logs/<name>.log
    address: str


def messaging_processes(settings: Settings, cpus: int | None = None) -> int:
    """How many messaging processes the local run starts: the setting, or one a core up to the cap."""
    if settings.messaging_processes:
        return settings.messaging_processes
    cores = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_DEFAULT_MESSAGING_PROCESSES))


def instances(processes: list[Process], settings: Settings) -> list[Instance]:
    """Every copy to start, in order. The first messaging process takes the messaging address, so one process
    is exactly the stack it always was; the others take free ports on its host."""
    made = []
    for p in processes:
        made.append(Instance(p, p.name, p.address(settings)))
        if p.address_setting == "messaging_address":
            host = p.address(settings).rpartition(":")[0]
            for n in range(2, messaging_processes(settings) + 1):
                made.append(Instance(p, f"{p.name}-{n}", f"{host}:{free_port()}"))
    return made


def grpc_target(addresses: list[str]) -> str:
    """One gRPC target naming every address (the `ipv4:` scheme: IPv4 literals), for a channel to spread over."""
    if len(addresses) == 1:
        return addresses[0]
    hosts = [a.rpartition(":")[0] for a in addresses]
    if not all(_ipv4(h) for h in hosts):
        raise StartFailed(
            f"several messaging processes need an IPv4 address in WECARE_MESSAGING_ADDRESS, not {addresses[0]}: "
            "give one (127.0.0.1:<port>) or set WECARE_MESSAGING_PROCESSES=1"
        )
    return "ipv4:" + ",".join(addresses)


def _ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(part.isdigit() and int(part) < 256 for part in parts)


@dataclass
class Running:
    name: str
    proc: subprocess.Popen
    log: Path


def main() -> int:
    started_at = time.monotonic()
    settings = Settings.from_env()
    run = RunDir.from_env()
    for folder in (run.logs, run.data):
        folder.mkdir(parents=True, exist_ok=True)
    moto_port = int(os.environ.get("WECARE_MOTO_PORT", "4566"))
    processes = [p for p in PROCESSES if p.installed()]
    for p in PROCESSES:
        if not p.installed():
            say(f"  {p.name}: skipped, `python -m {p.module}` has nothing to run yet")

    stopping = threading.Event()
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda signum, frame: stopping.set())

    running: list[Running] = []
    code = 0
    try:
        _check_free([("embedded AWS, WECARE_MOTO_PORT", f"127.0.0.1:{moto_port}")])
        _check_free([(p.address_env, p.address(settings)) for p in processes])
        copies = instances(processes, settings)
        try:
            running.append(Running("moto", start_moto(moto_port, run.log("moto"), leashed=True), run.log("moto")))
        except (RuntimeError, TimeoutError) as exc:
            raise StartFailed(f"the embedded AWS did not start: {exc}\n{_tail(run.log('moto'))}") from None
        endpoint = f"http://127.0.0.1:{moto_port}"
        try:
            local = bootstrap(endpoint, run.local_env, Options.from_env(os.environ, settings.region))
        except (BotoCoreError, ClientError) as exc:
            raise StartFailed(f"creating the local AWS resources failed: {exc}\n{_tail(run.log('moto'))}") from None
        if settings.store == "dynamodb":  # the AWS store on the embedded AWS: its tables first
            from localrun.tables import ensure_tables

            os.environ.update(_local_credentials())  # aiobotocore reads credentials from this process's environment
            tables = asyncio.run(ensure_tables(Settings.from_env({**os.environ, **local.settings_env()})))
            say(f"  DynamoDB tables on the embedded AWS: {', '.join(tables)}")

        env: dict[str, str | None] = {
            **local.settings_env(),
            "WECARE_DATA_DIR": str(run.data),
            "WECARE_TRACE_FILE": str(run.traces),
            # Each process listens on its own address from the table; a pod-style override would make them collide.
            "WECARE_LISTEN_ADDRESS": None,
            "WECARE_METRICS_PORT": None,
            # The embedded AWS takes any credentials; these keep a developer's real ones out of the local run.
            **_local_credentials(),
            "AWS_SESSION_TOKEN": None,
            "AWS_PROFILE": None,
        }
        env.update({p.address_env: p.address(settings) for p in PROCESSES})  # everyone knows where everyone is
        env["WECARE_MESSAGING_ADDRESS"] = grpc_target([i.address for i in copies if i.process.name == "messaging"])
        # Short links point at this stack's gateway (unless the environment names another address).
        env["WECARE_LINKS_BASE_URL"] = os.environ.get("WECARE_LINKS_BASE_URL") or f"http://{settings.gateway_address}"
        env.update(_sandbox_env(settings, run))
        identities = keys.ensure(run.keys)
        for i in copies:
            if stopping.is_set():
                break
            p = i.process
            own = {**env, **keys.process_env(p.identity or p.name, identities), p.address_env: i.address}
            proc = start_python(p.module, own, run.log(i.name), leashed=True)
            running.append(Running(i.name, proc, run.log(i.name)))
            _wait_healthy(i, running[-1], stopping)

        if not stopping.is_set():
            _print_where(settings, run, endpoint, local, copies)
            say(f"{READY} in {time.monotonic() - started_at:.1f}s (Ctrl-C stops everything)")
            code = _supervise(running, stopping)
    except StartFailed as exc:
        say(f"wecare: {exc}", sys.stderr)
        code = 1
    finally:
        for signum in STOP_SIGNALS:  # a second Ctrl-C (or make's SIGTERM after ours) must not cut the stop short
            signal.signal(signum, signal.SIG_IGN)
        unclean = []
        for r in reversed(running):
            returncode = stop(r.proc)
            say(f"  stopped {r.name} (exit {returncode})")
            if returncode != 0:
                unclean.append(r.name)
    if unclean and code == 0:
        say(f"wecare: {', '.join(unclean)} did not stop cleanly: see their logs", sys.stderr)
        code = 1  # a graceful stop is part of the contract: exit 0 only when every process gave one
    say("wecare: stopped")
    return code


def say(text: str, stream: TextIO | None = None) -> None:
    """One line to the terminal; a terminal that is gone (closed: writes fail with EIO) must not stop the stop, so
    the stream is sent to /dev/null from then on."""
    name = "stderr" if stream is sys.stderr else "stdout"
    try:
        print(text, file=getattr(sys, name), flush=True)
    except OSError:
        setattr(sys, name, open(os.devnull, "w"))


def _sandbox_env(settings: Settings, run: RunDir) -> dict[str, str]:
    """WhatsApp, SMS and the payment provider go to the sandbox (unless the environment names other endpoints);
    its log in the run dir. The payment keys and webhook secret are local-only values the sandbox shares."""
    sandbox = f"http://{settings.sandbox_address}"
    return {
        "WECARE_SOCIAL_MESSAGING_ENDPOINT_URL": os.environ.get("WECARE_SOCIAL_MESSAGING_ENDPOINT_URL") or sandbox,
        "WECARE_SMS_VOICE_ENDPOINT_URL": os.environ.get("WECARE_SMS_VOICE_ENDPOINT_URL") or sandbox,
        "WECARE_SANDBOX_LOG": os.environ.get("WECARE_SANDBOX_LOG") or str(run.root / "sandbox-sent.jsonl"),
        **{name: os.environ.get(name) or value for name, value in LOCAL_PAYMENTS.items()},
        "WECARE_PAYMENT_API_URL": os.environ.get("WECARE_PAYMENT_API_URL") or sandbox,
    }


def _local_credentials() -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def _check_free(addresses: list[tuple[str, str]]) -> None:
    for what, address in addresses:
        host, _, port = address.rpartition(":")
        if exc := port_in_use(host, int(port)):
            raise StartFailed(f"{address} ({what}) is in use: is another `make run` up? ({exc})")


def _wait_healthy(i: Instance, r: Running, stopping: threading.Event, timeout: float = 120.0) -> None:
    p, address = i.process, i.address
    check: Callable[[], bool] = (
        (lambda: grpc_serving(address, p.health_target))
        if p.health == GRPC
        else (lambda: _http_ok(f"http://{address}{p.health_target}"))
    )
    deadline = time.monotonic() + timeout
    while not stopping.is_set():
        if r.proc.poll() is not None:
            raise StartFailed(f"{i.name} exited with {r.proc.returncode} while starting:\n{_tail(r.log)}")
        if check():
            return
        if time.monotonic() > deadline:
            raise StartFailed(f"{i.name} not healthy at {address} after {timeout:.0f}s:\n{_tail(r.log)}")
        stopping.wait(0.2)


def grpc_serving(address: str, service: str = "") -> bool:
    """One grpc.health.v1 Check with a deadline: True only for SERVING."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=1.0
            )
        except grpc.RpcError:
            return False  # not listening yet, or the service is not registered as SERVING yet
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _supervise(running: list[Running], stopping: threading.Event) -> int:
    """Until a signal: a process that dies takes the whole stack down, loudly."""
    while not stopping.wait(0.5):
        for r in running:
            if r.proc.poll() is not None:
                say(f"wecare: {r.name} exited with {r.proc.returncode}:\n{_tail(r.log)}", sys.stderr)
                return 1
    return 0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"    ({path} unreadable)"
    return "\n".join("    " + line for line in text[-lines:]) + f"\n    (full log: {path})"


def _print_where(settings: Settings, run: RunDir, endpoint: str, local: LocalAws, copies: list[Instance]) -> None:
    lines = [
        "",
        "WECARE local stack",
        f"  run dir          {run.root}",
        f"  data             {run.data}",
        f"  traces           {run.traces}",
        f"  connection facts {run.local_env}",
        f"  embedded AWS     {endpoint}  (log {run.log('moto')})",
    ]
    for i in copies:
        where = f"http://{i.address}" if i.process.health == HTTP else f"{i.address} (gRPC)"
        lines.append(f"  {i.name:<16} {where}  (log {run.log(i.name)})")
    lines += [
        "",
        f"  console          http://{settings.gateway_address}/   sign in as one of the local users:",
        *(f"    {user:<9} password {local.passwords[user]}" for user in reversed(ROLES) if user in local.passwords),
        f"  (kept in {run.local_env} across runs)",
        "  bearer token     make token   (python -m localrun.token --user operator|viewer [--id-token])",
        "",
    ]
    say("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
