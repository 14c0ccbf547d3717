"""Before a job Meta's template pause stopped (TEMPLATE_PAUSED) is resumed: the recipients recorded sent whose
message messaging withdrew afterwards are reopened, so the resumed job sends each of them once more.

Why they exist: sends handed to Meta between its pause and messaging's dispatcher learning of it (within a
second: the TEMPLATE hold) are refused by Meta with 132015 after the call. Messaging reads that refusal of a keyed
message as withdrawn (TEMPLATE_PAUSED), which frees the key; but bulk recorded the recipient sent when the call
was made. So here, while the job is still PAUSED (a crash in between leaves only reopened recipients of a paused
job, and the next ResumeJob looks again), each chunk's sent recipients are read back from messaging by key
(BatchGetMessageStates) and those WITHDRAWN go back to PENDING (domain.model.applies: counts follow). Resume then
queues the open chunks as always, and each is sent under its key once: the withdrawn message gave its key up.

Only jobs halted for a paused template pay for the sweep (one state read per sent recipient): an operator's pause
withdraws only messages never handed off, which bulk never recorded sent."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.bulk.adapters.messaging import MessagingClient
from services.bulk.adapters.store import ChunkStore
from services.bulk.domain.model import REOPENABLE, Job, JobState, Outcome, Update

log = logging.getLogger("wecare.bulk.jobs")
HALTED_BY_PAUSE = "TEMPLATE_PAUSED"  # the state_reason's start when Meta's pause of the template paused the job


def needs_sweep(job: Job) -> bool:
    return job.state == JobState.PAUSED and job.state_reason.startswith(HALTED_BY_PAUSE)


async def reopen_withdrawn(job: Job, chunks: ChunkStore, messaging: MessagingClient, wall: Callable[[], float]) -> int:
    """Reopens the job's recipients recorded sent whose message was withdrawn since; returns how many."""
    progress = await chunks.expansion(job.id)
    count = max(progress.next_seq, job.audience.chunks)
    reopened = 0
    for seq in range(count):
        chunk = await chunks.get_chunk(job.id, seq)
        if chunk is None:
            continue
        sent = {job.key(r.address): r for r in chunk.recipients if r.outcome in REOPENABLE and r.address}
        if not sent:
            continue
        states = await messaging.states(list(sent))
        back = [
            Update(r.index, Outcome.PENDING, reason=f"sent again: {states[k].error_code} ({states[k].error_detail})")
            for k, r in sent.items()
            if k in states and states[k].status == "WITHDRAWN"
        ]
        if back:
            reopened += await chunks.record(job.id, seq, back, wall())
    if reopened:
        log.info("withdrawn after the call: sent again on resume", extra={"job": job.name, "recipients": reopened})
    return reopened
