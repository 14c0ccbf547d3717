"""Inbound at scale on DynamoDB (moto): two messaging processes on one pair of tables take status events through
IngestEvents at the same time, with the capacity log on (runtime/capacity_log.py). Every request the ingest made
is charged to its partition key by the capacity model (bench/dynamodb_model.py): no key takes more than a small
share of the ingest's writes (the inbox feed used to commit every event through one head item), nothing was
refused (no compare-and-swap race between the processes), and a watcher on each process still sees
every change."""

from __future__ import annotations

import asyncio
import json
import uuid

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from bench.dynamodb_model import Model, read_log, schema_of
from localrun.sandbox.events import status_event
from runtime import ids
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.contacts.main import wire as contacts_wire
from services.messaging.adapters import dynamodb_store
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage, SendResult
from services.messaging.main import wire as messaging_wire
from tests.messaging.inbound_env import POOL, VIEWER, service
from tests.messaging.support import stores_of
from tests.support.servers import running
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

PHONE_HEX = "7" * 32
PHONE = f"phone-number-id-{PHONE_HEX}"  # not a sender of these processes: their dispatchers leave it alone
CUSTOMERS = 48
CALLS = 12  # IngestEvents calls, half to each process, all at once
HOT_SHARE = 0.2  # of the ingest's write units, at most, on any one partition key


def sent_message(n: int, at: float) -> OutboundMessage:
    return OutboundMessage(
        id=ids.new_id(),
        channel=Channel.WHATSAPP,
        category=Category.UTILITY,
        origination=PHONE,
        recipient=f"+9198{n:08d}",
        content={"text": {"body": "your order has shipped"}},
        create_time=at,
        lane=Lane.CONVERSATION,
        due_time=at,
        update_time=at,
    )


@pytest.fixture
async def two_processes(tmp_path, moto_endpoint):
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())  # spans that record: the capacity log names each call's RPC
    suffix = uuid.uuid4().hex[:8]
    log = tmp_path / "capacity.jsonl"
    tables = {"whatsapp_inbound_table": f"in-{suffix}", "whatsapp_outbound_table": f"out-{suffix}"}
    aws = AwsClients(Settings(dynamodb_endpoint_url=moto_endpoint))
    client = await aws.client("dynamodb")
    await dynamodb_store.ensure_tables(client, tables["whatsapp_outbound_table"], tables["whatsapp_inbound_table"])
    schemas = {t: schema_of((await client.describe_table(TableName=t))["Table"]) for t in tables.values()}
    await aws.close()
    async with running("contacts", contacts_wire, POOL, tmp_path / "contacts") as contacts:
        settings = dict(
            store="dynamodb",
            dynamodb_endpoint_url=moto_endpoint,
            aws_endpoint_url=moto_endpoint,
            contacts_address=contacts.address,
            whatsapp_phone_number_ids=("phone-number-id-" + "8" * 32,),
            inbound_watch_poll_seconds=0.1,
            dynamodb_capacity_log=str(log),
            **tables,
        )
        async with (
            running("messaging", messaging_wire, POOL, tmp_path / "m1", **settings) as first,
            running("messaging", messaging_wire, POOL, tmp_path / "m2", **settings) as second,
            grpc.aio.insecure_channel(first.address) as one,
            grpc.aio.insecure_channel(second.address) as two,
        ):
            yield first, (pb_grpc.MessagingServiceStub(one), pb_grpc.MessagingServiceStub(two)), log, schemas


async def test_concurrent_ingest_shares_no_key_and_misses_no_change(two_processes):
    process, stubs, log, schemas = two_processes
    now = __import__("time").time()
    messages = [sent_message(n, now) for n in range(CUSTOMERS)]
    async with stores_of(process.settings) as (outbound, _):
        await outbound.messages.accept(messages)
        await outbound.queue.hand_off([m.id for m in messages], now)
        await outbound.queue.record_results(
            [SendResult(m.id, "sent", now, provider_message_id=f"wamid.S{n}") for n, m in enumerate(messages)]
        )
    watches = []
    for stub in stubs:
        call = stub.WatchConversations(pb.WatchConversationsRequest(include_status_changes=True), metadata=VIEWER)
        await asyncio.wait_for(call.initial_metadata(), 5)
        watches.append(call)

    events = [
        status_event(
            phone_hex=PHONE_HEX,
            to=m.recipient,
            wamid=f"wamid.S{n}",
            status="delivered",
            at=now + 1,
            callback=m.callback_data,
            error=None,
            region="us-east-1",
            account="000000000000",
        )
        for n, m in enumerate(messages)
    ]
    log.write_text("")  # the ingest's requests only (and the processes' background work meanwhile)
    per_call = len(events) // CALLS

    async def ingest(i: int) -> pb.IngestEventsResponse:
        part = events[i * per_call : (i + 1) * per_call]
        request = pb.IngestEventsRequest(
            events=[pb.InboundEvent(sns_message_id=e["messageId"], payload=json.dumps(e), source="test") for e in part]
        )
        return await stubs[i % 2].IngestEvents(request, metadata=service())

    replies = await asyncio.gather(*(ingest(i) for i in range(CALLS)))
    outcomes = [r.outcome for reply in replies for r in reply.results]
    assert outcomes == [pb.INGEST_OUTCOME_APPLIED] * CUSTOMERS

    records = [r for r in read_log(log) if "IngestEvents" in (r.get("c") or "")]
    assert records, "the capacity log recorded no request of IngestEvents"
    tally = Model(schemas).tally(records, {"ingest": (0.0, float("inf"))})["ingest"]
    assert dict(tally.refused) == {}, "refused conditions or cancelled transactions: processes raced for a key"
    # SDK retries are not asserted: moto in server mode answers some concurrent requests with a 500 ("dictionary
    # changed size during iteration"), which botocore retries. A race for a key shows as a refusal, above.
    loads = {key: load.wcu for key, load in tally.loads.items() if load.wcu > 0}
    total = sum(loads.values())
    hottest, units = max(loads.items(), key=lambda kv: kv[1])
    assert units <= HOT_SHARE * total, f"{hottest} took {units:.0f} of the ingest's {total:.0f} write units"

    # Each process's watcher sees every change, whichever process ingested it.
    for call in watches:
        seen: set[str] = set()
        while len(seen) < CUSTOMERS:
            try:
                event = await asyncio.wait_for(call.read(), 10)
            except TimeoutError:
                raise AssertionError(f"saw {len(seen)} of {CUSTOMERS}") from None
            assert event.kind == pb.CONVERSATION_EVENT_KIND_STATUS_CHANGED
            assert event.message.status == pb.STATUS_DELIVERED
            seen.add(event.message.name)
        assert seen == {f"messages/{m.id}" for m in messages}
        call.cancel()
