"""Store fan-out cannot starve the dispatcher (issue 12, point 4). On the embedded default SQLite has one writer,
and many SendMessages streams (bulk hands over a chunk each) queue their acceptance transactions on it. The
dispatcher's hand-off marks and call results are URGENT (runtime/sqlite.py): each waits for at most the
acceptance transaction already running, not for the queue. Real threads and a real file; what is asserted is how
many acceptance transactions started between a dispatcher write's submission and its own start (counted on the
writer thread, not timed), and a loose time bound."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

from runtime.aws import AwsClients
from runtime.settings import Settings
from runtime.sqlite import NORMAL, URGENT, PriorityWriter, SqliteDatabase
from services.messaging.adapters import dynamodb_store
from services.messaging.adapters.dynamodb_store.table import CONCURRENCY
from services.messaging.adapters.sqlite_store import outbound_stores
from services.messaging.adapters.sqlite_store.outbound_table import OUTBOUND_SCHEMA
from services.messaging.domain.model import Lane, SendResult
from services.messaging.main import dynamodb_outbound
from services.messaging.outbound.sends import CHUNK
from tests.messaging.test_store_contract import NOW, message

STREAMS = 16  # SendMessages streams accepting at once (bulk workers handing over chunks)
CHUNKS = 8  # acceptance transactions each (CHUNK messages a transaction, as sends.py writes them)
GROUPS = 10  # dispatcher groups: a hand-off mark and its results each
GROUP = 20


class CountingDatabase(SqliteDatabase):
    """Counts, for each URGENT write, the transactions that started after it was submitted and before it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.started = 0  # transactions started (on the writer thread)
        self.overtaken: list[int] = []

    async def write(self, fn, priority: int = NORMAL):
        submitted = self.started

        def run(conn):
            if priority == URGENT:
                self.overtaken.append(self.started - submitted)
            self.started += 1
            return fn(conn)

        return await super().write(run, priority)


async def test_dispatcher_writes_overtake_a_big_acceptance(tmp_path):
    db = CountingDatabase(tmp_path / "WhatsAppOutboundTable.sqlite3", OUTBOUND_SCHEMA)
    out = outbound_stores(db)
    try:
        ready = [message(recipient=f"+9199{i:08d}", lane=Lane.CONVERSATION) for i in range(GROUPS * GROUP)]
        await out.messages.accept(ready)
        committed = 0
        steady = asyncio.Event()  # each stream has its next acceptance queued on the writer

        async def stream(s: int) -> None:
            nonlocal committed
            for c in range(CHUNKS):
                batch = [
                    message(key=f"bulkJobs/J{s}/{c}/{i}", recipient=f"+9198{s:02d}{c:02d}{i:04d}", batch=f"b{s}")
                    for i in range(CHUNK)
                ]
                await out.messages.accept(batch)
                committed += 1
                if committed >= STREAMS:
                    steady.set()
                await asyncio.sleep(0)  # sends.py yields between chunks too

        began = time.perf_counter()
        streams = [asyncio.ensure_future(stream(s)) for s in range(STREAMS)]
        await steady.wait()
        db.overtaken.clear()
        waits = []
        for g in range(GROUPS):
            ids = [m.id for m in ready[g * GROUP : (g + 1) * GROUP]]
            t0 = time.perf_counter()
            assert await out.queue.hand_off(ids, NOW) == ids
            results = [SendResult(i, "sent", NOW + 1, provider_message_id=f"wamid.{i}") for i in ids]
            assert [m.id for m in await out.queue.record_results(results)] == ids
            waits.append(time.perf_counter() - t0)
        left = STREAMS * CHUNKS - committed
        await asyncio.gather(*streams)
        accepting = time.perf_counter() - began

        # Each dispatcher write waits for the acceptance running when it was queued, and for no other (a FIFO
        # writer: for every stream's queued acceptance, ~STREAMS a write). The count is read on this thread and
        # bumped on the writer's, so an acceptance the writer had taken but not yet begun when the dispatcher's
        # write was queued (it was running, in effect) may count as one.
        assert len(db.overtaken) == 2 * GROUPS and max(db.overtaken) <= 1, db.overtaken
        assert max(waits) < 0.25 * accepting, (max(waits), accepting)
        assert left > STREAMS, "the acceptance was over before the dispatcher's writes: nothing was shown"
        assert committed == STREAMS * CHUNKS
    finally:
        await out.table.close()


def test_the_writer_takes_urgent_calls_first_and_in_order_within_a_priority():
    writer = PriorityWriter("test-writer")
    gate, ran = threading.Event(), []
    try:
        first = writer.submit(gate.wait)  # holds the writer while the rest queue
        futures = [writer.submit(lambda n=n: ran.append(n), NORMAL) for n in ("n1", "n2")]
        futures += [writer.submit(lambda n=n: ran.append(n), URGENT) for n in ("u1", "u2")]
        gate.set()
        for f in [first, *futures]:
            f.result(5)
        assert ran == ["u1", "u2", "n1", "n2"]
        failing = writer.submit(lambda: 1 / 0)
        try:
            failing.result(5)
            raise AssertionError("the error was not passed back")
        except ZeroDivisionError:
            pass
    finally:
        writer.shutdown()


async def test_on_dynamodb_the_queue_has_a_fan_out_budget_of_its_own(moto_endpoint):
    """On DynamoDB a table's writes of one call go CONCURRENCY at a time; the dispatcher's queue has its own
    budget, so an acceptance holding all of the table's (a SendMessages fan-out) does not hold up a hand-off."""
    aws = AwsClients(Settings(dynamodb_endpoint_url=moto_endpoint))
    name = f"out-{uuid.uuid4().hex[:8]}"
    try:
        await dynamodb_store.ensure_tables(await aws.client("dynamodb"), name, f"in-{uuid.uuid4().hex[:8]}")
        out = dynamodb_outbound(aws, name)
        queued = message(recipient="+919900000001", lane=Lane.CONVERSATION)
        await out.messages.accept([queued])
        budget = out.messages._t._limit  # the acceptance's fan-out budget, held whole as a big acceptance would
        for _ in range(CONCURRENCY):
            await budget.acquire()
        try:
            assert await asyncio.wait_for(out.queue.hand_off([queued.id], NOW), 20) == [queued.id]
            result = SendResult(queued.id, "sent", NOW + 1, provider_message_id="wamid.Q1")
            [sent] = await asyncio.wait_for(out.queue.record_results([result]), 20)
            assert sent.id == queued.id
        finally:
            for _ in range(CONCURRENCY):
                budget.release()
    finally:
        await aws.close()
