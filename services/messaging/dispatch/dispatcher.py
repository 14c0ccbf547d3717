"""The Dispatcher: takes accepted messages from the store's send queue and hands them to the providers at the
highest rate the channels allow and never above it, durably, across any number of messaging processes. This
module puts the parts together and runs them; each part is a module of dispatch/:

  leases        senders and their leases: this process's membership, the senders it owns, its fence
  budgets       its share of the account limits, the fence, media slots
  scheduler     scheduling and pacing: which call may start now, per sender in lane order
  batch_checks  the pre-call checks over a hand-off group (Meta's rules: meta_checks, tier)
  handoff       marking messages handed off (group commit) before their calls
  checks        the pre-call checks every message passes immediately before its call (the seam others extend)
  holds         the first of them: consent, suppression and withdrawal as they are now (read each 0.2 s)
  calls         making a provider call and what its outcome means; media ids (media); its span (call_spans)
  results       recording outcomes (group commit)
  pair_log      the pair limit's memory handed to a sender's next owner
  housekeeping  in-doubt reconciliation, the outbound-dlq outbox, the observed inbound rate
  reactions     what a failed status event's code means for later sends

Limits across processes (domain.coordination has the full argument): every sender is owned by exactly one
process at a time through a lease renewed once a second; the account-wide limits are split into shares that sum
to at most one. Within a process every limit is a paced sliding-window log counted by completion time
(domain.pacing), which no latency or jitter can break. A process stops calling before its lease could lapse, and a
sender changes hands only after a hold of one window plus the longest call, so two owners never meet in one
window. After kill -9 the queue is simply still there: whoever owns the sender next continues it. Time comes
from a Clock (dispatch.clock), so all of this runs on a virtual clock in tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from collections import Counter

from runtime import ids
from services.messaging.adapters.providers import ChannelProvider, MediaRegistrar
from services.messaging.adapters.store import OutboundStores, WindowStore
from services.messaging.dispatch.batch_checks import GroupChecks
from services.messaging.dispatch.budgets import AccountBudgets, Fence
from services.messaging.dispatch.calls import Caller
from services.messaging.dispatch.checks import PreCallChecks
from services.messaging.dispatch.clock import Clock, SystemClock
from services.messaging.dispatch.config import DispatchConfig, sender_key
from services.messaging.dispatch.handoff import HandOff
from services.messaging.dispatch.holds import HoldsCheck
from services.messaging.dispatch.housekeeping import Housekeeping, LetterSender
from services.messaging.dispatch.leases import Leases, SenderMarks
from services.messaging.dispatch.media import MediaIds
from services.messaging.dispatch.pair_log import PairHandOver
from services.messaging.dispatch.reactions import Reactions
from services.messaging.dispatch.results import Results
from services.messaging.dispatch.scheduler import Scheduler
from services.messaging.dispatch.senders import SenderLane
from services.messaging.dispatch.tier import TierBudget
from services.messaging.domain.coordination import View
from services.messaging.domain.model import Channel, Lane


class Dispatcher:
    def __init__(
        self,
        stores: OutboundStores,
        windows: WindowStore,
        providers: dict[Channel, ChannelProvider],
        media: MediaRegistrar,
        dead_letters: LetterSender | None,
        config: DispatchConfig,
        member_id: str | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        checks: PreCallChecks | None = None,
        group_checks: GroupChecks | None = None,
        tier: TierBudget | None = None,
    ):
        self.config = config
        self.checks = checks or PreCallChecks()
        self.member = member_id or f"{socket.gethostname()}:{os.getpid()}:{ids.new_id()[-8:]}"
        self._clock = clock or SystemClock()
        rng = rng or random.Random()
        self.holds = HoldsCheck(stores.holds, self._clock)
        self.checks.add(self.holds, first=True)
        self._lanes: dict[str, SenderLane] = {}
        self._fence = Fence()
        self._wake = asyncio.Event()
        self.budgets = AccountBudgets(config, self._clock, self._fence)
        self._leases = Leases(
            stores.coordination,
            config,
            self.member,
            self._lanes,
            self.budgets,
            self._fence,
            self._wake.set,
            self._clock,
            rng,
        )
        self._results = Results(stores.queue, self._clock)
        media_ids = MediaIds(stores.media_ids, media, self.budgets, self._clock)
        self._caller = Caller(
            providers, media_ids, self.budgets, self._fence, self._results, config, self._clock, rng, self.checks
        )
        self._handoff = HandOff(
            stores.queue, self._caller, self._results, self._fence, self._wake, self._clock, group_checks
        )
        self.tier = tier
        self._pairs = PairHandOver(stores.pairs, self._lanes, self._clock)
        self._scheduler = Scheduler(
            stores.queue,
            self._lanes,
            self.budgets,
            self._fence,
            self._wake,
            self._handoff.put,
            self._clock,
            self.checks.ready,
        )
        self._housekeeping = Housekeeping(
            stores.queue, stores.outbox, dead_letters, windows, self._lanes, config, self._clock
        )
        marks = SenderMarks(stores.coordination, self._clock, rng)
        self.reactions = Reactions(
            marks, stores.suppressions, stores.messages, stores.queue, config, self._clock, stores.holds
        )

    # --- what the rest of messaging sees (dispatch.interface) ----------------------------------------
    def notify(self, channel: Channel, origination: str, lane: Lane | None = None) -> None:
        self._scheduler.notify(channel, origination, lane)

    def paused_until(self, channel: Channel, origination: str) -> float:
        """Wall time until which the sender is paused (131048), as of the last heartbeat."""
        return self._leases.paused.get(sender_key(channel, origination), 0.0)

    # --- for operators and tests ---------------------------------------------------------------------
    def owned(self) -> list[str]:
        return sorted(k for k, lane in self._lanes.items() if lane.owned)

    def shares(self) -> dict[str, float]:
        view = self._leases.view
        return dict(view.shares) if view else {}

    @property
    def view(self) -> View | None:
        """This process's lease as of its last successful heartbeat (domain.coordination.View)."""
        return self._leases.view

    def lane(self, channel: Channel, origination: str) -> SenderLane | None:
        return self._lanes.get(sender_key(channel, origination))

    @property
    def heartbeats(self) -> int:
        return self._leases.heartbeats

    @property
    def sent(self) -> int:
        return self._caller.sent

    @property
    def outcomes(self) -> Counter[str]:
        return self._caller.outcomes

    # --- running ------------------------------------------------------------------------------------
    async def run(self) -> None:
        loops = [
            self._leases.run(),
            self.holds.run(),
            self._scheduler.run(),
            self._handoff.run(),
            self._results.run(),
            self._housekeeping.reconcile(),
            self._housekeeping.dead_letters(),
            self._housekeeping.inbound_rate(),
            self._pairs.run(),
        ]
        if self.tier is not None:
            loops.append(self.tier.run())
        tasks = [asyncio.create_task(loop) for loop in loops]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._drain()

    async def _drain(self) -> None:
        """Stop: no new calls; the ones in flight finish and are recorded; the senders are freed."""
        self._fence.stop()
        await self._handoff.abandon()
        await self._caller.wait_in_flight(self.config.timing.call_timeout + 1)
        self._caller.spans.close()
        await self._results.drain()
        with contextlib.suppress(Exception):
            await self._pairs.close()
        if self.tier is not None:
            with contextlib.suppress(Exception):
                await self.tier.close()
        with contextlib.suppress(Exception):
            await self._leases.leave()
