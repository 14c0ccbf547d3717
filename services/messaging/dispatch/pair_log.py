"""The pair limit kept when a sender changes hands (Meta's 131056: one sender to one recipient about once every
6 s). Each process paces pairs in memory (domain.pacing.PairGuard) for the senders it owns; this keeps what the
next owner needs in the store (PairLogStore): every `interval` it saves each owned WhatsApp sender's recent pairs
(the recipients the rule still holds back, as wall times), once more when it loses the sender, and seeds a sender
it gains from what the previous owner saved. A lease hand-over has a hold longer than the interval, so the last
save lands before the new owner calls; after a crash the pairs of at most the last interval are missing, and the
hand-over itself covers them for Meta's 6 s: a lapsed owner stopped calling call_timeout + margin before its lease
ran out, and the next calls no sooner than a hold after that (domain.coordination: 2.5 s + 3.5 s = 6 s).
tests/process/test_pair_limit_processes.py shows both across three processes (a pair interval of 20 s kept from
the log; an owner frozen before its save still at least 6 s apart)."""

from __future__ import annotations

import asyncio
import logging

from services.messaging.adapters.store import PairLogStore
from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.senders import SenderLane

log = logging.getLogger("wecare.messaging.dispatcher")


class PairHandOver:
    def __init__(self, store: PairLogStore, lanes: dict[str, SenderLane], clock: Clock, interval: float = 0.5):
        self._store = store
        self._lanes = lanes
        self._clock = clock
        self._interval = interval
        self._held: set[str] = set()  # senders this process owns and has seeded

    async def sync(self) -> None:
        """One pass: seed senders gained, save senders held (and those just lost, a last time)."""
        mono, wall = self._clock.monotonic(), self._clock.wall()
        to_wall, to_mono = wall - mono, mono - wall
        for key, lane in list(self._lanes.items()):
            if lane.pair is None:
                continue
            if lane.owned and key not in self._held:
                saved = await self._store.load_pairs(key)
                lane.pair.seed({r: t + to_mono for r, t in saved.items()})
                self._held.add(key)
            elif key in self._held:
                recent = {r: t + to_wall for r, t in lane.pair.recent(mono).items()}
                await self._store.save_pairs(key, recent)
                if not lane.owned:
                    self._held.discard(key)

    async def run(self) -> None:
        while True:
            try:
                await self.sync()
            except Exception:
                log.exception("saving or loading the pair log failed; trying again")
            await self._clock.sleep(self._interval)

    async def close(self) -> None:
        """At a stop: what the senders' next owners need, saved once more."""
        for key in list(self._held):
            lane = self._lanes.get(key)
            if lane is not None and lane.pair is not None:
                mono, wall = self._clock.monotonic(), self._clock.wall()
                recent = {r: t + wall - mono for r, t in lane.pair.recent(mono).items()}
                await asyncio.shield(self._store.save_pairs(key, recent))
