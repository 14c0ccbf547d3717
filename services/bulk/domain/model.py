"""The bulk domain's records and rules, no I/O: jobs and their state machine, the audience, chunks of recipients
with each recipient's own state, the counts per outcome, and how a recipient's outcome may move.

A job moves DRAFT -> SCHEDULED -> RUNNING <-> PAUSED -> COMPLETED | CANCELLED | FAILED, and RUNNING <-> WAITING
while the messaging tier's budget is spent (it goes on by itself at its resume_time); anything else is
FAILED_PRECONDITION. A recipient moves PENDING -> CLAIMED (a worker's conditional claim, with a lease) -> an
outcome, and outcomes only move forward (SENT < DELIVERED < READ; FAILED and SUPPRESSED are terminal), so a
status that arrives late, twice or out of order never undoes a later one and is never counted twice. The one way
back: a recipient recorded SENT whose message messaging withdrew afterwards (Meta refused it, its template paused)
is reopened before the job resumes (applies)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from runtime.errors import FailedPrecondition

MAX_INLINE = 100_000


class Channel(StrEnum):
    WHATSAPP = "WHATSAPP"
    SMS = "SMS"
    EMAIL = "EMAIL"


class JobState(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    WAITING = "WAITING"  # the messaging tier's budget is spent: it goes on by itself at resume_time


FINISHED = frozenset({JobState.COMPLETED, JobState.CANCELLED, JobState.FAILED})
# The states a bulk process has background work for (scheduling, expansion, workers, the report).
ACTIVE = frozenset({JobState.SCHEDULED, JobState.RUNNING, JobState.PAUSED, JobState.WAITING})


class Outcome(StrEnum):
    PENDING = "PENDING"
    CLAIMED = "CLAIMED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
    SUPPRESSED = "SUPPRESSED"
    UNKNOWN = "UNKNOWN"
    LIMITED = "LIMITED"  # 131049: Meta held the marketing message back; messaging re-attempts it a day later


ENDED = frozenset({Outcome.FAILED, Outcome.SUPPRESSED, Outcome.LIMITED})  # nothing moves them
FINAL = frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.READ, Outcome.UNKNOWN}) | ENDED
OPEN = frozenset({Outcome.PENDING, Outcome.CLAIMED})
_RANK = {Outcome.UNKNOWN: 1, Outcome.SENT: 2, Outcome.DELIVERED: 3, Outcome.READ: 4}


def advances(current: Outcome, new: Outcome) -> bool:
    """Whether a recipient at `current` may move to the final outcome `new`."""
    if new not in FINAL or current == new:
        return False
    if current in OPEN:
        return True
    if current in ENDED:
        return False
    if new in (Outcome.FAILED, Outcome.LIMITED):
        return current != Outcome.READ  # a read message did not fail
    return new in _RANK and _RANK[new] > _RANK[current]


# Recorded sent (or unknown) but withdrawn by messaging afterwards: Meta refused the send, its template paused
# (132015), so messaging withdrew the message and freed its key. Before the resume such a recipient is reopened.
REOPENABLE = frozenset({Outcome.SENT, Outcome.UNKNOWN})


def applies(current: Outcome, new: Outcome) -> bool:
    """The chunk store's rule for recording `new` over `current`: forward only (advances), and the one way back,
    a reopening (`new` PENDING) of a recipient whose recorded send messaging withdrew afterwards (REOPENABLE)."""
    if new == Outcome.PENDING:
        return current in REOPENABLE
    return advances(current, new)


def open_change(current: Outcome, new: Outcome) -> int:
    """How a recorded move changes the chunk's count of open recipients."""
    return int(new in OPEN) - int(current in OPEN)


# What each outcome adds to the job's counts: delivered and read recipients are also sent ones.
_TALLY = {
    Outcome.SENT: ("sent",),
    Outcome.DELIVERED: ("sent", "delivered"),
    Outcome.READ: ("sent", "delivered", "read"),
    Outcome.FAILED: ("failed",),
    Outcome.SUPPRESSED: ("suppressed",),
    Outcome.UNKNOWN: ("unknown",),
    Outcome.LIMITED: ("limited",),
}
COUNTERS = ("total", "sent", "delivered", "read", "failed", "suppressed", "unknown", "limited")


