"""What messaging says about a recipient's message, read as the recipient's outcome (no I/O).

A refusal by messaging's rules (FAILED_PRECONDITION) means the recipient is suppressed, with the rule as the
reason; a malformed message (INVALID_ARGUMENT) is a failure; a refusal for a passing fault (UNAVAILABLE, ...) is
tried again later. WITHDRAWN means the send was withdrawn (a pause, a cancel, a worker that went away): the
recipient is to be sent again under the same key. ACCEPTED is not an outcome yet: progress waits for one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from services.bulk.domain.model import Outcome, Update

# messaging's rule reasons (FAILED_PRECONDITION) -> the suppression reasons of the report
SUPPRESSION_REASONS = {
    "CONSENT_OPTED_OUT": "opted_out",
    "MARKETING_CONSENT_REQUIRED": "not_opted_in",
    "WINDOW_CLOSED": "closed_window",
    "MARKETING_SUPPRESSED": "marketing_suppressed",
}
STATUSES = {
    "SENT": Outcome.SENT,
    "DELIVERED": Outcome.DELIVERED,
    "READ": Outcome.READ,
    "FAILED": Outcome.FAILED,
    "UNKNOWN": Outcome.UNKNOWN,
}
TRANSIENT = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "INTERNAL", "UNKNOWN"})


class Verdict(Enum):
    OUTCOME = "outcome"  # final: record it
    IN_FLIGHT = "in_flight"  # accepted, no outcome yet
    WITHDRAWN = "withdrawn"  # send it again later under the same key
    RETRY = "retry"  # refused for a passing fault: send it again later


@dataclass(frozen=True)
class SendState:
    """One message of ours as messaging reports it (a SendMessages result, or BatchGetMessageStates)."""

    status: str = ""  # ACCEPTED, SENT, DELIVERED, READ, FAILED, WITHDRAWN, UNKNOWN; "" when refused
    message: str = ""  # messages/{id}
    provider_id: str = ""
    error_code: str = ""
    error_detail: str = ""
    refusal_code: str = ""  # the refusal's status code name
    refusal_reason: str = ""  # its ErrorInfo reason, for rule refusals
    refusal_message: str = ""


def verdict(index: int, s: SendState) -> tuple[Verdict, Update | None]:
    if s.refusal_code:
        if s.refusal_code == "FAILED_PRECONDITION":
            reason = SUPPRESSION_REASONS.get(s.refusal_reason, (s.refusal_reason or "refused").lower())
            return Verdict.OUTCOME, Update(index, Outcome.SUPPRESSED, reason=reason)
        if s.refusal_code in TRANSIENT:
            return Verdict.RETRY, None
        return Verdict.OUTCOME, Update(index, Outcome.FAILED, error_code=s.refusal_code, reason=s.refusal_message)
    if s.status == "WITHDRAWN":
        return Verdict.WITHDRAWN, None
    outcome = STATUSES.get(s.status)
    if outcome is None:
        return Verdict.IN_FLIGHT, None
    return Verdict.OUTCOME, Update(
        index,
        outcome,
        message=s.message,
        provider_id=s.provider_id,
        error_code=s.error_code if outcome in (Outcome.FAILED, Outcome.UNKNOWN) else "",
        reason=s.error_detail if outcome in (Outcome.FAILED, Outcome.UNKNOWN) else "",
    )
