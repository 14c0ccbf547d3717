"""Inbound events ingested per second per core through the production path (issue 12), `make bench inbound` (about a
minute): the gateway's SNS endpoint and messaging on DynamoDB (moto, a process of its own), both in ONE child process
whose CPU time is read from /proc (bench/cpu.py), against the 3,000 status events/s that 1,000 sends/s bring back.

- https: one status event a delivery, as SNS's HTTPS subscription sends them: each POST verified (canonical string,
  RSA signature with the cached certificate, topic and age) and passed to IngestEvents over gRPC, HTTPS_IN_FLIGHT
  deliveries at once (SNS delivers concurrently).
- sqs: the same events as SNS envelopes in whatsapp-inbound (WECARE_INBOUND_DELIVERY=sqs): messaging's pollers take
  10 a ReceiveMessage and ingest them as one call (inbound/queue_ingest.py), then DeleteMessageBatch.

The events are `delivered` statuses of messages seeded in the outbound table beforehand. CPU per event is the child's
CPU over the window less its idle CPU (dispatcher and poller loops, measured for IDLE_SECONDS before) for as long;
events/s per core is its inverse. moto's own CPU is not counted (DynamoDB and SQS are remote in production); the
driver's (signing, POSTing, SendMessageBatch) is in this process, not the child. moto bounds the wall-clock rate, so
the wall-clock events/s printed beside is not the figure of record.

`run(stack, report)` like the other sections (the shared stack is not used), or `python -m bench.inbound_bench`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import boto3

from bench.cpu import cpu_seconds
from bench.report import Report
from localrun.procs import ROOT, free_port, start_moto, stop
from localrun.sandbox.events import status_event
from runtime import ids
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters import dynamodb_store
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage, SendResult
from tests.messaging.support import stores_of
from tests.support.sns import CERT_URL, TOPIC, TestSigner, iso

EVENTS = {"https": 80, "sqs": 200}
HTTPS_IN_FLIGHT = 8
POLLERS = 4
IDLE_SECONDS = 4.0
SETTLE_SECONDS = 3.0  # after start: the first template sync and probes are done
TARGET = 3_000.0  # status events/s at 1,000 sends/s
PHONE_HEX = "7" * 32  # not a sender of the child's dispatcher: it leaves these messages alone


def _envelope(payload: dict, sns_id: str) -> dict:
    return {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(payload),
        "Timestamp": iso(time.time()),
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }


async def _seed(settings: Settings, n: int) -> list[dict]:
    """n sent messages in the outbound table; the `delivered` event of each."""
    now = time.time()
    messages = [
        OutboundMessage(
            id=ids.new_id(),
            channel=Channel.WHATSAPP,
            category=Category.UTILITY,
            origination=f"phone-number-id-{PHONE_HEX}",
            recipient=f"+9198{i:08d}",
            content={"text": {"body": "your order has shipped"}},
            create_time=now,
            lane=Lane.CONVERSATION,
            due_time=now,
            update_time=now,
        )
        for i in range(n)
    ]
    run = uuid.uuid4().hex[:6]
    async with stores_of(settings) as (outbound, _):
        for start in range(0, n, 100):
            part = messages[start : start + 100]
            await outbound.messages.accept(part)
            await outbound.queue.hand_off([m.id for m in part], now)
            await outbound.queue.record_results(
                [SendResult(m.id, "sent", now, provider_message_id=f"wamid.{run}{m.id}") for m in part]
            )
    return [
        status_event(
            phone_hex=PHONE_HEX,
            to=m.recipient,
            wamid=f"wamid.{run}{m.id}",
            status="delivered",
            at=now + 1,
            callback=m.callback_data,
            error=None,
            region="us-east-1",
            account="000000000000",
        )
        for m in messages
    ]


class Child:
    """The gateway's SNS endpoint and messaging in a process of their own (`serve` below)."""

    def __init__(self, mode: str, moto: str, tables: dict[str, str], queue: str, cert: Path, root: Path):
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'gen'}", "WECARE_LOG_LEVEL": "WARNING"}
        args = [sys.executable, "-m", "bench.inbound_bench", "serve", mode, moto, json.dumps(tables), queue, str(cert)]
        self.proc = subprocess.Popen(
            args, cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )  # stderr inherited: its warnings show
        self.url = ""

    def ready(self) -> None:
        """Waits for the child to say it is serving (blocking: call it on a thread)."""
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"the inbound bench's child did not start: {line!r}")
        self.url = line.split()[1]

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stop(self.proc, timeout=5)


