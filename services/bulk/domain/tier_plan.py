"""A WhatsApp campaign planned against the messaging tier (no I/O): how many recipients today's budget allows, and
when the job will finish when it must wait for the rolling window to free places.

The tier (messaging's GetMessagingTier) says how many new customers the job's category may reach now and when
counted customers leave the window (its releases). The plan sends what the budget allows at the job's binding
rate, waits for the next release, sends what it freed, and so on; the customers it reaches leave the window again
one window after they were reached, and at most messaging's lag later (the rest of its counting bucket and the
grace an admission holds), so a campaign larger than the tier finishes by itself over several windows."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    """The tier as the job's category sees it now."""

    available: int  # new customers it may reach now; -1: no limit
    releases: tuple[tuple[float, int], ...]  # (wall time, customers) leaving the window, earliest first
    window: float  # seconds (Meta's day on the time scale)
    lag: float  # seconds: how much later than a window after the call messaging may release a customer

    @property
    def unlimited(self) -> bool:
        return self.available < 0


@dataclass(frozen=True)
class Plan:
    budget: int  # recipients the budget allows now
    finish: float  # wall time the last recipient is expected to be sent
    waits: int  # how many times the job is expected to wait for the window


def plan(recipients: int, rate: float, tier: Tier, now: float) -> Plan:
    """`rate`: recipients a second the job sends at (its binding rate)."""
    rate = rate if rate > 0 else math.inf
    if tier.unlimited:
        return Plan(recipients, now + recipients / rate, 0)
    budget = min(recipients, max(0, tier.available))
    places, left, t, waits = max(0, tier.available), recipients, now, 0
    frees = [(at, n) for at, n in tier.releases if n > 0]
    heapq.heapify(frees)
    while left > 0:
        sent = min(left, places)
        if sent:
            heapq.heappush(frees, (t + tier.window + tier.lag, sent))  # they leave the window again
            t += sent / rate
            left, places = left - sent, places - sent
        if left <= 0:
            break
        if not frees:  # nothing will ever free a place (a tier of 0)
            return Plan(budget, math.inf, waits)
        at, n = heapq.heappop(frees)
        if at > t:
            waits += 1
            t = at
        places += n
    return Plan(budget, t, waits)
