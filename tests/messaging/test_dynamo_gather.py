"""The DynamoDB store's bounded fan-out (adapters/dynamodb_store/table.py, DynamoTable.gather): cancelled part way
(a stopping dispatcher, a client gone), it leaves no coroutine behind that never ran — they are closed, so nothing
warns "coroutine ... was never awaited" at garbage collection, as test_consent_at_the_call[dynamodb] did."""

from __future__ import annotations

import asyncio
import inspect

from services.messaging.adapters.dynamodb_store.table import CONCURRENCY, DynamoTable


async def test_a_cancelled_gather_closes_the_coroutines_it_never_started():
    table = DynamoTable(aws=None, name="unused")  # gather needs no client
    release, all_running = asyncio.Event(), asyncio.Event()
    started = 0

    async def one() -> None:
        nonlocal started
        started += 1
        if started == CONCURRENCY:
            all_running.set()
        await release.wait()

    coros = [one() for _ in range(CONCURRENCY + 8)]
    task = asyncio.create_task(table.gather(coros))
    await asyncio.wait_for(all_running.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert task.cancelled()
    assert started == CONCURRENCY  # the other 8 waited for the limit and never ran
    states = {inspect.getcoroutinestate(c) for c in coros}
    assert states == {inspect.CORO_CLOSED}, f"coroutines left unclosed: {states}"


async def test_a_gather_that_completes_returns_every_result_in_order():
    table = DynamoTable(aws=None, name="unused")

    async def double(n: int) -> int:
        await asyncio.sleep(0)
        return 2 * n

    assert await table.gather([double(n) for n in range(CONCURRENCY * 2)]) == [2 * n for n in range(CONCURRENCY * 2)]


async def test_a_gather_cancelled_before_any_coroutine_began_closes_them_all():
    """Cancelled in the same turn of the loop that made it: its wrappers are cancelled before their first step, so
    their own clean-up never runs (the warning of the fifth stop's clone run, test_consent_at_the_call[dynamodb])."""
    table = DynamoTable(aws=None, name="unused")

    async def one() -> None:
        await asyncio.sleep(0)

    coros = [one() for _ in range(3)]
    task = asyncio.create_task(table.gather(coros))
    await asyncio.sleep(0)  # the gather has made its wrappers; none of them has taken a step
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert task.cancelled()
    states = {inspect.getcoroutinestate(c) for c in coros}
    assert states == {inspect.CORO_CLOSED}, f"coroutines left unclosed: {states}"