def delta(current: Outcome, new: Outcome) -> dict[str, int]:
    """The change to the job's counters when one recipient moves from current to new."""
    out: dict[str, int] = {}
    for name in _TALLY.get(current, ()):
        out[name] = out.get(name, 0) - 1
    for name in _TALLY.get(new, ()):
        out[name] = out.get(name, 0) + 1
    return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class Counts:
    total: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    failed: int = 0
    suppressed: int = 0
    unknown: int = 0
    limited: int = 0
    # Suppressed while the audience was expanded, by reason (a part of `suppressed`).
    audience_suppressed: dict[str, int] = field(default_factory=dict)

    @property
    def final(self) -> int:
        return self.sent + self.failed + self.suppressed + self.unknown + self.limited

    @property
    def pending(self) -> int:
        return max(0, self.total - self.final)

    @classmethod
    def from_totals(cls, totals: dict[str, int]) -> Counts:
        """From counter values by name; `sup:<reason>` ones are the audience's suppressions."""
        return cls(
            **{name: int(totals.get(name, 0)) for name in COUNTERS},
            audience_suppressed={k[4:]: int(v) for k, v in totals.items() if k.startswith("sup:") and v},
        )


@dataclass(frozen=True)
class Retarget:
    """An audience drawn from an earlier job (domain/retarget.py)."""

    source_job: str  # the earlier job's id
    outcomes: tuple[str, ...] = ()  # any of SENT, DELIVERED, READ, FAILED, LIMITED; none: any but suppressed
    clicked: str = ""  # "" (either) | YES | NO
    answered: str = ""

    @property
    def needs_clicks(self) -> bool:
        return self.clicked != ""

    @property
    def needs_answers(self) -> bool:
        return self.answered != ""


@dataclass(frozen=True)
class Audience:
    """Who a job goes to: contacts chosen by a query, or a list given with the job, or an earlier job's recipients
    by their outcomes (retargeting); the last two kept in its chunks when it is created."""

    kind: str  # "contacts" | "inline" | "retarget"
    tags: tuple[str, ...] = ()
    search: str = ""
    consent: str = "NOT_OPTED_OUT"  # or "OPTED_IN"
    inline_count: int = 0
    chunks: int = 0  # an inline list's (or a retargeting's) chunks, written when the job is created
    retarget: Retarget | None = None

    @property
    def listed(self) -> bool:
        """Whether the audience was written into chunks when the job was created (nothing to expand)."""
        return self.kind in ("inline", "retarget")


@dataclass(frozen=True)
class Job:
    id: str
    channel: Channel
    category: str  # MARKETING | UTILITY | AUTHENTICATION | SERVICE (messaging's categories)
    content: dict[str, Any]  # messaging's Content as a plain dict (proto field names)
    audience: Audience
    originations: tuple[str, ...]
    display_name: str = ""
    schedule_time: float | None = None
    state: JobState = JobState.DRAFT
    creator: str = ""
    create_time: float = 0.0
    update_time: float = 0.0
    start_time: float | None = None
    finish_time: float | None = None
    binding_rate: float = 0.0
    failure_reason: str = ""
    state_reason: str = ""  # why the platform paused it or keeps it waiting; cleared when it runs again
    resume_time: float | None = None  # WAITING: when the tier's window frees enough for it to go on
    report_key: str = ""  # set once the report is written
    requeue: bool = False  # resumed: its open chunks are to be queued again (cleared once they are)
    report_owner: str = ""  # the process writing the report, until report_lease_until
    report_lease_until: float = 0.0
    version: int = 1
    track_links: bool = False  # messaging mints a tracked link per recipient and URL
    form: str = ""  # forms/{id}: each recipient gets an invitation of their own

    @property
    def name(self) -> str:
        return f"bulkJobs/{self.id}"

    @property
    def etag(self) -> str:
        return hashlib.blake2b(f"{self.id}:{self.version}".encode(), digest_size=8).hexdigest()

    @property
    def key_prefix(self) -> str:
        """Every message of the job carries an idempotency key under this prefix (docs/DESIGN.md)."""
        return f"bulkJobs/{self.id}/"

    def key(self, address: str) -> str:
        return f"{self.key_prefix}{address}"

    @property
    def needs_report(self) -> bool:
        return self.state in FINISHED and not self.report_key

    def audit_view(self) -> dict[str, Any]:
        """What the audit log keeps: no recipients, no message text."""
        return {"state": self.state.value, "channel": self.channel.value, "audience": self.audience.kind}


