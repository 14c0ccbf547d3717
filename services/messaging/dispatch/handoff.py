"""The hand-off: a message is durably marked handed to the provider before its call, and never twice. The calls
the scheduler starts are collected and marked in groups, one store write for all started since the last (group
commit); only the messages marked are called. One the store did not mark was withdrawn meanwhile: its call is
never made and what it held is given back, and the rest of that sender's buffer is read again (what was
buffered with it is as likely withdrawn: a paused or cancelled job)."""

from __future__ import annotations

import asyncio
import logging

from services.messaging.adapters.store import SendQueue
from services.messaging.dispatch.budgets import Fence
from services.messaging.dispatch.calls import Caller
from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.results import Results, note_slow
from services.messaging.dispatch.senders import SenderLane
from services.messaging.domain.model import OutboundMessage, SendResult

log = logging.getLogger("wecare.messaging.dispatcher")
RETRY_AFTER = 0.2  # seconds after a failed mark before the next group


class HandOff:
    def __init__(
        self,
        queue: SendQueue,
        caller: Caller,
        results: Results,
        fence: Fence,
        wake: asyncio.Event,
        clock: Clock,
    ):
        self._queue = queue
        self._caller = caller
        self._results = results
        self._fence = fence
        self._wake = wake
        self._clock = clock
        self._started: list[tuple[SenderLane, OutboundMessage]] = []
        self._ready = asyncio.Event()

    def put(self, lane: SenderLane, message: OutboundMessage) -> None:
        """A call the scheduler started (its windows already hold it)."""
        self._started.append((lane, message))
        self._ready.set()

    def abandon(self) -> None:
        """At a stop: calls started but not marked are not made; they stay queued for whoever comes next."""
        for lane, _m in self._started:
            lane.window.finish(self._clock.monotonic())
        self._started.clear()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._started = self._started, []
            if batch:
                await self._hand_off(batch)

    async def _hand_off(self, batch: list[tuple[SenderLane, OutboundMessage]]) -> None:
        try:
            began = self._clock.monotonic()
            marked = set(await self._queue.hand_off([m.id for _, m in batch], self._clock.wall()))
            note_slow(self._clock, "hand-off marks", began, len(batch))
        except Exception:
            log.exception("hand-off marks failed; the messages stay queued")
            marked = set()
            await self._clock.sleep(RETRY_AFTER)
        stale: set[SenderLane] = set()
        for lane, m in batch:
            if m.id in marked and not self._fence.stopped:
                self._caller.start(lane, m)
            else:
                # Withdrawn meanwhile (or the mark failed): never called.
                self._caller.release(lane, m, called=False)
                if m.id in marked:  # stopping after the mark: give it back to the queue
                    now = self._clock.wall()
                    self._results.put(SendResult(m.id, "retry", now, retry_at=now))
                else:
                    stale.add(lane)
        for lane in stale:
            # Read the queue again now rather than walk the rest through the pace (a resumed job waited seconds).
            lane.drop_buffer()
            lane.wanted = True
            self._wake.set()
