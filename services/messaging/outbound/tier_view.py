"""GetMessagingTier's read: the business portfolio's messaging tier now (domain.tier over the shared ledger): its
limit and where it came from, the customers counted in the window, what marketing and the other categories may
still reach, the window's releases to come, and the phones' quality. Bulk plans campaigns against it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.messaging.dispatch.tier import TierBudget
from services.messaging.domain import tier
from services.messaging.domain.meta_events import LOWEST_QUALITY

UNLIMITED = -1  # an availability without a limit


@dataclass(frozen=True)
class PhoneState:
    origination: str
    quality: str
    update_time: float

    @property
    def marketing_stopped(self) -> bool:
        return self.quality == LOWEST_QUALITY


@dataclass(frozen=True)
class TierView:
    limits: tier.Limits
    used: int
    marketing_available: int  # UNLIMITED (-1) when there is no limit
    available: int
    releases: list[tuple[float, int]]
    window: float
    bucket_seconds: float
    release_lag: float  # the most a customer counts past the window after their call
    phones: list[PhoneState]
    observed: float


class TierReader:
    def __init__(self, budget: TierBudget, phones: tuple[str, ...], wall: Callable[[], float] = time.time):
        self._budget = budget
        self._phones = phones
        self._wall = wall

    async def read(self) -> TierView:
        doc = await self._budget.ledger(fresh=True)
        now = self._wall()
        window = self._budget.window
        lim = self._budget.limits(doc)

        def room(marketing: bool) -> int:
            left = tier.available(doc, now, window, lim, marketing)
            return UNLIMITED if math.isinf(left) else int(left)

        known = tier.qualities(doc)
        phones = [PhoneState(p, *known.get(p, ("UNKNOWN", 0.0))) for p in self._phones]
        return TierView(
            limits=lim,
            used=tier.used(doc, now, window),
            marketing_available=room(True),
            available=room(False),
            releases=tier.releases(doc, now, window),
            window=window,
            bucket_seconds=tier.width(window),
            release_lag=tier.lag(window),
            phones=phones,
            observed=now,
        )
