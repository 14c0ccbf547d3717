"""The background work of every bulk process, driven by the jobs that have some (JobStore.active): scheduled jobs
started when their time comes, running jobs' audiences expanded (one process at a time, by lease), a resumed
job's chunks queued again if the process that resumed it died first, running jobs completed once every
recipient has an outcome, and finished jobs' reports written (after report_delay, so late statuses land). A running
WhatsApp template job waits (WAITING, its unsent messages withdrawn) when the messaging tier leaves its category no
new customer to reach, until the window's next release, and then goes on by itself.

It looks every `interval` seconds, at once when this process starts, resumes or cancels a job, and when a waiting
job's resume time or a scheduled job's start comes (not up to an interval later: a tier campaign goes on the moment
the window frees places, as its dry run planned)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from services.bulk.adapters.contacts import AudienceUnreadable
from services.bulk.adapters.store import ChunkStore, JobStore
from services.bulk.domain.model import Channel, Job, JobState
from services.bulk.domain.tier_plan import Tier
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
        self._next_due = float("inf")  # the earliest resume or start time of the jobs the last pass saw
        self.jobs: Jobs | None = None
        self.expander: Expander | None = None
        self.reporter: Reporter | None = None
        self.tier: Callable[[str], Awaitable[Tier]] | None = None  # messaging's tier for a category

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
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self._pause())
                except TimeoutError:
                    pass
                self._wakeup.clear()
        finally:
            for task in self._busy.values():
                task.cancel()

    def _pause(self) -> float:
        """Until the next pass: the interval, or less when a job is due before it."""
        return max(0.0, min(self._interval, self._next_due - self._wall()))

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

    async def _tier_spent(self, job: Job, tiers: dict[str, Tier | None], now: float) -> bool:
        """Whether the running job must wait for the tier (and then it is made to)."""
        if self.tier is None or job.channel != Channel.WHATSAPP or "template" not in job.content:
            return False
        if job.category not in tiers:
            try:
                tiers[job.category] = await self.tier(job.category)
            except Exception:
                log.warning("the messaging tier is unreadable", exc_info=True)
                tiers[job.category] = None
        tier = tiers[job.category]
        if tier is None or tier.unlimited or tier.available > 0:
            return False
        if (await self._chunks.counts(job.id)).pending <= 0:
            return False
        resume = tier.releases[0][0] if tier.releases else now + max(tier.lag, 1.0)
        reason = f"the messaging tier's budget for {job.category.lower()} is spent until the window frees places"
        self._spawn("wait", job, lambda j=job: self.jobs.wait(j.id, resume, reason))
        return True

    async def tick(self) -> None:
        assert self.jobs is not None and self.expander is not None and self.reporter is not None
        now = self._wall()
        tiers: dict[str, Tier | None] = {}
        self._next_due = float("inf")
        for job in await self._store.active():
            due = job.resume_time if job.state == JobState.WAITING else job.schedule_time
            if job.state in (JobState.WAITING, JobState.SCHEDULED) and due and due > now:
                self._next_due = min(self._next_due, due)  # one due already is spawned below
            if job.state == JobState.WAITING and (job.resume_time or 0) <= now:
                self._spawn("continue", job, lambda j=job: self.jobs.go_on(j.id))
                continue
            if job.state == JobState.RUNNING and await self._tier_spent(job, tiers, now):
                continue
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
