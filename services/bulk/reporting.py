"""Writing a finished job's report, chunk by chunk, as one multipart upload (bounded memory), after attributing
to each recipient what messaging knows of their message now (and, for a job with tracked links or a form,
what commerce knows of their clicks and answers): later statuses (delivered, read, a failure with its code, a
late answer for one that was unknown, a send Meta refused after the call and nobody sent again) and, for a
cancelled job, what became of the recipients without an outcome (sent while in flight, or withdrawn: suppressed
as `cancelled`). Attributions are recorded
in the chunk store (forward only), so GetJob's counts agree with the report.

One process writes a report at a time: a lease on the job (compare-and-swap), renewed as chunks go by."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from services.bulk import reattempts
from services.bulk.adapters.commerce import Commerce
from services.bulk.adapters.messaging import MessagingClient
from services.bulk.adapters.reports import ReportBucket
from services.bulk.adapters.store import ChunkStore, JobStore
from services.bulk.domain import report
from services.bulk.domain.model import OPEN, REOPENABLE, Chunk, Job, JobState, Outcome, Update, advances
from services.bulk.domain.outcomes import Verdict, verdict

log = logging.getLogger("wecare.bulk.reporting")
ASK = frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.UNKNOWN}) | OPEN


class Reporter:
    def __init__(
        self,
        jobs: JobStore,
        chunks: ChunkStore,
        messaging: MessagingClient,
        bucket: ReportBucket,
        *,
        owner: str,
        lease_seconds: float,
        settle_seconds: float,
        wall=time.time,
        commerce: Commerce | None = None,
    ):
        self._commerce = commerce
        self._jobs = jobs
        self._chunks = chunks
        self._messaging = messaging
        self._bucket = bucket
        self._owner = owner
        self._lease = lease_seconds
        self._settle = settle_seconds
        self._wall = wall

    async def _lease_job(self, job: Job) -> Job | None:
        """The job with this process's report lease, or None (someone else holds it, or it is written)."""
        for _ in range(5):
            now = self._wall()
            if not job.needs_report or (
                job.report_owner and job.report_owner != self._owner and job.report_lease_until > now
            ):
                return None
            leased = dataclasses.replace(
                job, report_owner=self._owner, report_lease_until=now + self._lease, version=job.version + 1
            )
            if await self._jobs.replace(leased, job.version):
                return leased
            job = await self._jobs.get(job.id)
            if job is None:
                return None
        return None

    async def write(self, job: Job) -> Job | None:
        """Writes the report of a finished job; returns the job with its report_key, or None when another
        process has it."""
        leased = await self._lease_job(job)
        if leased is None:
            return None
        job = leased
        key = self._bucket.key(job.id)
        count = await self._chunk_count(job)
        engaged = None
        if job.track_links or job.form:
            if self._commerce is None:
                raise RuntimeError(f"{job.name} tracks links or sends a form, and bulk has no commerce service")
            engagement = await self._commerce.engagement(job.id, job.track_links, bool(job.form), fresh=True)
            engaged = report.Engaged(engagement, job.track_links, bool(job.form))
        tally = report.Tally()
        renewed_at = self._wall()
        async with await self._bucket.upload(key) as upload:
            await upload.write(report.head(job))
            for seq in range(count):
                chunk = await self._chunks.get_chunk(job.id, seq)
                if chunk is None:
                    continue
                chunk = await self._attribute(job, chunk)
                for r in chunk.recipients:
                    await upload.write(report.line(r, first=tally.total == 0, engaged=engaged))
                    tally.add(r.outcome)
                if self._wall() - renewed_at > self._lease / 3:
                    job = await self._renew(job)
                    renewed_at = self._wall()
            await upload.write(report.tail(tally, engaged))
        for _ in range(10):
            done = dataclasses.replace(
                job, report_key=key, report_owner="", report_lease_until=0.0, version=job.version + 1
            )
            if await self._jobs.replace(done, job.version):
                log.info("report written", extra={"job": job.name, "key": key, "recipients": tally.total})
                return done
            job = await self._jobs.get(job.id)
            if job is None:
                return None
        raise RuntimeError(f"could not record the report of {job.name}")

    async def _renew(self, job: Job) -> Job:
        renewed = dataclasses.replace(job, report_lease_until=self._wall() + self._lease, version=job.version + 1)
        if not await self._jobs.replace(renewed, job.version):
            raise RuntimeError(f"the report lease of {job.name} was lost")
        return renewed

    async def _chunk_count(self, job: Job) -> int:
        """Chunks 0..n-1: as far as the expansion got (a chunk written just before a cancel may lie past its
        saved position), or an inline list's chunks."""
        progress = await self._chunks.expansion(job.id)
        count = max(progress.next_seq, job.audience.chunks)
        while await self._chunks.get_chunk(job.id, count) is not None:
            count += 1
        return count

    async def _attribute(self, job: Job, chunk: Chunk) -> Chunk:
        asks = {r.index: r for r in chunk.recipients if r.outcome in ASK and r.address}
        deadline = self._wall() + self._settle
        while asks:
            states = await self._messaging.states([job.key(r.address) for r in asks.values()])
            updates: list[Update] = []
            in_flight = {}
            for index, r in asks.items():
                state = states.get(job.key(r.address))
                if state is None:
                    kind, update = Verdict.WITHDRAWN, None
                else:
                    kind, update = verdict(index, state)
                if kind == Verdict.OUTCOME and update is not None:
                    if advances(r.outcome, update.outcome):
                        updates.append(update)
                elif kind == Verdict.WITHDRAWN and state is not None and r.outcome in REOPENABLE:
                    # Recorded sent, then refused by Meta after the call (template paused, 132015) and never sent
                    # again (no resume since): not delivered, and the report must not say sent.
                    why = f"withdrawn after the call, not sent again: {state.error_detail}"
                    updates.append(Update(index, Outcome.FAILED, state.message, "", state.error_code, why))
                elif r.outcome in OPEN:
                    if kind == Verdict.IN_FLIGHT and self._wall() < deadline:
                        in_flight[index] = r
                    elif kind == Verdict.IN_FLIGHT:
                        updates.append(Update(index, Outcome.UNKNOWN, reason="no outcome within the settle window"))
                    elif job.state != JobState.COMPLETED:  # never sent: the job was cancelled or failed
                        reason = "cancelled" if job.state == JobState.CANCELLED else "job failed"
                        updates.append(Update(index, Outcome.SUPPRESSED, reason=reason))
            if updates:
                await self._chunks.record(job.id, chunk.seq, updates, self._wall())
                _apply(chunk, updates)
            asks = in_flight
            if asks:
                await asyncio.sleep(0.5)
        await self._reattempts(job, chunk)
        return chunk

    async def _reattempts(self, job: Job, chunk: Chunk) -> None:
        """A LIMITED (131049) recipient's line says what became of its re-attempt (the job finished only once none
        was due: reattempts); the outcome stays LIMITED, the first message's."""
        limited = {job.key(r.address): r for r in chunk.recipients if r.outcome == Outcome.LIMITED and r.address}
        if not limited:
            return
        states = await self._messaging.states(list(limited))
        found = await reattempts.follow(self._messaging, {k: s for k, s in states.items() if s.status == "LIMITED"})
        for key, again in found.items():
            limited[key].reason = again.describe()


def _apply(chunk: Chunk, updates: list[Update]) -> None:
    """The store's rule, applied to the chunk in hand (forward only)."""
    by_index = {r.index: r for r in chunk.recipients}
    for u in updates:
        r = by_index[u.index]
        if advances(r.outcome, u.outcome):
            r.outcome = u.outcome
            r.message = u.message or r.message
            r.provider_id = u.provider_id or r.provider_id
            r.error_code, r.reason = u.error_code, u.reason