async def measure(mode: str, moto: str, root: Path, progress) -> dict[str, float]:
    n = EVENTS[mode]
    suffix = uuid.uuid4().hex[:8]
    tables = {"whatsapp_inbound_table": f"in-{suffix}", "whatsapp_outbound_table": f"out-{suffix}"}
    settings = Settings(
        store="dynamodb", dynamodb_endpoint_url=moto, aws_endpoint_url=moto, data_dir=root / "data", **tables
    )
    aws = AwsClients(settings)
    await dynamodb_store.ensure_tables(
        await aws.client("dynamodb"), tables["whatsapp_outbound_table"], tables["whatsapp_inbound_table"]
    )
    await aws.close()
    sqs = boto3.client("sqs", endpoint_url=moto, region_name="us-east-1")
    queue = f"whatsapp-inbound-{suffix}"
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    signer = TestSigner()
    cert = root / f"cert-{suffix}.pem"
    cert.write_bytes(signer.pem())
    # The child starts while the messages are seeded (shared time, not shared work): its idle CPU is measured
    # only once both are done and it has settled.
    child = Child(mode, moto, tables, queue, cert, root)
    try:
        progress(f"inbound {mode}: seeding {n} sent messages")
        events = await _seed(settings, n)
        bodies = [_envelope(e, f"sns-{suffix}-{i}") for i, e in enumerate(events)]
        if mode == "https":
            bodies = [json.dumps(signer.sign(b)) for b in bodies]  # signed before the window: SNS's work, not ours
        await asyncio.to_thread(child.ready)
        await asyncio.sleep(SETTLE_SECONDS)
        c0, t0 = child.cpu(), time.monotonic()
        await asyncio.sleep(IDLE_SECONDS)
        idle = (child.cpu() - c0) / (time.monotonic() - t0)
        progress(f"inbound {mode}: {n} events")
        c0, t0 = child.cpu(), time.monotonic()
        if mode == "https":
            await _post_all(child.url, bodies)
        else:
            await asyncio.to_thread(_enqueue, sqs, url, [json.dumps(b) for b in bodies])
            await _drained(sqs, url)
        c1, t1 = child.cpu(), time.monotonic()
    finally:
        child.close()
        sqs.delete_queue(QueueUrl=url)
    busy = max(1e-9, (c1 - c0) - idle * (t1 - t0))
    return {"events": n, "cpu": c1 - c0, "idle": idle, "net": busy, "wall": t1 - t0}


async def _post_all(url: str, bodies: list[str]) -> None:
    pending = list(reversed(bodies))
    headers = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"}
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while pending:
                body = pending.pop()
                async with session.post(url, data=body, headers=headers) as reply:
                    if reply.status != 200:
                        raise RuntimeError(f"the gateway answered {reply.status}: {await reply.text()}")

        await asyncio.gather(*(worker() for _ in range(HTTPS_IN_FLIGHT)))


def _enqueue(sqs, url: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        part = bodies[start : start + 10]
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(part)])


async def _drained(sqs, url: str, limit: float = 120.0) -> None:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    began = time.monotonic()
    while time.monotonic() - began < limit:
        attributes = (await asyncio.to_thread(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=names))[
            "Attributes"
        ]
        if sum(int(attributes[n]) for n in names) == 0:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the inbound queue was not drained in time")


