"""Pre-call checks over a group: the last look at messages immediately before their provider calls, after the
scheduler chose them and before they are marked handed off, one group at a time (the hand-off's group commit), so a
check that needs the store (the messaging tier, the marketing cap) reads and writes once per group, not per send.
Each check says which messages may not be called now: deferred (it stays queued, due again at `retry_at`, the
reason kept as its error), failed (it ends FAILED with the rule as its error code, never called, not
dead-lettered) or withdrawn (it ends WITHDRAWN with the reason: its sender may send it again under its key, as bulk
does after a resume). The others go. A check that raises defers its messages a moment.

The verdicts have the shape of the per-message seam of issue 12 (dispatch.checks on the dispatch-promises
branch: "deferred" / "failed" / "withdrawn" with retry_at), so a group check can sit behind it or beside it.
Meta's rules live in dispatch.meta_checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from services.messaging.domain.model import MessageError, OutboundMessage

log = logging.getLogger("wecare.messaging.dispatcher")
DEFER_ON_FAULT = 1.0  # seconds a check that raised defers its messages

VerdictKind = Literal["deferred", "failed", "withdrawn"]


@dataclass(frozen=True)
class Verdict:
    """The error's title says why (what bulk's report and a job's reason show), its detail where it was decided."""

    kind: VerdictKind
    error: MessageError
    retry_at: float = 0.0  # deferred: the wall time it is due again


def deferred(retry_at: float, code: str, detail: str) -> Verdict:
    return Verdict("deferred", MessageError(code, detail, "held before the call"), retry_at)


def failed(code: str, detail: str) -> Verdict:
    return Verdict("failed", MessageError(code, detail, "refused before the call"))


def withdrawn(code: str, detail: str) -> Verdict:
    return Verdict("withdrawn", MessageError(code, detail, "withdrawn before the call"))


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
