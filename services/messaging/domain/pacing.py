"""Exact rate limits for provider calls: a paced sliding-window log per limit, the pair rule, and the
slow-down/recover rule of a throttled sender. Pure (time is passed in), used by the dispatcher.

"Never above" is judged on the provider's side, at acceptance, which the caller cannot see: a call is accepted
some time between its start and its completion. So a call occupies its limit from the moment it starts until
one window after it completes (while in flight it counts, whatever its fate). A new call may start only while
fewer than `limit` calls occupy it. Proof that no window of acceptances exceeds the limit: take any window
with k acceptances and let n be the last of those calls to start; each other one was accepted inside the same
window, so after start(n) - width, so it completed after that, so it still occupied the limit when n started:
k - 1 <= limit - 1. This holds whatever the latency or jitter; a token bucket deeper than one token does not.

On top of that exact guard the calls are paced, `interval = width / (limit * pace)` apart, so they flow evenly
(short provider queues, low latency) instead of bursting `limit` at once and then waiting; a pace just under
1 absorbs the jitter so the guard rarely has to hold a call back. A scheduler that looks late (a busy event loop)
may catch up on the calls it missed within CATCH_UP of the window, else a 1,000/s limit checked every 3 ms would
get two calls per look, 670/s. Sustained throughput is then min(pace, 1 / (1 + latency / width)) of the limit.

Pacing and the guard may be two steps (admit, then begin): a call is admitted by the pace when it is scheduled,
and takes its place under the guard only when it is about to be made, after its hand-off (a store write) and its
checks. Those are not part of the call: the provider cannot accept a call before it starts, so the proof above
holds with the start taken at the call, and the latency that costs throughput is the call's own, not the
hand-off's (at 1,000/s a 20 ms hand-off would cost 2% of the limit). Admitted calls not yet begun are bounded by
`ahead` (a tenth of the window's worth), so a guard that holds calls back also holds admissions back."""

from __future__ import annotations

import heapq
import math

CATCH_UP = 0.1  # of the window: how far behind its schedule a late scheduler may catch up
AHEAD = 0.1  # of the limit: calls admitted and not yet begun (in their hand-off), at most


class CallWindow:
    def __init__(self, limit: float, width: float = 1.0, pace: float = 0.99):
        self.width = width
        self.pace = pace
        self._done: list[float] = []  # completion times (a heap), pruned after width
        self.in_flight = 0
        self.admitted = 0  # admitted by the pace, not yet begun (two-step use: admit, then begin)
        self._next_start = 0.0
        self.set_limit(limit)

    def set_limit(self, limit: float) -> None:
        """The count that may occupy the window (a share of an account limit may be fractional: floor)."""
        self.limit = limit
        self.capacity = max(0, math.floor(limit + 1e-9))
        self.interval = self.width / (self.capacity * self.pace) if self.capacity else math.inf
        self._catch_up = max(self.interval, CATCH_UP * self.width)
        self.ahead = max(1, math.ceil(AHEAD * self.capacity))

    def _prune(self, now: float) -> None:
        # The same expression as wait()'s: a completion occupies while now < completion + width. (Written as
        # `done <= now - width`, float rounding could keep an entry that wait() already counts as gone.)
        while self._done and self._done[0] + self.width <= now:
            heapq.heappop(self._done)

    def occupancy(self, now: float) -> int:
        self._prune(now)
        return self.in_flight + len(self._done)

    def wait(self, now: float) -> float:
        """Seconds until a call may start (0: now), paced and guarded in one step. math.inf when the limit is 0."""
        return max(self._pace_wait(now), self.begin_wait(now))

    def begin_wait(self, now: float) -> float:
        """The guard alone: seconds until fewer than `limit` calls occupy the window."""
        if self.capacity == 0:
            return math.inf
        if self.occupancy(now) < self.capacity:
            return 0.0
        if self._done:
            return self._done[0] + self.width - now
        return 0.002  # all in flight: a completion will free it

    def admit_wait(self, now: float) -> float:
        """Seconds until the pace admits a call that will begin later (two-step use)."""
        if self.capacity == 0:
            return math.inf
        pace_wait = self._pace_wait(now)
        if self.occupancy(now) + self.admitted < self.capacity + self.ahead:
            return pace_wait
        return max(pace_wait, self._done[0] + self.width - now if self._done else 0.002)

    def _pace_wait(self, now: float) -> float:
        return max(0.0, self._next_start - now)

    def admit(self, now: float) -> None:
        self.admitted += 1
        self._advance(now)

    def begin(self, now: float) -> None:
        """An admitted call is made now: it occupies the window from here (begin_wait() said 0)."""
        self.admitted -= 1
        self.in_flight += 1

    def withdraw(self) -> None:
        """An admitted call that will not be made: its place in the schedule is given back."""
        self.admitted -= 1
        self._next_start -= self.interval

    def start(self, now: float) -> None:
        self.in_flight += 1
        self._advance(now)

    def _advance(self, now: float) -> None:
        # A virtual schedule: a late start does not push every later one back, and the calls a late look missed
        # may follow at once, within the catch-up (the occupancy guard, not the pace, is what holds the limit).
        self._next_start = max(self._next_start, now - self._catch_up) + self.interval

    def cancel(self) -> None:
        """A started (or begun) call that was never made: it occupies nothing, and its place in the schedule is
        given back."""
        self.in_flight -= 1
        self._next_start -= self.interval

    def finish(self, now: float) -> None:
        self.in_flight -= 1
        heapq.heappush(self._done, now)

    def count_recent(self, now: float) -> int:
        """Completions within the last window (the current send rate, for progress)."""
        self._prune(now)
        return len(self._done)


