"""The holds check: consent, suppression and withdrawal as they are at the moment of the call (a pre-call check,
dispatch.checks). Whoever notes a hold (a STOP or START ingested, a 131050, a withdrawn job: outbound.withdrawal)
writes it to the store's holds (HoldStore) and withdraws what is queued for it there; this check is for what
that cannot reach: messages already handed off to a call, accepted on consent read a moment before the STOP, or
queued again later (131049).

Why this shape: a call must cost no I/O of its own (thousands a second), and a hold must reach every process
within a second. So each process reads what was noted since its last read, every POLL seconds (one query; the
holds are few: opt-outs, not sends), into an in-memory book (domain.holds.HoldBook) that answers each message
with a dictionary lookup. The bound is exact, not hoped for: the check is ready only while its last successful
read started less than FRESH seconds ago, and the scheduler starts no call while it is not, so no call starts
more than FRESH after a hold was noted without knowing it (and the call lands within a fraction of a second
after that). A store outage therefore pauses sending rather than sending blind. Each read reaches OVERLAP back
past the previous one, so a hold stamped before a read but committed after it is still found. A read that takes in
a TEMPLATE hold (Meta moved a template) tells whoever watches (the template catalogue forgets its cache), so the
checks at the call know a paused template within the same bound."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from services.messaging.adapters.store import HoldStore
from services.messaging.dispatch.checks import Verdict
from services.messaging.dispatch.clock import Clock
from services.messaging.domain.holds import HORIZON, HoldBook
from services.messaging.domain.model import OutboundMessage

log = logging.getLogger("wecare.messaging.dispatcher")
POLL = 0.2  # seconds between reads of the holds
FRESH = 0.8  # a call may start only this long after the start of the last successful read
OVERLAP = 5.0  # seconds each read reaches back: longer than a hold's write takes to commit


class HoldsCheck:
    def __init__(self, store: HoldStore, clock: Clock, poll: float = POLL, fresh: float = FRESH):
        self._store = store
        self._clock = clock
        self._poll = poll
        self._fresh = fresh
        self.book = HoldBook()
        self._read_at = -math.inf  # monotonic start of the last successful read
        self._after: float | None = None  # wall time the next read starts from
        self.reads = 0
        self._template_watchers: list[Callable[[], None]] = []

    def on_template_moved(self, watcher: Callable[[], None]) -> None:
        """`watcher` is called after a read that took in a TEMPLATE hold (before the check says ready again)."""
        self._template_watchers.append(watcher)

    def ready(self) -> bool:
        return self._clock.monotonic() - self._read_at < self._fresh

    async def check(self, message: OutboundMessage) -> Verdict | None:
        error = self.book.verdict(message)
        return Verdict("withdrawn", error) if error is not None else None

    async def read(self) -> None:
        """One read of what was noted since the last (all of the horizon the first time)."""
        started, wall = self._clock.monotonic(), self._clock.wall()
        after = wall - HORIZON if self._after is None else self._after
        holds = await self._store.holds_since(after, wall)
        seen = self.book.templates_changed
        self.book.add(holds)
        if self.book.templates_changed != seen:
            for watcher in self._template_watchers:
                watcher()
        self.book.forget_before(wall - HORIZON)
        self._after = wall - OVERLAP
        self._read_at = started
        self.reads += 1

    async def run(self) -> None:
        failing = False
        while True:
            try:
                await self.read()
                failing = False
            except Exception:
                if not failing:  # once per outage; the scheduler holds calls back meanwhile
                    log.exception("cannot read the holds; no call starts until they are read again")
                failing = True
            await self._clock.sleep(self._poll)