async def run(stack, report: Report) -> None:
    began = time.monotonic()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)  # moto's; the child inherits them
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="wecare-inbound-bench-") as tmp:
        moto = start_moto(port, Path(tmp) / "moto.log")
        try:
            results = {m: await measure(m, f"http://127.0.0.1:{port}", Path(tmp), report.progress) for m in EVENTS}
        finally:
            stop(moto, timeout=10)
    rows = []
    for mode, r in results.items():
        per_core = r["events"] / r["net"]
        rows.append(
            (
                "HTTPS, one event a delivery" if mode == "https" else "SQS, 10 a ReceiveMessage",
                f"{r['events']}",
                f"{r['net'] / r['events'] * 1e6:,.0f} ({r['cpu'] / r['events'] * 1e6:,.0f})",
                f"{per_core:,.0f} ({r['events'] / r['cpu']:,.0f})",
                f"{TARGET / per_core:.1f}",
                f"{r['events'] / r['wall']:,.0f}",
                f"{r['idle'] * 100:.0f}%",
            )
        )
    report.table(
        "Inbound: status events through the production path (gateway SNS endpoint + messaging on DynamoDB/moto)",
        (
            "path",
            "events",
            "CPU µs/event net (gross)",
            "events/s per core net (gross)",
            "cores for 3,000/s",
            "wall events/s",
            "idle CPU",
        ),
        rows,
    )
    report.note(
        f"inbound: {time.monotonic() - began:.0f}s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        "CPU is the child's (gateway + messaging) less its idle over the window (gross: with it, a bound); wall "
        "events/s is moto's pace, not ours"
    )


# --- the child ------------------------------------------------------------------------------------------------


async def serve(mode: str, moto: str, tables: dict[str, str], queue: str, cert: Path) -> None:
    from aiohttp import web

    from gateway.app import Gateway
    from gateway.sns import ROUTE, HttpsCertificates, SnsEndpoint
    from runtime.auth import TokenVerifier
    from services.contacts.main import wire as contacts_wire
    from services.messaging.main import wire as messaging_wire
    from tests.support.identity import TestPool
    from tests.support.servers import running

    pool = TestPool()
    pem = await asyncio.to_thread(cert.read_bytes)

    async def fetch(url: str) -> bytes:
        return pem

    data = Path(tempfile.mkdtemp(prefix="wecare-inbound-child-"))
    async with running("contacts", contacts_wire, pool, data / "contacts") as contacts:
        settings = dict(
            store="dynamodb",
            dynamodb_endpoint_url=moto,
            aws_endpoint_url=moto,
            contacts_address=contacts.address,
            whatsapp_phone_number_ids=("phone-number-id-" + "8" * 32,),
            inbound_delivery=mode,
            whatsapp_inbound_queue=queue,
            inbound_queue_pollers=POLLERS,
            sns_topic_arns=(TOPIC,),
            **tables,
        )
        async with running("messaging", messaging_wire, pool, data / "messaging", **settings) as messaging:
            gateway_settings = pool.settings(messaging_address=messaging.address, sns_topic_arns=(TOPIC,))
            endpoint = SnsEndpoint.for_settings(gateway_settings, HttpsCertificates(fetch=fetch))
            gateway = Gateway(gateway_settings, TokenVerifier(gateway_settings), extra_routes=endpoint.routes())
            runner = web.AppRunner(gateway.app(), access_log=None)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            print(f"READY http://127.0.0.1:{port}{ROUTE}", flush=True)
            await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
            await runner.cleanup()
            await endpoint.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        mode_, moto_, tables_, queue_, cert_ = sys.argv[2:7]
        asyncio.run(serve(mode_, moto_, json.loads(tables_), queue_, Path(cert_)))
    else:
        out_report = Report()
        asyncio.run(run(None, out_report))
        print(out_report.markdown())
