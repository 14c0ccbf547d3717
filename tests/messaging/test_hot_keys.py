"""Hot partition keys on DynamoDB (issue 12), on moto with the capacity log on (runtime/capacity_log.py): one phone,
one bulk job and one streamed send carry every message of the run (the worst case at 1,000 sends a second: a
lone busy phone, one job, one stream or chunk), and each message lives its whole life through the store —
accepted, read from the queue, handed off, sent, delivered and read — while a second job is paused part way
(withdrawn by key prefix) and one phone takes inbound messages from many customers. The capacity model
(bench/dynamodb_model.py) charges every request to its partition keys, by DynamoDB's rules for indexes.

What is asserted: for every partition key pattern of every index, the write units it took per message, spread over
the keys (shards) it used, put no key above half of a partition's 1,000 WCU/s at 1,000 messages a second (the
shards are crc32 of a message id, so at that rate each takes its share within a few percent); and a finished
job leaves nothing in the `keys` index, so a pause reads only what is unfinished."""

from __future__ import annotations

import re
import time
import uuid
from collections import defaultdict

from bench.dynamodb_model import Model, read_log, schema_of
from runtime import ids
from runtime.aws import AwsClients
from runtime.capacity_log import display
from runtime.settings import Settings
from services.messaging.adapters import dynamodb_store
from services.messaging.domain.model import (
    Category,
    Channel,
    Conversation,
    InboundMessage,
    Lane,
    OutboundMessage,
    SendResult,
    Status,
    StatusEvent,
)

PHONE = "phone-number-id-" + "1" * 32
SENT = 96  # messages of job J1, sent, delivered and read
PAUSED = 48  # messages of job J2, withdrawn by its prefix with IN_FLIGHT of them handed off
IN_FLIGHT = 8
INBOUND = 48  # inbound messages on PHONE, one from each customer
GROUP = 32  # what one call carries, as a stream's chunk or a dispatcher's hand-off does
RATE = 1000  # messages a second
LIMIT = 1000  # a partition's writes a second
TARGET = 0.5  # of LIMIT, at RATE


def outbound(n: int, job: str, at: float) -> OutboundMessage:
    return OutboundMessage(
        id=ids.new_id(int(at * 1000)),
        channel=Channel.WHATSAPP,
        category=Category.MARKETING,
        origination=PHONE,
        recipient=f"+9198{n:08d}",
        content={"template": {"name": "spring_sale", "language": {"code": "en"}}},
        create_time=at,
        idempotency_key=f"bulkJobs/{job}/{n}",
        lane=Lane.BULK,
        batch_id=f"batch-{job}",
        due_time=at,
        update_time=at,
    )


def inbound(n: int, at: float) -> InboundMessage:
    return InboundMessage(
        id=ids.new_id(int(at * 1000)),
        channel=Channel.WHATSAPP,
        origination=PHONE,
        customer=f"+9197{n:08d}",
        provider_message_id=f"wamid.IN{n}",
        content={"text": {"body": "hi"}},
        receive_time=at,
        create_time=at,
    )


def conversation(n: int, at: float, message_id: str) -> Conversation:
    return Conversation(f"whatsapp-9198{n:08d}", Channel.WHATSAPP, f"+9198{n:08d}", at, message_id)


def groups(items: list) -> list[list]:
    return [items[i : i + GROUP] for i in range(0, len(items), GROUP)]


