"""The job report of docs/DESIGN.md ("Bulk report"), as pieces of one JSON document written in order, no I/O:

  {"jobId", "channel", "status", "createTime", "finishTime",
   "recipients": [{"recipient", "contact", "outcome", "messageId", "providerMessageId", "errorCode", "reason"}, ...],
   "totalRecipients", "sentCount", "failedCount", "suppressedCount"}

The counts come after the recipients: they are counted from exactly the lines written, so they always match
them, and the writer never holds more than one chunk. (JSON objects are unordered; every key is there.)
sentCount counts sent, delivered and read recipients."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

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

    def add(self, outcome: Outcome) -> None:
        self.total += 1
        if outcome in SENT:
            self.sent += 1
        elif outcome == Outcome.FAILED:
            self.failed += 1
        elif outcome == Outcome.SUPPRESSED:
            self.suppressed += 1
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


def line(r: Recipient, first: bool) -> bytes:
    entry = {
        "recipient": r.address,
        "contact": f"contacts/{r.contact}" if r.contact else "",
        "outcome": r.outcome.value.lower(),
        "messageId": r.message.removeprefix("messages/"),
        "providerMessageId": r.provider_id,
        "errorCode": r.error_code,
        "reason": r.reason,
    }
    return (("" if first else ",\n") + _dumps(entry)).encode()


def tail(tally: Tally) -> bytes:
    counts = {
        "totalRecipients": tally.total,
        "sentCount": tally.sent,
        "failedCount": tally.failed,
        "suppressedCount": tally.suppressed,
    }
    return ("],\n" + _dumps(counts)[1:]).encode()
