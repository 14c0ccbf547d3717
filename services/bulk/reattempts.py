"""131049 re-attempts and the job's end: a job is not finished while a re-attempt of one of its recipients is due.

Meta holds a marketing message back for its per-user limit (131049: LIMITED) a moment after the call, and
messaging queues one re-attempt a day later under `<recipient's key>/reattempt-<n>` (dispatch.reactions). The
issue's rule is "never after the job is cancelled or finished". Two designs keep it: finish the job and let the
report be rewritten when the re-attempt lands (then a re-attempt goes out after the job finished, and a report
once read changes), or keep the job unfinished while a re-attempt is due. This is the second: before a running job
with nothing left to send completes, its recipients' messages are read back (as the report would read them), the
LIMITED ones recorded, and each LIMITED one's re-attempt followed (a re-attempt limited again names the next). If
any is still due, the job WAITs (nothing is withdrawn: the re-attempts are its only messages left) until the
latest one is due, then looks again; a cancel meanwhile withdraws them with the job's prefix. So a finished job
has no re-attempt left to go, and its report says what became of each.

Only WhatsApp marketing template jobs can meet 131049, so only they pay for the read back (one state read a sent
recipient, at the end and at each look while waiting); others complete as before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from services.bulk.adapters.messaging import MessagingClient
from services.bulk.adapters.store import ChunkStore
from services.bulk.domain.model import Channel, Job, Outcome, Update, advances
from services.bulk.domain.outcomes import SendState, Verdict, verdict

ASKED = frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.UNKNOWN, Outcome.LIMITED})
IN_FLIGHT = frozenset({"ACCEPTED", ""})
MAX_CHAIN = 5  # re-attempts followed per recipient (messaging's setting is small: 1 by default)
SETTLE = 2.0  # seconds: Meta's 131049 follows the call by about a second; read back after this much quiet


@dataclass(frozen=True)
class Reattempt:
    key: str
    state: SendState | None  # None: messaging does not know the key (not queued yet)
    due: float  # when messaging said it is due (wall time; 0 when it did not say)

    @property
    def settled(self) -> bool:
        return self.state is not None and self.state.status not in IN_FLIGHT

    def describe(self) -> str:
        if self.state is None:
            return f"re-attempt {self.key} not found"
        s = self.state
        if not self.settled:
            return f"re-attempt {self.key} due {_iso(self.due)}"
        detail = f" {s.error_code}" if s.error_code else ""
        return f"re-attempt {self.key}: {s.status.lower()}{detail}" + (f" ({s.provider_id})" if s.provider_id else "")


def applies_to(job: Job) -> bool:
    return job.channel == Channel.WHATSAPP and "template" in job.content and job.category == "MARKETING"


async def follow(messaging: MessagingClient, limited: dict[str, SendState]) -> dict[str, Reattempt]:
    """For each LIMITED message (by its key), the last re-attempt of its chain as messaging knows it now."""
    out: dict[str, Reattempt] = {}
    current = {k: (s.reattempt_key, _wall(s.reattempt_time)) for k, s in limited.items() if s.reattempt_key}
    for _ in range(MAX_CHAIN):
        if not current:
            break
        states = await messaging.states([key for key, _ in current.values()])
        following: dict[str, tuple[str, float]] = {}
        for origin, (key, due) in current.items():
            state = states.get(key)
            out[origin] = Reattempt(key, state, due)
            if state is not None and state.status == "LIMITED" and state.reattempt_key:
                following[origin] = (state.reattempt_key, _wall(state.reattempt_time))
        current = following
    return out


async def due_until(job: Job, chunks: ChunkStore, messaging: MessagingClient, wall: Callable[[], float]) -> float:
    """Reads the job's sent recipients back, records the LIMITED ones, and returns the latest due time of a
    re-attempt not settled yet (0.0: none is due, the job may finish)."""
    progress = await chunks.expansion(job.id)
    latest = 0.0
    for seq in range(max(progress.next_seq, job.audience.chunks)):
        chunk = await chunks.get_chunk(job.id, seq)
        if chunk is None:
            continue
        asked = {job.key(r.address): r for r in chunk.recipients if r.outcome in ASKED and r.address}
        if not asked:
            continue
        states = await messaging.states(list(asked))
        updates: list[Update] = []
        limited: dict[str, SendState] = {}
        for key, r in asked.items():
            state = states.get(key)
            if state is None:
                continue
            kind, update = verdict(r.index, state)
            if kind == Verdict.OUTCOME and update is not None and advances(r.outcome, update.outcome):
                updates.append(update)
            if state.status == "LIMITED":
                limited[key] = state
        if updates:
            await chunks.record(job.id, seq, updates, wall())
        for again in (await follow(messaging, limited)).values():
            if not again.settled:
                latest = max(latest, again.due or wall())
    return latest


def _wall(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else 0.0


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z") if t else "unknown"
