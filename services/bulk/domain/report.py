"""The job report of docs/DESIGN.md ("Bulk report"), as pieces of one JSON document written in order, no I/O:

  {"jobId", "channel", "status", "createTime", "finishTime",
   "recipients": [{"recipient", "contact", "outcome", "messageId", "providerMessageId", "errorCode", "reason"}, ...],
   "totalRecipients", "sentCount", "failedCount", "suppressedCount"}

A job with tracked links adds to each recipient `clicked`, `firstClickTime` and `clicks` (opens, repeats
included) and to the counts `clickedCount` and `clickCount`; a form job adds `answered` and `answeredCount`.

The counts come after the recipients: they are counted from exactly the lines written, so they always match
them, and the writer never holds more than one chunk. (JSON objects are unordered; every key is there.)
sentCount counts sent, delivered and read recipients."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from services.bulk.domain.engagement import Engagement, counts_of
from services.bulk.domain.model import Job, JobState, Outcome, Recipient

STATUS = {JobState.COMPLETED: "completed", JobState.CANCELLED: "cancelled", JobState.FAILED: "failed"}
SENT = frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.READ})


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Tally:
    total: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    unknown: int = 0
    limited: int = 0

    def add(self, outcome: Outcome) -> None:
        self.total += 1
        if outcome in SENT:
            self.sent += 1
        elif outcome == Outcome.FAILED:
            self.failed += 1
        elif outcome == Outcome.SUPPRESSED:
            self.suppressed += 1
        elif outcome == Outcome.LIMITED:
            self.limited += 1
        else:
            self.unknown += 1


def head(job: Job) -> bytes:
    fields = {
        "jobId": job.id,
        "channel": job.channel.value,
        "status": STATUS.get(job.state, job.state.value.lower()),
        "createTime": iso(job.create_time),
        "finishTime": iso(job.finish_time),
    }
    return (_dumps(fields)[:-1] + ',"recipients":[').encode()


def line(r: Recipient, first: bool, engaged: Engaged | None = None) -> bytes:
    entry: dict = {
        "recipient": r.address,
        "contact": f"contacts/{r.contact}" if r.contact else "",
        "outcome": r.outcome.value.lower(),
        "messageId": r.message.removeprefix("messages/"),
        "providerMessageId": r.provider_id,
        "errorCode": r.error_code,
        "reason": r.reason,
    }
    if engaged is not None:
        entry.update(engaged.fields(r.address))
    return (("" if first else ",\n") + _dumps(entry)).encode()


@dataclass(frozen=True)
class Engaged:
    """What the report says of recipients' clicks (a job with tracked links) and answers (a form job)."""

    engagement: Engagement
    links: bool
    form: bool

    def fields(self, address: str) -> dict:
        out: dict = {}
        if self.links:
            opened = self.engagement.opened.get(address)
            out["clicked"] = opened is not None
            out["firstClickTime"] = iso(opened.first_click_time) if opened else None
            out["clicks"] = opened.clicks if opened else 0
        if self.form:
            out["answered"] = address in self.engagement.answered
        return out

    def totals(self) -> dict:
        counts = counts_of(self.engagement)
        out: dict = {}
        if self.links:
            out.update(clickedCount=counts.clicked, clickCount=counts.clicks)
        if self.form:
            out["answeredCount"] = counts.answered
        return out


def tail(tally: Tally, engaged: Engaged | None = None) -> bytes:
    counts = {
        "totalRecipients": tally.total,
        "sentCount": tally.sent,
        "failedCount": tally.failed,
        "suppressedCount": tally.suppressed,
        **(engaged.totals() if engaged is not None else {}),
    }  # limited recipients are in the lines (outcome "limited") and in GetJob's counts
    return ("],\n" + _dumps(counts)[1:]).encode()
