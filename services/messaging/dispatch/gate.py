"""The guard at the moment of the call: a call the scheduler admitted (paced) takes its place in its windows
(its sender's and, for WhatsApp, the account's) only once it is about to be made, after its hand-off, just before
its per-message checks (domain.pacing: admit, then begin). When a window is full the call waits here, first come
first served on the account, so that a sender whose own window is full does not hold up the others behind it.

Waiters are few (admissions ahead of the guard are bounded by the windows' `ahead`), and they are looked at when
one arrives or leaves, when a begun call is given back, at the moment the earliest of their windows frees a
place, and every RECHECK; one that finds no place within its bound gives up (back to the queue)."""

from __future__ import annotations

import asyncio

from services.messaging.domain.pacing import CallWindow

RECHECK = 0.1  # seconds: waiters look again at least this often (a window's limit may have grown meanwhile)


class CallGate:
    def __init__(self, monotonic):
        self._monotonic = monotonic
        self._waiting: list[tuple[tuple[CallWindow, ...], asyncio.Future]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    async def begin(self, windows: tuple[CallWindow, ...], within: float) -> bool:
        """True once every window has taken the call (begun); the first window is the sender's own. False when no
        place came within `within` seconds (the sender's share shrank, a lease moved: the call goes back to the
        queue); it then takes nothing. Cancelled, it takes nothing either (places given to it at that very moment
        are given back here)."""
        now = self._monotonic()
        if not self._waiting and all(w.begin_wait(now) <= 0 for w in windows):
            for w in windows:
                w.begin(now)
            return True
        future = asyncio.get_running_loop().create_future()
        entry = (windows, future)
        self._waiting.append(entry)
        self._look()
        try:
            async with asyncio.timeout(within):
                await future
            return True
        except TimeoutError:
            if future.done() and not future.cancelled():
                return True  # its places came at the last moment: the call goes ahead
            self._leave(entry)
            return False
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                for w in windows:  # begun just as it was cancelled: give the places back
                    w.cancel()
            self._leave(entry)
            raise

    def _leave(self, entry: tuple[tuple[CallWindow, ...], asyncio.Future]) -> None:
        if entry in self._waiting:
            self._waiting.remove(entry)
        self._look()  # it may have been the one holding the others back

    def opened(self) -> None:
        """A begun call was given back without being made: a place may be free."""
        if self._waiting:
            self._look()

    def _look(self) -> None:
        now = self._monotonic()
        soonest = None
        account_taken = False  # an earlier call waits only for the account: none behind it goes first
        for entry in list(self._waiting):
            windows, future = entry
            if future.done():
                self._waiting.remove(entry)
                continue
            shared = windows[1:]
            if shared and account_taken:
                continue
            own = windows[0].begin_wait(now)
            account = max((w.begin_wait(now) for w in shared), default=0.0)
            if own > 0 or account > 0:
                account_taken = account_taken or (own <= 0 and account > 0)
                wait = max(own, account)
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            for w in windows:
                w.begin(now)
            self._waiting.remove(entry)
            future.set_result(None)
        if soonest is not None:
            self._wake_in(min(soonest, RECHECK))

    def _wake_in(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        at = loop.time() + max(delay, 1e-6)
        if self._timer is not None and not self._timer.cancelled() and self._timer_at <= at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._waiting:
            self._look()
