"""What a pause costs on DynamoDB, as a function of the job's size and of its queued messages (issue 12, point 4):
messaging's WithdrawMessages by key prefix (what PauseJob and CancelJob ask of it) on a job of SIZES[0] and one
of SIZES[1] messages with the same QUEUED of them still queued (the rest sent), on the embedded AWS (moto). The
messages are seeded straight into the outbound table (moto takes ~100 requests a second: accepting thousands
through the store would take minutes); the withdrawal is the store's own, with the capacity log on, and every
request it made is charged by the capacity model (bench/dynamodb_model.py). O(queued) shows as the same requests
and units at both sizes; O(job) as requests and read units that grow with the size."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from bench.dynamodb_model import Model, read_log, schema_of
from runtime import dynamo, ids
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters import dynamodb_store
from services.messaging.adapters.dynamodb_store.outbound_table import ensure_outbound_table, item_of
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage, Status

SIZES = (1_000, 5_000)
QUEUED = 100
PHONE = "phone-number-id-" + "5" * 32


def _message(job: str, i: int, queued: bool, now: float) -> OutboundMessage:
    m = OutboundMessage(
        id=ids.new_id(),
        channel=Channel.WHATSAPP,
        category=Category.UTILITY,
        origination=PHONE,
        recipient=f"+9196{i:08d}",
        content={"text": {"body": "hello"}},
        create_time=now,
        idempotency_key=f"bulkJobs/{job}/+9196{i:08d}",
        lane=Lane.BULK,
        batch_id=f"{job}-0",
        due_time=now + 3600,  # queued, not due: the stack's dispatchers (if any) leave them alone
        update_time=now,
    )
    return m if queued else m.replace(status=Status.SENT, provider_message_id=f"wamid.{i}", send_time=now)


async def one(endpoint: str, root: Path, size: int) -> dict:
    table, job = f"pause-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:12]
    now = time.time()
    seed = AwsClients(Settings(dynamodb_endpoint_url=endpoint))
    try:
        client = await seed.client("dynamodb")
        await ensure_outbound_table(client, table)
        schemas = {table: schema_of((await client.describe_table(TableName=table))["Table"])}
        queued_at = set(range(0, size, size // QUEUED))  # spread over the job's key range
        puts = [{"PutRequest": {"Item": item_of(_message(job, i, i in queued_at, now), 1, False)}} for i in range(size)]
        await dynamo.batch_write(client, table, puts)
    finally:
        await seed.close()
    log = root / f"pause-{size}.jsonl"
    aws = AwsClients(Settings(dynamodb_endpoint_url=endpoint, dynamodb_capacity_log=str(log)))
    try:
        stores = dynamodb_store.open_outbound(aws, table)
        began = time.monotonic()
        withdrawal = await stores.messages.withdraw_by_key_prefix(f"bulkJobs/{job}/", time.time())
        seconds = time.monotonic() - began
    finally:
        await aws.close()
    tally = Model(schemas).tally(read_log(log), {"pause": (0.0, float("inf"))})["pause"]
    loads = tally.loads.values()
    return {
        "size": size,
        "queued": len(queued_at),
        "withdrawn": len(withdrawal.withdrawn),
        "requests": tally.requests,
        "rcu": sum(x.rcu for x in loads),
        "wcu": sum(x.wcu for x in loads),
        "seconds": seconds,
    }


async def run(endpoint: str, root: Path, report) -> None:
    # The embedded AWS takes any credentials; the bench's own process may have none in its environment.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    rows = [await one(endpoint, root, size) for size in SIZES]
    small, large = rows
    grows = large["requests"] > small["requests"] * 1.5 or large["rcu"] > small["rcu"] * 1.5
    for r in rows:
        if r["withdrawn"] != r["queued"]:
            raise RuntimeError(f"withdrew {r['withdrawn']} of {r['queued']} queued messages of {r['size']:,}")
    report.add(
        f"dynamodb pause: WithdrawMessages by key prefix, {QUEUED} queued of a {small['size']:,}- and a "
        f"{large['size']:,}-message job (moto, capacity model): requests / RCU / WCU",
        " vs ".join(f"{r['requests']:,} / {r['rcu']:,.0f} / {r['wcu']:,.0f}" for r in rows),
        "-",
        "-",
        "O(job): reads grow with the job" if grows else "O(queued) met",
    )
