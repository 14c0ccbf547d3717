"""The account-wide limits as this process holds them, and the fence that stops all its calls.

Each account limit (SendWhatsAppMessage 1,000/s, media post and get 100/s each) is split between the messaging
processes (domain.coordination); this process enforces its share as a paced window (domain.pacing). The fence
is the monotonic time until which this process's lease lets it call providers at all: it stops calling before
the lease could lapse (self-fencing), and for good when it stops."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.config import DispatchConfig
from services.messaging.domain.coordination import MEDIA_GET, MEDIA_POST, SEND
from services.messaging.domain.pacing import CallWindow


class FenceClosed(Exception):
    """This process stopped for good: no call may start any more (a wait for a slot ends with this)."""


class Fence:
    def __init__(self) -> None:
        self.until = 0.0  # monotonic
        self.stopped = False

    def open(self, now: float) -> bool:
        return now < self.until

    def stop(self) -> None:
        self.stopped = True
        self.until = 0.0


class AccountBudgets:
    def __init__(self, config: DispatchConfig, clock: Clock, fence: Fence):
        self._clock = clock
        self._fence = fence
        self.send = CallWindow(0, pace=config.pace)  # every WhatsApp send of this process, all phones
        self.media = {MEDIA_POST: CallWindow(0, pace=config.pace), MEDIA_GET: CallWindow(0, pace=config.pace)}
        self._rates = {SEND: config.account_rate, MEDIA_POST: config.media_post_rate, MEDIA_GET: config.media_get_rate}

    def set_shares(self, shares: dict[str, float]) -> None:
        """This process's fraction of each account limit, from its latest heartbeat."""
        for budget, share in shares.items():
            window = self.send if budget == SEND else self.media[budget]
            window.set_limit(share * self._rates[budget])

    @contextlib.asynccontextmanager
    async def media_slot(self, kind: str) -> AsyncIterator[None]:
        """One media call (MEDIA_POST or MEDIA_GET) inside this process's part of its account limit. Raises
        FenceClosed when the process stops while it waits (the work it was for is given back)."""
        window = self.media[kind]
        while True:
            if self._fence.stopped:
                raise FenceClosed("stopping")
            now = self._clock.monotonic()
            wait = window.wait(now)
            if wait <= 0 and self._fence.open(now):
                break
            await self._clock.sleep(min(max(wait, 0.001), 0.1))
        window.start(self._clock.monotonic())
        try:
            yield
        finally:
            window.finish(self._clock.monotonic())
