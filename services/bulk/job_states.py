"""What one bulk process knows of its jobs' states, for its workers: a job's state read from the store at most
once every `max_age` seconds however many chunks of it the process works, and told at once when this process
itself changes it (PauseJob, CancelJob). A worker in another process learns a pause within max_age."""

from __future__ import annotations

import asyncio
import time

from runtime import metrics
from services.bulk.adapters.store import JobStore
from services.bulk.domain.model import Job, JobState


class JobStates:
    def __init__(self, store: JobStore, max_age: float, clock=time.monotonic):
        self._store = store
        self._max_age = max_age
        self._clock = clock
        self._jobs: dict[str, tuple[float, Job | None]] = {}
        self._changed = asyncio.Event()
        self._reads: dict[str, asyncio.Future] = {}

    async def get(self, job_id: str, fresh: bool = False) -> Job | None:
        hit = self._jobs.get(job_id)
        if hit is not None and not fresh and self._clock() - hit[0] < self._max_age:
            return hit[1]
        pending = self._reads.get(job_id)
        if pending is None:  # one read in flight per job, shared by every worker asking meanwhile
            pending = self._reads[job_id] = asyncio.ensure_future(self._store.get(job_id))
            pending.add_done_callback(lambda _: self._reads.pop(job_id, None))
        job = await asyncio.shield(pending)
        self.note(job_id, job)
        return job

    def note(self, job_id: str, job: Job | None) -> None:
        """A state this process saw or made: workers waiting on the job look again now."""
        previous = self._jobs.get(job_id)
        self._count(previous[1] if previous else None, -1)
        self._jobs[job_id] = (self._clock(), job)
        self._count(job, +1)
        if len(self._jobs) > 10_000:
            oldest = sorted(self._jobs.items(), key=lambda kv: kv[1][0])[:5_000]
            for key, (_, forgotten) in oldest:
                self._count(forgotten, -1)
                self._jobs.pop(key, None)
        self._changed.set()
        self._changed = asyncio.Event()

    @staticmethod
    def _count(job: Job | None, delta: int) -> None:
        """wecare_bulk_jobs: the jobs this process knows, by their state as it last saw them."""
        if job is not None:
            metrics.BULK_JOBS.labels(job.state.name).inc(delta)

    async def until_not_running(self, job_id: str) -> Job | None:
        """Returns once the job is no longer RUNNING (paused, cancelled, gone), looking every max_age."""
        while True:
            job = await self.get(job_id)
            if job is None or job.state != JobState.RUNNING:
                return job
            waiter = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({waiter}, timeout=self._max_age)
            finally:
                waiter.cancel()