# action -> (states it may start from, the state it leads to; None: decided by the action)
_MOVES: dict[str, tuple[frozenset[JobState], JobState | None]] = {
    "start": (frozenset({JobState.DRAFT}), None),
    "begin": (frozenset({JobState.SCHEDULED}), JobState.RUNNING),
    "pause": (frozenset({JobState.RUNNING, JobState.WAITING}), JobState.PAUSED),
    "resume": (frozenset({JobState.PAUSED}), JobState.RUNNING),
    "wait": (frozenset({JobState.RUNNING}), JobState.WAITING),
    "continue": (frozenset({JobState.WAITING}), JobState.RUNNING),
    "cancel": (
        frozenset({JobState.DRAFT, JobState.SCHEDULED, JobState.RUNNING, JobState.PAUSED, JobState.WAITING}),
        JobState.CANCELLED,
    ),
    "complete": (frozenset({JobState.RUNNING}), JobState.COMPLETED),
    "fail": (frozenset({JobState.SCHEDULED, JobState.RUNNING, JobState.PAUSED, JobState.WAITING}), JobState.FAILED),
}


def move(job: Job, action: str, now: float, reason: str = "", resume_time: float | None = None) -> Job:
    """The job after `action`, or FAILED_PRECONDITION naming the state it cannot be taken from."""
    sources, target = _MOVES[action]
    if job.state not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise FailedPrecondition(
            f"cannot {action} {job.name}: it is {job.state.value} (only from {allowed})",
            reason="JOB_STATE",
            metadata={"subject": job.name, "state": job.state.value},
        )
    if target is None:  # start: now, or at the schedule time
        target = JobState.SCHEDULED if job.schedule_time and job.schedule_time > now else JobState.RUNNING
    changes: dict[str, Any] = {"state": target, "update_time": now, "version": job.version + 1}
    if target == JobState.RUNNING and job.start_time is None:
        changes["start_time"] = now
    if action in ("resume", "continue"):
        changes["requeue"] = True
        changes["state_reason"] = ""
    if action in ("pause", "wait"):
        changes["state_reason"] = reason
    changes["resume_time"] = resume_time if action == "wait" else None
    if target in FINISHED:
        changes["finish_time"] = now
    if target == JobState.FAILED:
        changes["failure_reason"] = reason
    return replace(job, **changes)


@dataclass
class Recipient:
    """One recipient of a job: where they are in the chunk, who they are, and their state."""

    index: int  # position in its chunk
    address: str  # E.164 or email; "" when the contact has none on the channel
    contact: str = ""  # contact id, when the recipient is a contact
    origination: str = ""  # the phone, identity or sender it goes from
    values: dict[str, str] = field(default_factory=dict)  # placeholder -> value
    outcome: Outcome = Outcome.PENDING
    owner: str = ""  # the worker it is claimed by (the chunk's hold carries the lease)
    message: str = ""  # messages/{id}
    provider_id: str = ""
    error_code: str = ""
    reason: str = ""
    update_time: float = 0.0


@dataclass(frozen=True)
class Update:
    """A recipient's new outcome, as a worker or the report learns it."""

    index: int
    outcome: Outcome
    message: str = ""
    provider_id: str = ""
    error_code: str = ""
    reason: str = ""


@dataclass
class Chunk:
    job_id: str
    seq: int
    recipients: list[Recipient]

    @property
    def open(self) -> list[Recipient]:
        return [r for r in self.recipients if r.outcome in OPEN]


@dataclass(frozen=True)
class Expansion:
    """How far a job's audience is expanded into chunks, and who is expanding it (a lease)."""

    cursor: str = ""  # where the audience source continues (a contacts page token)
    next_seq: int = 0  # chunks 0..next_seq-1 are written and queued
    done: bool = False
    owner: str = ""
    lease_until: float = 0.0