async def test_no_index_partition_takes_more_than_half_its_limit_at_1000_sends_a_second(tmp_path, moto_endpoint):
    log = tmp_path / "capacity.jsonl"
    aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint, dynamodb_capacity_log=str(log)))
    suffix = uuid.uuid4().hex[:10]
    tables = (f"out-{suffix}", f"in-{suffix}")
    client = await aws.client("dynamodb")
    await dynamodb_store.ensure_tables(client, *tables)
    schemas = {t: schema_of((await client.describe_table(TableName=t))["Table"]) for t in tables}
    out = dynamodb_store.open_outbound(aws, tables[0])
    into = dynamodb_store.open_inbound(aws, tables[1])
    try:
        log.write_text("")  # the run's requests only, not the tables' creation
        now = time.time()
        sent = [outbound(n, "J1", now) for n in range(SENT)]
        paused = [outbound(n, "J2", now) for n in range(PAUSED)]
        for m in sent + paused:  # one at a time: moto copies every table in each transaction, racing the others
            await out.messages.accept([m])

        queued = await out.queue.queued(PHONE, now + 1, SENT + PAUSED)
        assert {m.id for m in queued} == {m.id for m in sent + paused}
        for part in groups(sent):
            await out.queue.hand_off([m.id for m in part], now + 2)
            results = [SendResult(m.id, "sent", now + 3, provider_message_id=f"wamid.{m.id}") for m in part]
            await out.queue.record_results(results)
        for status, at in ((Status.DELIVERED, now + 4), (Status.READ, now + 5)):
            for part in groups(sent):
                events = [StatusEvent(f"wamid.{m.id}", status, at, callback_data=m.id) for m in part]
                assert all(a.changed for a in await out.messages.apply_statuses(events))

        await out.queue.hand_off([m.id for m in paused[:IN_FLIGHT]], now + 6)
        withdrawal = await out.messages.withdraw_by_key_prefix("bulkJobs/J2/", now + 7)
        assert len(withdrawal.withdrawn) == PAUSED - IN_FLIGHT and withdrawal.in_flight == IN_FLIGHT
        done = await out.messages.withdraw_by_key_prefix("bulkJobs/J1/", now + 7)
        assert done.withdrawn == [] and done.in_flight == 0

        for m in (inbound(n, now + 8) for n in range(INBOUND)):
            await into.messages.add_message(m)

        unfinished = (await client.scan(TableName=tables[0], IndexName="keys", Select="COUNT"))["Count"]
    finally:
        await out.close()
        await into.close()
        await aws.close()

    tally = Model(schemas).tally(read_log(log), {"run": (0.0, float("inf"))})["run"]
    # What concentrates (the partition keys that one phone, job or stream shares, before its shard number) and
    # how many messages each carried; every other key is charged as though all the run's messages were its own.
    sharing = {
        ("out", "queue", f"q#{PHONE}"): SENT + PAUSED,
        ("out", "keys", "k#bulkJobs/J1"): SENT,
        ("out", "keys", "k#bulkJobs/J2"): PAUSED,
        ("out", "batch", "b#batch-J1"): SENT,
        ("out", "batch", "b#batch-J2"): PAUSED,
        ("out", "doubt", "doubt"): SENT + IN_FLIGHT,
        ("in", "rate", f"r#{PHONE}"): INBOUND,
        ("in", "", f"win#{PHONE}"): INBOUND,
    }
    scopes = {(side, index, display(raw)): n for (side, index, raw), n in sharing.items()}
    units: dict[tuple[str, str, str], float] = defaultdict(float)
    keys: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for (table, index, key), load in tally.loads.items():
        if load.wcu:
            scope = (table.split("-")[0], index, re.sub(r"#\d+$", "", key))
            scope = scope if scope in scopes else (scope[0], index, key)
            units[scope] += load.wcu
            keys[scope].add(key)
    assert all(units.get(s) for s in scopes), f"no writes charged to {[s for s in scopes if not units.get(s)]}"
    over = {}
    for scope, wcu in units.items():
        messages = scopes.get(scope, SENT + PAUSED + INBOUND)
        share = wcu / messages * RATE / len(keys[scope]) / LIMIT  # the mean key of the scope, at RATE
        if share > TARGET:
            over[" ".join(scope)] = f"{share:.2f} of a partition (over {len(keys[scope])} key(s))"
    assert over == {}, f"partition keys over {TARGET} of a partition's writes at {RATE} messages/s: {over}"

    # A finished job has nothing left in the `keys` index: a pause reads O(unfinished), not the whole job.
    assert unfinished == IN_FLIGHT, f"{unfinished} entries in the keys index; only J2's {IN_FLIGHT} are unfinished"


async def test_a_resumed_jobs_conversations_take_at_most_half_a_latest_partition(tmp_path, moto_endpoint):
    """Every accepted message touches its conversation, which keeps its place in the inbox's `latest` index (keyed
    by update time): new, one index write; moved by a later message, two (a delete and a put). A job paused after
    its chunks were handed over and resumed re-accepts every recipient's message, so each recipient's conversation
    takes three writes at the job's rate: over 4 shards 0.75 of a partition at 1,000 recipients/s (the bench's
    bulk window printed 0.58), over 8 shards 0.375. The readers query every shard: all are listed, newest first."""
    log = tmp_path / "capacity.jsonl"
    aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint, dynamodb_capacity_log=str(log)))
    table = f"in-{uuid.uuid4().hex[:10]}"
    client = await aws.client("dynamodb")
    await dynamodb_store.ensure_tables(client, f"out-{table}", table)
    schemas = {table: schema_of((await client.describe_table(TableName=table))["Table"])}
    into = dynamodb_store.open_inbound(aws, table)
    try:
        log.write_text("")
        now = time.time()
        for at in (now, now + 10):  # accepted, then accepted again after the resume
            for part in groups(list(range(SENT))):
                await into.conversations.note_outbound([conversation(n, at + n / 1000, f"m{n}") for n in part])
        listed = await into.conversations.list_conversations(None, None, SENT + 1)
    finally:
        await into.close()
        await aws.close()

    assert [c.customer for c in listed] == [f"+9198{n:08d}" for n in reversed(range(SENT))]
    tally = Model(schemas).tally(read_log(log), {"run": (0.0, float("inf"))})["run"]
    shards = {key: load.wcu for (_t, index, key), load in tally.loads.items() if index == "latest" and load.wcu}
    assert shards and all(key.startswith("conv#") for key in shards)
    share = sum(shards.values()) / SENT * RATE / len(shards) / LIMIT  # the mean shard, at RATE recipients/s
    assert share <= TARGET, f"latest conv#*: {share:.2f} of a partition over {len(shards)} shards at {RATE}/s"
