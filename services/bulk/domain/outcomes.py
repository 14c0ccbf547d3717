"""What messaging says about a recipient's message, read as the recipient's outcome (no I/O).

A refusal by messaging's rules (FAILED_PRECONDITION) means the recipient is suppressed, with the rule as the
reason; a malformed message (INVALID_ARGUMENT) is a failure; a refusal for a passing fault (UNAVAILABLE, ...) is
tried again later. A message messaging's checks at the call ended with one of those rules (FAILED with the rule
as its code: consent or suppression read again, the frequency cap, a phone at the lowest quality) is suppressed
too. LIMITED (131049) is an outcome of its own, its reason naming the re-attempt messaging queued (its key and
when it is due) or that none is left. WITHDRAWN means the send was withdrawn (a pause, a cancel, a worker that went
away): the recipient is to be sent again under the same key. ACCEPTED is not an outcome yet: progress waits for one."""

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
    "MARKETING_FREQUENCY_CAP": "frequency_cap",
    "PHONE_QUALITY_LOW": "phone_quality_low",
}
# Meta paused or disabled the job's template: the job pauses with the reason (the recipient is sent again after a
# resume: messaging refused or withdrew the message, so its key is free).
TEMPLATE_HALTS = frozenset({"TEMPLATE_PAUSED", "TEMPLATE_DISABLED"})
# The rules messaging also checks at the call: a message it FAILED with one of them was suppressed, not failed.
RULES_AT_THE_CALL = frozenset(
    {
        "CONSENT_OPTED_OUT",
        "MARKETING_CONSENT_REQUIRED",
        "MARKETING_SUPPRESSED",
        "MARKETING_FREQUENCY_CAP",
        "PHONE_QUALITY_LOW",
    }
)
STATUSES = {
    "SENT": Outcome.SENT,
    "DELIVERED": Outcome.DELIVERED,
    "READ": Outcome.READ,
    "FAILED": Outcome.FAILED,
    "UNKNOWN": Outcome.UNKNOWN,
    "LIMITED": Outcome.LIMITED,
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
    reattempt_key: str = ""  # LIMITED: the re-attempt messaging queued, when it did
    reattempt_time: str = ""  # ISO time it is due


def verdict(index: int, s: SendState) -> tuple[Verdict, Update | None]:
    if s.refusal_code:
        if s.refusal_code == "FAILED_PRECONDITION" and s.refusal_reason in TEMPLATE_HALTS:
            return Verdict.WITHDRAWN, None
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
    if outcome == Outcome.FAILED and s.error_code in RULES_AT_THE_CALL:
        reason = SUPPRESSION_REASONS.get(s.error_code, s.error_code.lower())
        return Verdict.OUTCOME, Update(index, Outcome.SUPPRESSED, message=s.message, reason=reason)
    if outcome == Outcome.LIMITED:
        again = f"re-attempt {s.reattempt_key} due {s.reattempt_time}" if s.reattempt_key else "no re-attempt"
        return Verdict.OUTCOME, Update(
            index, outcome, message=s.message, provider_id=s.provider_id, error_code=s.error_code, reason=again
        )
    return Verdict.OUTCOME, Update(
        index,
        outcome,
        message=s.message,
        provider_id=s.provider_id,
        error_code=s.error_code if outcome in (Outcome.FAILED, Outcome.UNKNOWN) else "",
        reason=s.error_detail if outcome in (Outcome.FAILED, Outcome.UNKNOWN) else "",
    )


def halt(s: SendState) -> str:
    """Why the job must pause because of this answer ("" when it need not): Meta paused or disabled its template."""
    refused = s.refusal_code == "FAILED_PRECONDITION"
    code = s.refusal_reason if refused else s.error_code
    if code not in TEMPLATE_HALTS:
        return ""
    return f"{code}: {s.refusal_message if refused else s.error_detail}"
