"""This process's part of the messaging tier (domain.tier): before business-initiated WhatsApp messages are called,
their customers are admitted into the portfolio's rolling window, exactly across every messaging process.

A customer already counted in the current bucket needs nothing; any other takes a place. Places come from a small
pool this process claims from the shared ledger in blocks (one compare-and-swap for many sends), so the ledger is
not a hot key at any send rate: marketing's pool is claimed within the limit less the reserve, the reserve's pool
(utility and authentication only) within the limit. A pool belongs to the bucket it was claimed in; when the bucket
ends, what is left is given back (the bucket no longer counts it). Customers admitted are recorded as counted in the
bucket (their own items: spread over every customer's key). A customer not admitted is held until the window's next
release. An admission holds for a call that starts within tier.ADMISSION_GRACE of it (AdmissionAge, a pre-call
check): a message whose call would start later goes back to be admitted again, so a bucket that ended while its
call waited (a slow hand-off write) cannot let the customer leave the window less than a day after the call."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from services.messaging.adapters.store import PortfolioStore
from services.messaging.dispatch.checks import Verdict, deferred
from services.messaging.dispatch.clock import Clock
from services.messaging.domain import tier
from services.messaging.domain.model import OutboundMessage

log = logging.getLogger("wecare.messaging.tier")
BLOCK = 32  # places claimed beyond the need, per class: the ledger is written once per this many new customers
ATTEMPTS = 10
LEDGER_FRESH = 2.0  # seconds a read of the ledger serves quality and limits
FORGET_ADMISSIONS = 60.0  # seconds: an admission whose message never reached its call (withdrawn meanwhile)


@dataclass(frozen=True)
class Admission:
    admitted: frozenset[str]  # customers that may be called now
    retry_at: float  # wall time: when the others may look again
    at: float = 0.0  # wall time of the admission; 0 when the tier has no limit (nothing to keep to)


class TierBudget:
    def __init__(
        self,
        store: PortfolioStore,
        setting: int,
        reserve_share: float,
        window: float,
        clock: Clock,
        rng: random.Random | None = None,
    ):
        self._store = store
        self._setting = setting
        self._reserve_share = reserve_share
        self.window = window
        self._clock = clock
        self._rng = rng or random.Random()
        self._bucket: int | None = None
        self._pool = {True: 0, False: 0}  # marketing-safe places, reserve places (utility and authentication)
        self._lock = asyncio.Lock()
        self._doc: dict = {}
        self._read_at = -1e9
        self.admitted_at: dict[str, float] = {}  # message id -> wall time its customer was admitted for it

    # --- reading ------------------------------------------------------------------------------------
    async def ledger(self, fresh: bool = False) -> dict:
        if fresh or self._clock.monotonic() - self._read_at > LEDGER_FRESH:
            self._doc, _ = await self._store.load_ledger()
            self._read_at = self._clock.monotonic()
        return self._doc

    def limits(self, doc: dict) -> tier.Limits:
        return tier.limits(doc, self._setting, self._reserve_share)

    async def quality(self, phone: str) -> str:
        return tier.qualities(await self.ledger()).get(phone, ("", 0.0))[0]

    # --- admitting ----------------------------------------------------------------------------------
    async def admit(self, customers: dict[str, bool]) -> Admission:
        """customers: recipient -> whether any of its messages is marketing."""
        now = self._clock.wall()
        async with self._lock:
            doc = await self.ledger()
            if self.limits(doc).unlimited:
                return Admission(frozenset(customers), now)
            b = tier.bucket_of(now, self.window)
            if self._bucket != b:
                await self._give_back()
                self._bucket = b
            counted = await self._store.counted(list(customers), now)
            need = [r for r in customers if counted.get(r) != b]
            short = {True: 0, False: 0}
            for r in need:
                short[customers[r]] += 1
            want = {
                True: max(0, short[True] - self._pool[True]),
                False: max(0, short[False] - self._pool[False] - max(0, self._pool[True] - short[True])),
            }
            if want[True] or want[False]:
                doc = await self._claim({k: v + BLOCK if v else 0 for k, v in want.items()}, now)
            admitted = {r for r in customers if counted.get(r) == b}
            fresh: list[str] = []
            for r in need:
                marketing = customers[r]
                pool = True if marketing or not self._pool[False] else False
                if self._pool[pool] > 0:
                    self._pool[pool] -= 1
                    fresh.append(r)
            if fresh:
                await self._store.count(fresh, b, tier.release_time(b, self.window), now)
            admitted.update(fresh)
            retry = tier.next_release(doc, now, self.window) or now + tier.width(self.window)
            return Admission(frozenset(admitted), max(retry, now + 0.05), now)

    def note_admitted(self, message_ids: list[str], at: float) -> None:
        """The messages their customers' admission at `at` is for (AdmissionAge asks at their calls)."""
        if len(self.admitted_at) > 10_000:
            self.admitted_at = {i: t for i, t in self.admitted_at.items() if t > at - FORGET_ADMISSIONS}
        self.admitted_at.update(dict.fromkeys(message_ids, at))

    async def _claim(self, want: dict[bool, int], now: float) -> dict:
        """One compare-and-swap taking places for both pools; the ledger as written."""
        for attempt in range(ATTEMPTS):
            doc, version = await self._store.load_ledger()
            lim = self.limits(doc)
            new, got_marketing = tier.claim(doc, now, self.window, want[True], lim, marketing=True)
            new, got_reserve = tier.claim(new, now, self.window, want[False], lim, marketing=False)
            if not got_marketing and not got_reserve:
                self._doc, self._read_at = doc, self._clock.monotonic()
                return doc
            if await self._store.save_ledger(new, version):
                self._pool[True] += got_marketing
                self._pool[False] += got_reserve
                self._doc, self._read_at = new, self._clock.monotonic()
                return new
            await self._clock.sleep(self._rng.uniform(0.002, 0.02) * (attempt + 1))
        log.warning("the tier ledger is too contended: holding these sends a moment")
        return self._doc

    async def _give_back(self) -> None:
        """Places claimed in a bucket that ended, not used: that bucket counts them no more."""
        left = self._pool[True] + self._pool[False]
        if not left or self._bucket is None:
            self._pool = {True: 0, False: 0}
            return
        bucket = self._bucket
        for attempt in range(ATTEMPTS):
            doc, version = await self._store.load_ledger()
            if await self._store.save_ledger(tier.give_back(doc, bucket, left), version):
                self._pool = {True: 0, False: 0}
                return
            await self._clock.sleep(self._rng.uniform(0.002, 0.02) * (attempt + 1))
        log.warning("could not give places back to the tier ledger; they count until their bucket leaves")
        self._pool = {True: 0, False: 0}

    async def run(self) -> None:
        """Gives back what a bucket that ended left unused, even when nothing is sent any more."""
        while True:
            await self._clock.sleep(max(0.05, min(1.0, tier.width(self.window) / 2)))
            if self._bucket is not None and tier.bucket_of(self._clock.wall(), self.window) != self._bucket:
                async with self._lock:
                    try:
                        await self._give_back()
                        self._bucket = None
                    except Exception:
                        log.exception("giving tier places back failed")

    async def close(self) -> None:
        async with self._lock:
            await self._give_back()


class AdmissionAge:
    """A pre-call check (dispatch.checks): a message admitted into the tier's window goes only if its call starts
    within tier.ADMISSION_GRACE of the admission; otherwise it is deferred at once and admitted again (in the
    bucket of its call). Messages the tier did not admit (replies, other channels, no limit) are not its concern."""

    def __init__(self, budget: TierBudget, clock: Clock):
        self._budget = budget
        self._clock = clock

    def ready(self) -> bool:
        return True

    async def check(self, message: OutboundMessage) -> Verdict | None:
        at = self._budget.admitted_at.pop(message.id, None)
        now = self._clock.wall()
        if at is None or now - at <= tier.ADMISSION_GRACE:
            return None
        return deferred(now, "TIER_LIMIT", f"admitted {now - at:.1f}s before its call: admitted again")
