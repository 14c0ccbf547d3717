"""A withdrawal by key prefix (a big job's queue, a page at a time) goes on when its caller stops waiting (the
gRPC deadline cancels the handler): the hold is noted first, and the queue is withdrawn to the end, not cut off
halfway; bulk takes a deadline on WithdrawMessages as "still withdrawing", not as a failed pause."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from runtime.errors import Unavailable
from services.bulk.adapters.messaging import MessagingClient, StillWithdrawing
from services.messaging.adapters.store import Withdrawal
from services.messaging.outbound.withdrawal import Withdrawals
from wecare.messaging.v1 import messaging_service_pb2 as mpb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc


class SlowQueue:
    """withdraw_by_key_prefix as a big job's: pages that take a while."""

    def __init__(self, pages: int):
        self.pages = pages
        self.withdrawn: list[int] = []

    async def withdraw_by_key_prefix(self, prefix: str, now: float) -> Withdrawal:
        for page in range(self.pages):
            await asyncio.sleep(0.05)
            self.withdrawn.append(page)
        return Withdrawal(withdrawn=[f"m{i}" for i in range(self.pages)], in_flight=0)


class Holds:
    def __init__(self):
        self.noted = []

    async def note_holds(self, holds) -> None:
        self.noted.extend(holds)


def test_a_withdrawal_whose_caller_stops_waiting_goes_on_to_the_end():
    async def main():
        queue, held = SlowQueue(pages=6), Holds()
        withdrawals = Withdrawals(queue, held, wall=lambda: 1_000.0)
        call = asyncio.create_task(withdrawals.withdraw("bulkJobs/j1/"))
        await asyncio.sleep(0.12)  # two pages in: the caller's deadline
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        cut_at = len(queue.withdrawn)
        await asyncio.sleep(0.4)
        return cut_at, queue.withdrawn, held.noted

    cut_at, withdrawn, noted = asyncio.run(main())
    assert len(noted) == 1  # the hold, before any page
    assert cut_at < 6
    assert withdrawn == list(range(6))


class FailingQueue(SlowQueue):
    async def withdraw_by_key_prefix(self, prefix: str, now: float) -> Withdrawal:
        await asyncio.sleep(0.1)
        raise ConnectionError("the store went away")


def test_a_withdrawal_that_fails_after_its_caller_left_is_logged_with_what_to_do(caplog):
    async def main():
        withdrawals = Withdrawals(FailingQueue(pages=1), Holds(), wall=lambda: 1_000.0)
        call = asyncio.create_task(withdrawals.withdraw("bulkJobs/j2/"))
        await asyncio.sleep(0.02)
        call.cancel()  # the caller's deadline
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0.2)

    with caplog.at_level("ERROR", logger="wecare.messaging"):
        asyncio.run(main())
    [record] = [r for r in caplog.records if r.name == "wecare.messaging"]
    assert record.prefix == "bulkJobs/j2/" and "the store went away" in record.error
    assert "withdraw the prefix again" in record.getMessage()


class SlowMessaging(pb_grpc.MessagingServiceServicer):
    """Messaging as bulk's client meets it: a withdrawal that takes a second, or a service that is down."""

    def __init__(self, down: bool = False):
        self.down = down

    async def WithdrawMessages(self, request, context):
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "down")
        await asyncio.sleep(1.0)
        return mpb.WithdrawMessagesResponse(withdrawn_count=1)


async def _withdraw_from(servicer) -> tuple[int, int]:
    server = grpc.aio.server()
    pb_grpc.add_MessagingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            return await MessagingClient(channel, withdraw_deadline=0.2).withdraw("bulkJobs/j1/")
    finally:
        await server.stop(None)


def test_bulk_takes_a_deadline_as_still_withdrawing_and_an_outage_as_unavailable():
    with pytest.raises(StillWithdrawing):
        asyncio.run(_withdraw_from(SlowMessaging()))
    with pytest.raises(Unavailable):
        asyncio.run(_withdraw_from(SlowMessaging(down=True)))
