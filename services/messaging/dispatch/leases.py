"""Senders and their leases: this process's membership in the coordination document (domain.coordination has the
argument), renewed by a heartbeat once a second, and what each heartbeat's view means here: which senders it owns
and from when it may call for them, its share of the account limits, and until when it may call at all (the
fence, `call_timeout + margin` before its lease could lapse). Also the marks anyone may put on a sender for its
owner to act on (131048 pause, 130429 slow down).

Every change of the document is one compare-and-swap, retried with jitter when another process got there first.
A heartbeat that fails changes nothing here: the fence it set last still stands, so calls stop in time."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from services.messaging.adapters.store import CoordinationStore
from services.messaging.dispatch.budgets import AccountBudgets, Fence
from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.config import DispatchConfig
from services.messaging.dispatch.senders import SenderLane
from services.messaging.domain import coordination
from services.messaging.domain.coordination import View

log = logging.getLogger("wecare.messaging.dispatcher")
ATTEMPTS = 8  # compare-and-swap tries before a change of the document gives up


class ContendedDocument(RuntimeError):
    """The coordination document changed under every attempt."""


async def update_document(
    store: CoordinationStore, change: Callable[[dict], dict], clock: Clock, rng: random.Random
) -> None:
    for attempt in range(ATTEMPTS):
        doc, version = await store.load_coordination()
        if await store.save_coordination(change(doc), version):
            return
        await clock.sleep(rng.uniform(0.01, 0.05) * (attempt + 1))
    raise ContendedDocument("coordination document too contended")


class SenderMarks:
    """Marks on a sender that its owner acts on at its next heartbeat, whoever puts them."""

    def __init__(self, store: CoordinationStore, clock: Clock, rng: random.Random):
        self._store = store
        self._clock = clock
        self._rng = rng

    async def pause(self, key: str, until: float) -> None:
        """131048 (spam rate limit): nobody calls for this sender until `until` (wall time)."""
        await self._store.mark_sender(key, "paused_until", until)

    async def slowed(self, key: str, at: float) -> None:
        """130429 seen at `at` (wall time): the owner halves the sender's rate."""
        await self._store.mark_sender(key, "slow_seen", at)


class Leases:
    def __init__(
        self,
        store: CoordinationStore,
        config: DispatchConfig,
        member: str,
        lanes: dict[str, SenderLane],
        budgets: AccountBudgets,
        fence: Fence,
        wake: Callable[[], None],
        clock: Clock,
        rng: random.Random,
    ):
        self._store = store
        self._config = config
        self.member = member
        self._lanes = lanes
        self._budgets = budgets
        self._fence = fence
        self._wake = wake
        self._clock = clock
        self._rng = rng
        self.view: View | None = None
        self.paused: dict[str, float] = {}  # sender key -> wall time, as of the last heartbeat
        self.heartbeats = 0

    async def run(self) -> None:
        while True:
            started = self._clock.monotonic()
            try:
                await self.heartbeat()
            except Exception:
                log.exception("heartbeat failed; calls stop before the lease can lapse")
            spent = self._clock.monotonic() - started
            await self._clock.sleep(max(0.05, self._config.heartbeat_interval - spent))

    async def heartbeat(self) -> None:
        senders = self._config.senders()
        marks = await self._store.sender_marks()  # apart from the document: read once, no contention
        for attempt in range(ATTEMPTS):
            mono = self._clock.monotonic()
            now = self._clock.wall()
            doc, version = await self._store.load_coordination()
            new_doc, view = coordination.heartbeat(
                doc, self.member, now, senders, self._config.timing, marks, self.busy()
            )
            if await self._store.save_coordination(new_doc, version):
                paused = {k: e.get("paused_until", 0.0) for k, e in new_doc.get("senders", {}).items()}
                for k, m in marks.items():
                    paused[k] = max(paused.get(k, 0.0), m.get("paused_until", 0.0))
                self.paused = paused
                self._apply(view, now, mono)
                self.heartbeats += 1
                return
            await self._clock.sleep(self._rng.uniform(0.005, 0.03) * (attempt + 1))
        raise ContendedDocument("coordination document too contended")

    def busy(self) -> list[str]:
        """The owned senders with work: buffered, in flight, or more (maybe) in the store. The send share follows
        these (domain.coordination)."""
        return [
            k
            for k, lane in self._lanes.items()
            if lane.owned and (lane.buffer or lane.known or lane.more or lane.wanted)
        ]

    def _apply(self, view: View, now: float, mono: float) -> None:
        """Takes a new view: wall-clock times become monotonic deadlines measured from the heartbeat's start."""
        self.view = view
        self._fence.until = mono + (view.may_call_until() - now)
        self._budgets.set_shares(view.shares)
        senders = self._config.senders()
        for key, lane in self._lanes.items():
            if key not in view.senders and lane.owned:
                lane.owned = False
                lane.drop_buffer()
        for key, sv in view.senders.items():
            lane = self._lanes.get(key)
            if lane is None:
                pair = self._config.pair_gap if key.startswith("WHATSAPP:") else None
                lane = self._lanes[key] = SenderLane(key, senders[key], self._config.pace, pair)
            if not lane.owned:
                lane.owned = True
                lane.wanted = True
                lane.slow_seen = sv.slow_seen  # a signal from before we owned it is the old owner's business
            lane.start_at = mono + (sv.start_at - now)
            lane.paused_until = mono + (sv.paused_until - now)
            if sv.slow_seen > lane.slow_seen:
                lane.rate.throttled(mono)
                lane.slow_seen = sv.slow_seen
        self._wake()

    async def leave(self) -> None:
        """A graceful stop: the senders are set free (after the hold) for the other processes."""
        await update_document(
            self._store,
            lambda d: coordination.leave(d, self.member, self._clock.wall(), self._config.timing),
            self._clock,
            self._rng,
        )
