"""Pre-call checks: what is asked of every message immediately before its provider call, after every wait (a
media slot, a media id) and just before the fence is looked at for the last time. Acceptance checked the sending
rules against what it knew then; a check here holds them at the moment of the call against what changed since
(a STOP, a 131050 suppression, a withdrawn job: dispatch.holds; and whatever issue 15 adds: template status,
the messaging tier, the frequency cap).

A check is a small object with two questions:
- `ready()`: can it vouch for a call right now? A check whose knowledge is too old to keep its bound (its feed
  unread for a second) says no, and no call starts (the scheduler waits, as it waits for the fence).
- `check(message)`: None to let the call go, or a Verdict saying what becomes of the message instead: withdrawn
  (it must not be sent: ends WITHDRAWN with the reason, and bulk sends it again under its key if it may),
  deferred (back to the queue until `retry_at`), or failed (ends FAILED with the reason).
A check must be cheap (it runs once per send: an in-memory lookup, or I/O only for the rare message that needs
it) and must never raise for a message it merely cannot judge: it defers it. Checks that need the store for every
message (Meta's rules: the tier, the cap) run once per hand-off group instead (dispatch.batch_checks), with the
same verdicts (this module's Verdict and its constructors), written by the hand-off before the mark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from services.messaging.dispatch.clock import Clock
from services.messaging.domain.model import MessageError, OutboundMessage

READY_STEP = 0.02  # seconds between looks while a check is not ready

VerdictKind = Literal["withdrawn", "deferred", "failed"]


@dataclass(frozen=True)
class Verdict:
    """What becomes of a message a check stops at its call."""

    kind: VerdictKind
    error: MessageError
    retry_at: float = 0.0  # wall time, for "deferred"


def deferred(retry_at: float, code: str, detail: str) -> Verdict:
    return Verdict("deferred", MessageError(code, detail, "held before the call"), retry_at)


def failed(code: str, detail: str) -> Verdict:
    return Verdict("failed", MessageError(code, detail, "refused before the call"))


def withdrawn(code: str, detail: str) -> Verdict:
    return Verdict("withdrawn", MessageError(code, detail, "withdrawn before the call"))


class PreCallCheck(Protocol):
    def ready(self) -> bool:
        """Whether the check can vouch for a call now."""
        ...

    async def check(self, message: OutboundMessage) -> Verdict | None:
        """None: the call may go. A Verdict: it must not, and what becomes of the message."""
        ...


class PreCallChecks:
    """Every check, in order: the first verdict wins."""

    def __init__(self, checks: Sequence[PreCallCheck] = ()):
        self._checks = list(checks)

    def add(self, check: PreCallCheck, first: bool = False) -> None:
        """Cheap checks that end a message for good go first (the holds); those that defer it after them."""
        self._checks.insert(0, check) if first else self._checks.append(check)

    def ready(self) -> bool:
        return all(c.ready() for c in self._checks)

    async def until_ready(self, clock: Clock, within: float) -> bool:
        """Waits up to `within` seconds for every check to be ready again (a read in progress to land); whether
        they are. A call marked handed off that finds a check stale waits for it rather than going back to the
        queue: going back costs the store four writes a message and a hand-off again, exactly when it is slow."""
        deadline = clock.monotonic() + within
        while not self.ready():
            if clock.monotonic() >= deadline:
                return False
            await clock.sleep(READY_STEP)
        return True

    async def check(self, message: OutboundMessage) -> Verdict | None:
        if not self.ready():
            return Verdict("deferred", MessageError("NotChecked", "a pre-call check cannot vouch for the call now"))
        for c in self._checks:
            verdict = await c.check(message)
            if verdict is not None:
                return verdict
        return None
