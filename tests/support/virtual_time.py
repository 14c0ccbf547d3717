"""Virtual time for tests of timing: an event loop whose clock jumps straight to the next timer whenever nothing
is ready to run (no real sleeping: a minute of scheduling takes milliseconds), a Clock for the dispatcher that
reads it (services.messaging.dispatch.clock), and a SQLite database that runs on the loop's own thread.

Deterministic as long as nothing outside the loop does work the loop waits for: time only moves when every task
waits on a timer. So the code under test gets stores that run inline (InlineDatabase) and providers that are
plain coroutines, and nothing waits on a thread or a socket."""

from __future__ import annotations

import asyncio
import selectors
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from runtime.sqlite import SqliteDatabase
from services.messaging.dispatch.clock import SystemClock

T = TypeVar("T")
EPOCH = 1_750_000_000.0  # the wall time at virtual 0
TICK = 1e-6


class _JumpingSelector:
    """The loop's selector, except that a wait with nothing ready moves virtual time instead of sleeping."""

    def __init__(self, selector: selectors.BaseSelector, loop: VirtualTimeLoop):
        self._selector = selector
        self._loop = loop

    def select(self, timeout: float | None = None):
        ready = self._selector.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("virtual time: every task waits and no timer is set (a deadlock in the test)")
        # At least a tick, as a real clock moves: a timer a hair ahead of now (a float rounding of a pace) would
        # otherwise fire at the same instant again and again.
        self._loop.now += max(timeout, TICK)
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self._selector = _JumpingSelector(self._selector, self)  # type: ignore[assignment]

    def time(self) -> float:
        return self.now


def run(main: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to completion on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class VirtualClock(SystemClock):
    """The dispatcher's Clock on the running loop's (virtual) time; the wall clock is EPOCH plus it."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self) -> float:
        return EPOCH + asyncio.get_running_loop().time()


class InlineDatabase(SqliteDatabase):
    """The embedded engine with every call run right on the loop's thread (production hands them to threads)."""

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self._conn())

    async def write(self, fn: Callable[[sqlite3.Connection], T], priority: int = 1) -> T:
        return self.transaction(fn)  # one at a time already: nothing waits, so nothing to put first


async def until(predicate: Callable[[], Awaitable[bool] | bool], within: float, step: float = 0.05) -> float:
    """Waits (virtual time) until the predicate holds; the virtual time it took. Fails after `within`."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        value = predicate()
        if not isinstance(value, bool):
            value = await value
        if value:
            return loop.time() - began
        if loop.time() - began > within:
            raise AssertionError(f"not reached within {within} virtual seconds")
        await asyncio.sleep(step)
