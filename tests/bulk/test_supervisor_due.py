"""The bulk supervisor looks again when a job is due (a waiting job's resume time, a scheduled job's start), not at
its next pass: a tier campaign goes on the moment the window frees places, which its dry run's finish counts on.
The passes here are a minute apart, so only a look at the due time can meet the bounds."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from services.bulk.domain.model import Audience, Channel, Job, JobState
from services.bulk.supervisor import Supervisor

PASS = 60.0  # seconds between the supervisor's regular passes


class Store:
    """The jobs store's `active`, over jobs the fake use cases move on."""

    def __init__(self, jobs: list[Job]):
        self.jobs = {j.id: j for j in jobs}
        self.passes = 0

    async def active(self) -> list[Job]:
        self.passes += 1
        return [j for j in self.jobs.values() if j.state in (JobState.WAITING, JobState.SCHEDULED)]


class Jobs:
    """The use cases the supervisor calls for due jobs: each notes when it was called and moves the job on."""

    def __init__(self, store: Store):
        self._store = store
        self.called: dict[str, float] = {}

    async def _moved(self, job_id: str) -> bool:
        self.called[job_id] = time.time()
        self._store.jobs[job_id] = replace(self._store.jobs[job_id], state=JobState.RUNNING)
        return False  # no wake(): the next look must come from the due time itself

    async def go_on(self, job_id: str) -> bool:
        return await self._moved(job_id)

    async def begin(self, job_id: str) -> bool:
        return await self._moved(job_id)


def job(job_id: str, **fields) -> Job:
    return Job(job_id, Channel.WHATSAPP, "MARKETING", {}, Audience("inline"), ("phone",), **fields)


async def test_a_waiting_job_goes_on_and_a_scheduled_one_starts_when_due_not_at_the_next_pass():
    now = time.time()
    waiting, scheduled = now + 0.4, now + 0.8
    store = Store(
        [
            job("w", state=JobState.WAITING, resume_time=waiting),
            job("s", state=JobState.SCHEDULED, schedule_time=scheduled),
        ]
    )
    jobs = Jobs(store)
    supervisor = Supervisor(store, chunks=None, interval=PASS)
    supervisor.jobs, supervisor.expander, supervisor.reporter = jobs, object(), object()
    task = asyncio.create_task(supervisor.run())
    try:
        for _ in range(50):
            if len(jobs.called) == 2:
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert set(jobs.called) == {"w", "s"}, "a due job waited for the next pass"
    assert waiting <= jobs.called["w"] < waiting + 0.5
    assert scheduled <= jobs.called["s"] < scheduled + 0.5
    assert store.passes <= 5, f"{store.passes} passes in about a second: it must sleep until the due time"