class PairGuard:
    """One sender to one recipient at most once every `gap` seconds (Meta's pair limit, 131056), counted by
    completion like CallWindow."""

    def __init__(self, gap: float):
        self.gap = gap
        self._last: dict[str, float] = {}  # recipient -> completion time, or inf while in flight
        self._swept = 0.0

    def wait(self, recipient: str, now: float) -> float:
        last = self._last.get(recipient)
        if last is None:
            return 0.0
        return max(0.0, last + self.gap - now)

    def start(self, recipient: str) -> None:
        self._last[recipient] = math.inf

    def finish(self, recipient: str, now: float) -> None:
        self._last[recipient] = now
        if now - self._swept > self.gap:
            self._swept = now
            for key in [k for k, t in self._last.items() if t + self.gap <= now]:
                del self._last[key]

    def recent(self, now: float) -> dict[str, float]:
        """recipient -> the last call's completion, for those the rule still holds back at `now` (a call in flight
        counts as completing now): what the next owner of the sender needs."""
        return {k: min(t, now) for k, t in self._last.items() if t + self.gap > now}

    def seed(self, pairs: dict[str, float]) -> None:
        """Takes over what the previous owner recorded (later completions win)."""
        for recipient, t in pairs.items():
            if t > self._last.get(recipient, -math.inf):
                self._last[recipient] = t


class SenderRate:
    """A sender's effective limit: its configured limit, less the inbound rate observed on it, times a factor
    that halves on throttling (130429, ThrottledRequestException) and recovers 5% of the limit a second."""

    def __init__(self, limit: float, floor: float = 0.1, recovery_per_second: float = 0.05):
        self.limit = limit
        self.factor = 1.0
        self.floor = floor
        self.recovery = recovery_per_second
        self.reserve = 0.0
        self._at = 0.0
        self._last_throttle = -math.inf

    def throttled(self, now: float) -> None:
        # One halving per window: a burst of throttled answers to calls already in flight is one signal.
        if now - self._last_throttle >= 1.0:
            self.factor = max(self.floor, self.factor / 2)
            self._last_throttle = now
        self._at = now

    def observe_inbound(self, per_second: float) -> None:
        self.reserve = max(0.0, math.ceil(per_second))

    def effective(self, now: float) -> float:
        if self._at and now > self._at:
            self.factor = min(1.0, self.factor + self.recovery * (now - self._at))
        self._at = now
        return max(1.0, math.floor(self.limit * self.factor) - self.reserve)
