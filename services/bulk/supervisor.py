"""The background work of every bulk process, driven by the jobs that have some (JobStore.active): scheduled jobs
started when their time comes, running jobs' audiences expanded (one process at a time, by lease), a resumed
job's chunks queued again if the process that resumed it died first, running jobs completed once every
recipient has an outcome, and finished jobs' reports written (after report_delay, so late statuses land).

It looks every `interval` seconds and at once when this process starts, resumes or cancels a job."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from services.bulk.adapters.contacts import AudienceUnreadable
from services.bulk.adapters.store import ChunkStore, JobStore
from services.bulk.domain.model import Job, JobState
from services.bulk.expansion import Expander
from services.bulk.jobs import Jobs
from services.bulk.reporting import Reporter

log = logging.getLogger("wecare.bulk.supervisor")


class Supervisor:
    def __init__(
        self,
        jobs_store: JobStore,
        chunks: ChunkStore,
        *,
        interval: float = 1.0,
        report_delay: float = 2.0,
        wall=time.time,
    ):
        self._store = jobs_store
        self._chunks = chunks
        self._interval = interval
        self._report_delay = report_delay
        self._wall = wall
        self._wakeup = asyncio.Event()
        self._busy: dict[tuple[str, str], asyncio.Task] = {}
        self.jobs: Jobs | None = None
        self.expander: Expander | None = None
        self.reporter: Reporter | None = None

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("supervisor pass failed")
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self._interval)
                except TimeoutError:
                    pass
                self._wakeup.clear()
        finally:
            for task in self._busy.values():
                task.cancel()

    def _spawn(self, kind: str, job: Job, work: Callable[[], Awaitable[object]]) -> None:
        key = (kind, job.id)
        if key in self._busy:
            return

        async def guarded() -> None:
            changed = None
            try:
                changed = await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", kind, extra={"job": job.name})
            finally:
                self._busy.pop(key, None)
            if changed:
                self.wake()  # look again now: it may have made more work (a completed job's report)

        self._busy[key] = asyncio.create_task(guarded())

    async def _expand(self, job: Job) -> bool:
        assert self.jobs is not None and self.expander is not None
        try:
            return await self.expander.expand(job)
        except AudienceUnreadable as exc:
            log.warning("audience unreadable: the job fails", extra={"job": job.name, "reason": str(exc)})
            await self.jobs.fail(job.id, str(exc))
            return True

    async def tick(self) -> None:
        assert self.jobs is not None and self.expander is not None and self.reporter is not None
        now = self._wall()
        for job in await self._store.active():
            if job.state == JobState.SCHEDULED and job.schedule_time is not None and job.schedule_time <= now:
                self._spawn("begin", job, lambda j=job: self.jobs.begin(j.id))
            elif job.state == JobState.RUNNING:
                if job.requeue:
                    self._spawn("requeue", job, lambda j=job: self.jobs.requeue(j))
                progress = await self._chunks.expansion(job.id)
                if not progress.done:
                    if not progress.owner or progress.lease_until < now:
                        self._spawn("expand", job, lambda j=job: self._expand(j))
                else:
                    self._spawn("complete", job, lambda j=job: self.jobs.maybe_complete(j))
            elif job.needs_report and (job.finish_time or 0) + self._report_delay <= now:
                if not job.report_owner or job.report_lease_until < now:
                    self._spawn("report", job, lambda j=job: self.reporter.write(j))
