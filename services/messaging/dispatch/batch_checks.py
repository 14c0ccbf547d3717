"""Pre-call checks over a group: the last look at messages immediately before their provider calls, after the
scheduler chose them and before they are marked handed off, one group at a time (the hand-off's group commit), so a
check that needs the store (the messaging tier, the marketing cap) reads and writes once per group, not per send.
Each check says which messages may not be called now: deferred (it stays queued, due again at `retry_at`, the
reason kept as its error), failed (it ends FAILED with the rule as its error code, never called, not
dead-lettered) or withdrawn (it ends WITHDRAWN with the reason: its sender may send it again under its key, as bulk
does after a resume). The others go. A check that raises defers its messages a moment.

The verdicts are the per-message seam's (dispatch.checks: Verdict, deferred / failed / withdrawn with retry_at):
one vocabulary for both seams. The per-message checks (the holds) run in the Caller at each call, cheap and
in memory; these run here because each needs the store once per group. Meta's rules live in dispatch.meta_checks."""

from __future__ import annotations

import logging
from typing import Protocol

from services.messaging.dispatch.checks import Verdict, deferred
from services.messaging.domain.model import OutboundMessage

log = logging.getLogger("wecare.messaging.dispatcher")
DEFER_ON_FAULT = 1.0  # seconds a check that raised defers its messages


class GroupCheck(Protocol):
    async def check(self, messages: list[OutboundMessage], now: float) -> dict[str, Verdict]:
        """Verdicts for the messages (by id) that may not be called now; the others go."""
        ...


class GroupChecks:
    """Every check in order, each over the messages the ones before let through."""

    def __init__(self, checks: list[GroupCheck]):
        self._checks = checks

    async def check(self, messages: list[OutboundMessage], now: float) -> dict[str, Verdict]:
        verdicts: dict[str, Verdict] = {}
        going = list(messages)
        for c in self._checks:
            if not going:
                break
            try:
                found = await c.check(going, now)
            except Exception as exc:
                log.exception("a pre-call check failed; its messages wait a moment")
                why = f"{type(c).__name__}: {type(exc).__name__}"
                found = {m.id: deferred(now + DEFER_ON_FAULT, "CHECK_FAILED", why) for m in going}
            verdicts.update(found)
            going = [m for m in going if m.id not in found]
        return verdicts
