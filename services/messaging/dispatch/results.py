"""Recording what provider calls ended with: results are collected as calls finish and written in groups, one
store write for all that finished since the last (group commit), retried until the store takes them. Nothing
is dropped: a failed write puts its results back in front of the newer ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.messaging.adapters.store import SendQueue
from services.messaging.dispatch.clock import Clock
from services.messaging.domain.model import SendResult

log = logging.getLogger("wecare.messaging.dispatcher")
SLOW_WRITE = 0.25  # seconds: a hand-off or result write slower than this is logged
RETRY_AFTER = 0.5
LINGER = 0.01  # seconds a result waits for others to share its write (a call's outcome is known already)
GROUP = 64  # ... unless this many are waiting


def note_slow(clock: Clock, what: str, began: float, count: int) -> None:
    took = clock.monotonic() - began
    if took > SLOW_WRITE:
        log.warning("slow store write holds sends back", extra={"write": what, "ms": round(took * 1000), "n": count})


class Results:
    def __init__(self, queue: SendQueue, clock: Clock):
        self._queue = queue
        self._clock = clock
        self._pending: list[SendResult] = []
        self._ready = asyncio.Event()

    def put(self, result: SendResult) -> None:
        self._pending.append(result)
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            if len(self._pending) < GROUP:
                await self._clock.sleep(LINGER)
            self._ready.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("recording results failed; retrying")
                await self._clock.sleep(RETRY_AFTER)
                self._ready.set()

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            began = self._clock.monotonic()
            await self._queue.record_results(batch, fetch=False)
            note_slow(self._clock, "send results", began, len(batch))
        except BaseException:
            self._pending = batch + self._pending
            raise

    async def drain(self, attempts: int = 3) -> None:
        """At a stop: what is left is written, a few tries."""
        for _ in range(attempts):
            if not self._pending:
                return
            with contextlib.suppress(Exception):
                await self.flush()
