"""The hand-off: a message passes the pre-call checks (dispatch.batch_checks), then is durably marked handed to the
provider before its call, and never twice. The calls
the scheduler starts are collected and marked in groups, one store write for all started since the last (group
commit); only the messages marked are called. One the store did not mark was withdrawn meanwhile: its call is
never made and what it held is given back, and the rest of that sender's buffer is read again (what was
buffered with it is as likely withdrawn: a paused or cancelled job).

Nothing marked is stranded: a mark whose write failed or whose outcome is uncertain (a DynamoDB group is one
write a message, and some may go through while others fail) is never called and put back in the queue (a
`retry` result, which changes only a message that is marked). At a stop, the group being marked is waited for
and put back the same way, so a rolling restart leaves no message marked but never called (a false `unknown`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.messaging.adapters.store import HandOffIncomplete, SendQueue
from services.messaging.dispatch.batch_checks import GroupChecks
from services.messaging.dispatch.budgets import Fence
from services.messaging.dispatch.calls import Caller
from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.results import Results, note_slow
from services.messaging.dispatch.senders import SenderLane
from services.messaging.domain.model import OutboundMessage, SendResult, Status

log = logging.getLogger("wecare.messaging.dispatcher")
RETRY_AFTER = 0.2  # seconds after a failed mark before the next group
SETTLE_WITHIN = 5.0  # at a stop: how long the group being marked is waited for
LINGER = 0.005  # seconds a started call waits for others to share its mark (its windows are not held meanwhile)
GROUP = 32  # ... unless this many are waiting


class HandOff:
    def __init__(
        self,
        queue: SendQueue,
        caller: Caller,
        results: Results,
        fence: Fence,
        wake: asyncio.Event,
        clock: Clock,
        checks: GroupChecks | None = None,
    ):
        self._checks = checks
        self._queue = queue
        self._caller = caller
        self._results = results
        self._fence = fence
        self._wake = wake
        self._clock = clock
        self._started: list[tuple[SenderLane, OutboundMessage]] = []
        self._ready = asyncio.Event()
        self._marking: tuple[list[tuple[SenderLane, OutboundMessage]], asyncio.Future] | None = None

    async def _check(self, batch: list[tuple[SenderLane, OutboundMessage]]) -> list[tuple[SenderLane, OutboundMessage]]:
        """The pre-call checks (dispatch.batch_checks): deferred and failed messages are written so, never called, and
        give back what they held; the rest go on to their hand-off."""
        assert self._checks is not None
        now = self._clock.wall()
        verdicts = await self._checks.check([m for _, m in batch], now)
        if not verdicts:
            return batch
        held = [(i, v.retry_at, v.error) for i, v in verdicts.items() if v.kind == "deferred"]
        ends = {"failed": Status.FAILED, "withdrawn": Status.WITHDRAWN}
        refused = [(i, v.error, ends[v.kind]) for i, v in verdicts.items() if v.kind in ends]
        try:
            await self._queue.defer(held, now)
            await self._queue.refuse(refused, now)
        except Exception:
            log.exception("recording pre-call verdicts failed; those messages stay queued")
        for lane, m in batch:
            if m.id in verdicts:
                self._caller.release(lane, m, called=False)
        return [(lane, m) for lane, m in batch if m.id not in verdicts]

    def put(self, lane: SenderLane, message: OutboundMessage) -> None:
        """A call the scheduler started (its windows already hold it)."""
        self._started.append((lane, message))
        self._ready.set()

    async def abandon(self) -> None:
        """At a stop: calls started but not marked are not made (they stay queued for whoever comes next); the
        group being marked is waited for, and what it marked is put back in the queue."""
        for lane, m in self._started:
            self._caller.release(lane, m, called=False)
        self._started.clear()
        if self._marking is None:
            return
        batch, write = self._marking
        self._marking = None
        marked: set[str] = set()
        with contextlib.suppress(Exception):
            marked = set(await asyncio.wait_for(asyncio.shield(write), SETTLE_WITHIN))
        self._give_back(batch, marked, uncertain={m.id for _, m in batch} - marked)

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            if len(self._started) < GROUP:
                await self._clock.sleep(LINGER)
            self._ready.clear()
            batch, self._started = self._started, []
            if batch:
                await self._hand_off(batch)

    async def _hand_off(self, batch: list[tuple[SenderLane, OutboundMessage]]) -> None:
        if self._checks is not None:
            batch = await self._check(batch)
            if not batch:
                return
        ids = [m.id for _, m in batch]
        uncertain: set[str] = set()
        began = self._clock.monotonic()
        # The write goes on if this task is cancelled (a stop): abandon() waits for it and puts back what it marked.
        write = asyncio.ensure_future(self._queue.hand_off(ids, self._clock.wall()))
        self._marking = (batch, write)
        try:
            marked = set(await asyncio.shield(write))
            note_slow(self._clock, "hand-off marks", began, len(batch))
        except HandOffIncomplete as exc:
            log.warning("hand-off marks partly failed; the rest go back to the queue", extra={"n": len(batch)})
            marked = set(exc.marked)
            uncertain = set(ids) - marked
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hand-off marks failed; the messages stay queued")
            marked, uncertain = set(), set(ids)
        self._marking = None
        if self._fence.stopped:
            self._give_back(batch, marked, uncertain)
            return
        stale: set[SenderLane] = set()
        for lane, m in batch:
            if m.id in marked:
                self._caller.start(lane, m)
                continue
            # Withdrawn meanwhile, or its mark uncertain: never called.
            self._caller.release(lane, m, called=False)
            if m.id in uncertain:
                self._put_back(m.id)
            stale.add(lane)
        for lane in stale:
            # Read the queue again now rather than walk the rest through the pace (a resumed job waited seconds).
            lane.drop_buffer()
            lane.wanted = True
            self._wake.set()
        if uncertain:
            await self._clock.sleep(RETRY_AFTER)  # the store is failing: the next group a moment later

    def _give_back(
        self, batch: list[tuple[SenderLane, OutboundMessage]], marked: set[str], uncertain: set[str]
    ) -> None:
        """Stopping: nothing of the group is called; what is (or may be) marked goes back to the queue."""
        for lane, m in batch:
            self._caller.release(lane, m, called=False)
            if m.id in marked or m.id in uncertain:
                self._put_back(m.id)

    def _put_back(self, message_id: str) -> None:
        now = self._clock.wall()
        self._results.put(SendResult(message_id, "retry", now, retry_at=now))
