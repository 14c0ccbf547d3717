"""Jobs as the API sees them: creation (checked field by field and row by row, an inline list chunked at once),
the dry run, reading with counts and the report's URL, the state changes, and a job's progress as a stream.

State changes are compare-and-swap on the job (retried when the expander or a reporter wrote meanwhile). Pause
and cancel reach the workers through the job's state (this process's at once, the others' within
poll_seconds) and take effect in messaging at once: the job's unsent messages are withdrawn by key prefix,
then once more after the workers had time to stop, so nothing of the job is sent later than a second after
the call returns. Resume queues the job's open chunks again (a flag on the job makes that survive a crash); a job
Meta's template pause stopped first reopens the recipients whose sends Meta refused after the call (reopening).
A marketing job completes only when none of its 131049 re-attempts is due (reattempts): it WAITs for them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from runtime import ids
from runtime.errors import Aborted, FailedPrecondition, NotFound, Unavailable
from services.bulk import reattempts
from services.bulk.adapters.chunk_queue import ChunkQueue, ChunkRef
from services.bulk.adapters.commerce import Commerce
from services.bulk.adapters.contacts import ContactsDirectory
from services.bulk.adapters.messaging import MessagingClient, StillWithdrawing
from services.bulk.adapters.reports import ReportBucket
from services.bulk.adapters.store import ChunkStore, JobStore
from services.bulk.domain import retarget, spec
from services.bulk.domain.engagement import Engagement, EngagementCounts, counts_of
from services.bulk.domain.limits import Limits, RateWindow, eta_seconds
from services.bulk.domain.model import FINISHED, Audience, Channel, Counts, Job, JobState, Retarget, move
from services.bulk.domain.spec import Candidate, Problems
from services.bulk.domain.tier_plan import plan
from services.bulk.expansion import inline_chunks, survey_contacts, survey_inline
from services.bulk.job_states import JobStates
from services.bulk.reopening import needs_sweep, reopen_withdrawn

log = logging.getLogger("wecare.bulk.jobs")


@dataclass(frozen=True)
class BulkConfig:
    region: str
    senders: dict[Channel, tuple[str, ...]]
    limits: Limits
    chunk_size: int = 500
    poll_seconds: float = 0.25
    lease_seconds: float = 30.0
    settle_seconds: float = 10.0
    max_receive: int = 5
    process_id: str = "bulk"


@dataclass(frozen=True)
class JobRequest:
    """CreateJob's job, read from protobuf by the servicer, not yet checked."""

    channel: Channel | None
    category: str | None
    content: dict
    content_kind: str | None
    originations: tuple[str, ...] = ()
    display_name: str = ""
    schedule_time: float | None = None
    audience_kind: str | None = None  # "contacts" | "inline"
    tags: tuple[str, ...] = ()
    search: str = ""
    consent: str = "NOT_OPTED_OUT"
    rows: tuple[Candidate, ...] = ()
    retarget: Retarget | None = None
    track_links: bool = False
    form: str = ""


@dataclass(frozen=True)
class Summary:
    total: int
    suppressed: dict[str, int]
    complete: bool

    @property
    def recipients(self) -> int:
        return self.total - sum(self.suppressed.values())


@dataclass(frozen=True)
class JobView:
    job: Job
    counts: Counts
    summary: Summary
    estimated_seconds: float | None
    report_url: str = ""
    engagement: EngagementCounts | None = None  # a job with tracked links or a form
    budget_recipients: int = 0  # a WhatsApp dry run: recipients the messaging tier's budget allows now
    estimated_finish: float | None = None  # a WhatsApp dry run: when the last is expected to be sent, waits included


@dataclass(frozen=True)
class Snapshot:
    view: JobView
    current_rate: float
    eta_seconds: float | None
    observed_at: float


class Jobs:
    def __init__(
        self,
        jobs: JobStore,
        chunks: ChunkStore,
        queue: ChunkQueue,
        messaging: MessagingClient,
        directory: ContactsDirectory,
        reports: ReportBucket,
        states: JobStates,
        config: BulkConfig,
        wake: Callable[[], None] = lambda: None,
        wall=time.time,
        commerce: Commerce | None = None,
    ):
        self._commerce = commerce
        self._jobs = jobs
        self._chunks = chunks
        self._queue = queue
        self._messaging = messaging
        self._directory = directory
        self._reports = reports
        self._states = states
        self.config = config
        self._wake = wake
        self._wall = wall
        self._quiet: dict[str, float] = {}  # job id -> when this process first saw it with nothing left to send

    # --- create -------------------------------------------------------------------------------------------
    async def create(self, request: JobRequest, validate_only: bool, creator: str) -> JobView:
        now = self._wall()
        problems = Problems()
        spec.check_job(
            problems,
            channel=request.channel,
            category=request.category,
            content=request.content,
            content_kind=request.content_kind,
            originations=request.originations,
            configured=self.config.senders,
            display_name=request.display_name,
            schedule_time=request.schedule_time,
            now=now,
        )
        names = spec.placeholders(request.content)
        tags: tuple[str, ...] = ()
        rows = list(request.rows)
        if request.audience_kind is None:
            problems.add("job.audience", "required: contact_query, inline_audience or retarget (the audience is empty)")
        elif request.audience_kind == "contacts":
            tags = spec.check_contact_query(problems, list(request.tags), request.search)
        elif request.audience_kind == "retarget":
            assert request.retarget is not None
            rows = await self._retarget_rows(problems, request.retarget)
        else:
            spec.check_inline(problems, rows, request.channel, names)
        spec.check_form(problems, request.channel, request.content, request.form)
        if (request.track_links or request.form) and self._commerce is None:
            problems.add("job.track_links" if request.track_links else "job.form", "bulk has no commerce service")
        if not problems.found and request.channel == Channel.WHATSAPP and request.content_kind == "template":
            body = request.content["template"]
            facts = await self._messaging.template(body["template_name"], body["language"])
            spec.check_template(problems, body, facts, request.category)
        problems.raise_any()
        assert request.channel is not None and request.category is not None
        originations = request.originations or self.config.senders.get(request.channel, ())
        if not originations:
            problems.add("job.originations", f"no {request.channel.value} sender is configured")
            problems.raise_any()
        job = Job(
            id=ids.new_id(),
            channel=request.channel,
            category=request.category,
            content=request.content,
            audience=Audience(
                request.audience_kind or "contacts",
                tags,
                request.search.strip(),
                request.consent,
                len(rows),
                retarget=request.retarget,
            ),
            originations=originations,
            display_name=" ".join(request.display_name.split()),
            schedule_time=request.schedule_time,
            creator=creator,
            create_time=now,
            update_time=now,
            binding_rate=self.config.limits.binding_rate(request.channel, originations),
            track_links=request.track_links,
            form=request.form,
        )
        if validate_only:
            return await self._dry_run(job, rows, now)
        if job.audience.listed:
            written = 0
            for chunk in inline_chunks(job, rows, self.config.region, self.config.chunk_size):
                await self._chunks.add_chunk(chunk)
                written += 1
            job = dataclasses.replace(job, audience=dataclasses.replace(job.audience, chunks=written))
        await self._jobs.create(job)
        return await self.view(job)

    async def _dry_run(self, job: Job, rows: list[Candidate], now: float) -> JobView:
        windows = None
        if job.channel == Channel.WHATSAPP and "template" not in job.content:
            windows = await self._messaging.open_windows(now)
        if job.audience.listed:
            audit = await survey_inline(job, rows, self._directory, self.config.region, windows)
        else:
            audit = await survey_contacts(job, self._directory, self.config.region, windows)
        counts = Counts(
            total=audit.total, suppressed=sum(audit.suppressed.values()), audience_suppressed=audit.suppressed
        )
        summary = Summary(audit.total, audit.suppressed, True)
        view = JobView(
            dataclasses.replace(job, id=""), counts, summary, eta_seconds(summary.recipients, job.binding_rate)
        )
        if job.channel == Channel.WHATSAPP and "template" in job.content:
            try:
                tier = await self._messaging.tier(job.category)
            except Unavailable:
                log.warning("the messaging tier is unreadable: the dry run plans without it", exc_info=True)
                return view
            p = plan(summary.recipients, job.binding_rate, tier, now)
            finish = p.finish if p.finish != float("inf") else None
            view = dataclasses.replace(view, budget_recipients=p.budget, estimated_finish=finish)
        return view

    # --- read ---------------------------------------------------------------------------------------------
    async def _get(self, job_id: str) -> Job:
        job = await self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"bulkJobs/{job_id} does not exist")
        return job

    async def view(self, job: Job, with_url: bool = False) -> JobView:
        counts = await self._chunks.counts(job.id)
        if job.audience.listed:
            complete = True
        else:
            complete = (await self._chunks.expansion(job.id)).done
        summary = Summary(counts.total, counts.audience_suppressed, complete)
        estimate = eta_seconds(summary.recipients, job.binding_rate) if complete else None
        url = await self._reports.url(job.report_key) if with_url and job.report_key else ""
        engagement = None
        if (job.track_links or job.form) and self._commerce is not None and job.state != JobState.DRAFT:
            found = await self._commerce.engagement(job.id, job.track_links, bool(job.form))
            engagement = counts_of(found)
        return JobView(job, counts, summary, estimate, url, engagement)

    async def _retarget_rows(self, problems: Problems, wanted: Retarget) -> list[Candidate]:
        """The earlier job's recipients the retargeting selects, as the new job's audience."""
        source = await self._jobs.get(wanted.source_job) if wanted.source_job else None
        retarget.check(problems, wanted, source)
        if problems.found or source is None:
            return []
        engagement = Engagement()
        if wanted.needs_clicks or wanted.needs_answers:
            if self._commerce is None:
                problems.add("job.retarget", "bulk has no commerce service: clicks and answers are unknown")
                return []
            engagement = await self._commerce.engagement(
                source.id, wanted.needs_clicks, wanted.needs_answers, fresh=True
            )
        rows: list[Candidate] = []
        seq = 0
        progress = await self._chunks.expansion(source.id)
        last = max(progress.next_seq, source.audience.chunks)
        while True:
            chunk = await self._chunks.get_chunk(source.id, seq)
            if chunk is None and seq >= last:
                break
            for r in chunk.recipients if chunk else ():
                if retarget.selects(wanted, r, engagement):
                    rows.append(retarget.candidate(r))
            seq += 1
        if not rows:
            problems.add("job.retarget", f"no recipient of {source.name} matches: the audience is empty")
        return rows

    async def get(self, job_id: str) -> JobView:
        return await self.view(await self._get(job_id), with_url=True)

    async def list(self, before_id: str | None, limit: int) -> list[JobView]:
        jobs = await self._jobs.list(before_id, limit)
        return list(await asyncio.gather(*(self.view(j) for j in jobs)))

    # --- state changes ------------------------------------------------------------------------------------
    async def _move(
        self, job_id: str, action: str, reason: str = "", resume_time: float | None = None
    ) -> tuple[Job, Job]:
        """(before, after) of one state change, compare-and-swap, retried when the job changed meanwhile."""
        for _ in range(20):
            before = await self._get(job_id)
            after = move(before, action, self._wall(), reason, resume_time)
            if await self._jobs.replace(after, before.version):
                self._states.note(job_id, after)
                return before, after
        raise Aborted(f"bulkJobs/{job_id} kept changing; try again", reason="CONCURRENT_CHANGE")

    async def start(self, job_id: str) -> tuple[Job, JobView]:
        before, job = await self._move(job_id, "start")
        self._wake()  # expansion begins now (or the scheduler waits for schedule_time)
        return before, await self.view(job)

    async def begin(self, job_id: str) -> Job:
        """A SCHEDULED job whose time has come (the supervisor)."""
        _, job = await self._move(job_id, "begin")
        self._wake()
        return job

    async def pause(self, job_id: str) -> tuple[Job, JobView]:
        before, job = await self._move(job_id, "pause")
        await self._stop_sending(job)
        return before, await self.view(job)

    async def halt(self, job_id: str, reason: str) -> None:
        """The platform pauses a running job (Meta paused or disabled its template), the reason in the job; a
        ResumeJob once the template is reinstated sends the rest, each recipient under its key."""
        try:
            _, job = await self._move(job_id, "pause", reason)
        except FailedPrecondition:
            return  # not running any more (paused already, cancelled, finished)
        log.warning("job paused", extra={"job": job.name, "reason": reason})
        await self._stop_sending(job)

    async def wait(self, job_id: str, resume_time: float, reason: str) -> bool:
        """The messaging tier's budget is spent: the running job waits (its unsent messages withdrawn, to be sent
        under their keys when it goes on) until resume_time."""
        try:
            _, job = await self._move(job_id, "wait", reason, resume_time)
        except FailedPrecondition:
            return False
        log.info("job waits for the tier", extra={"job": job.name, "resume_time": resume_time, "reason": reason})
        await self._stop_sending(job)
        return True

    async def go_on(self, job_id: str) -> bool:
        """A waiting job whose resume_time has come runs again (its open chunks queued again)."""
        try:
            _, job = await self._move(job_id, "continue")
        except FailedPrecondition:
            return False
        await self.requeue(job)
        self._wake()
        return True

    async def cancel(self, job_id: str) -> tuple[Job, JobView]:
        before, job = await self._move(job_id, "cancel")
        if before.state in (JobState.RUNNING, JobState.PAUSED, JobState.WAITING):  # waiting: 131049 re-attempts
            await self._stop_sending(job)
        self._wake()  # the report
        return before, await self.view(job)

    async def resume(self, job_id: str) -> tuple[Job, JobView]:
        paused = await self._get(job_id)
        if needs_sweep(paused):  # Meta refused some of its sends after the call: they are sent again (reopening)
            await reopen_withdrawn(paused, self._chunks, self._messaging, self._wall)
        before, job = await self._move(job_id, "resume")
        # The open chunks are queued again by the supervisor, woken now (the job carries its requeue flag): a job
        # of 1,000,000 recipients has 2,000 of them, more than a call should wait for, and doing it here as well
        # queued each chunk twice.
        self._wake()
        return before, await self.view(job)

    async def requeue(self, job: Job) -> Job:
        """Queues a resumed job's open chunks again, then clears its flag (a crash in between: the supervisor
        does it). Chunks a worker still holds are only delivered twice, which workers take in their stride."""
        progress = await self._chunks.expansion(job.id)
        open_chunks = await self._chunks.open_chunks(job.id, progress.next_seq)
        await self._queue.send([ChunkRef(job.id, seq) for seq in open_chunks])
        for _ in range(20):
            if not job.requeue or job.state != JobState.RUNNING:
                return job
            cleared = dataclasses.replace(job, requeue=False, version=job.version + 1)
            if await self._jobs.replace(cleared, job.version):
                self._states.note(job.id, cleared)
                return cleared
            job = await self._get(job.id)
        return job

    async def _stop_sending(self, job: Job) -> None:
        """Withdraws the job's unsent messages now, and again once every worker has seen the new state."""
        await self._withdraw(job)
        await asyncio.sleep(2 * self.config.poll_seconds)
        await self._withdraw(job)

    async def _withdraw(self, job: Job) -> None:
        for attempt in range(4):
            try:
                withdrawn, in_flight = await self._messaging.withdraw(job.key_prefix)
                log.info("withdrawn", extra={"job": job.name, "withdrawn": withdrawn, "in_flight": in_flight})
                return
            except StillWithdrawing:
                log.info("messaging is still withdrawing the job's queue", extra={"job": job.name})
                return
            except Unavailable:
                if attempt == 3:
                    raise
                await asyncio.sleep(0.1 * 2**attempt)

    async def maybe_complete(self, job: Job) -> Job | None:
        """Completes a running job once its audience is expanded and every recipient has an outcome."""
        if job.state != JobState.RUNNING:
            return None
        progress = await self._chunks.expansion(job.id)
        if not progress.done:
            return None
        counts = await self._chunks.counts(job.id)
        if counts.final < counts.total:
            self._quiet.pop(job.id, None)
            return None
        if reattempts.applies_to(job) and not await self._no_reattempt_due(job):
            return None
        try:
            _, done = await self._move(job.id, "complete")
        except Exception as exc:  # another process completed (or paused) it meanwhile
            log.debug("not completed here: %s", exc)
            return None
        log.info("job completed", extra={"job": job.name, "recipients": counts.total})
        self._wake()
        return done

    async def _no_reattempt_due(self, job: Job) -> bool:
        """A marketing job with nothing left to send finishes only once no 131049 re-attempt of it is due
        (reattempts); while one is, it waits until the latest is due. Meta's 131049 follows the call by a moment:
        the read back is done once the job has had nothing left to send for reattempts.SETTLE seconds."""
        now = self._wall()
        quiet = self._quiet.setdefault(job.id, now)
        if now - quiet < reattempts.SETTLE:
            return False
        due = await reattempts.due_until(job, self._chunks, self._messaging, self._wall)
        if not due:
            self._quiet.pop(job.id, None)
            return True
        reason = "131049 re-attempts are due: the job finishes once each has gone (or not)"
        try:  # nothing is withdrawn: the re-attempts are all the job has left to send
            _, waiting = await self._move(job.id, "wait", reason, max(due, now) + reattempts.SETTLE)
            log.info("job waits for its 131049 re-attempts", extra={"job": job.name, "until": waiting.resume_time})
        except FailedPrecondition:
            pass
        self._quiet.pop(job.id, None)
        return False

    async def fail(self, job_id: str, reason: str) -> Job:
        """A job that cannot go on: it stops sending as a cancel does, and its report says failed."""
        _, job = await self._move(job_id, "fail", reason)
        await self._stop_sending(job)
        self._wake()
        return job

    # --- progress -----------------------------------------------------------------------------------------
    async def watch(self, job_id: str, interval: float = 0.5, heartbeat: float = 1.0) -> AsyncIterator[Snapshot]:
        """A step at every change (state, counts, audience) and at least every `heartbeat` seconds, until the
        job is over and its report written."""
        rate = RateWindow()
        last_key: tuple | None = None
        last_at = 0.0
        while True:
            job = await self._get(job_id)
            view = await self.view(job, with_url=job.state in FINISHED and bool(job.report_key))
            now = self._wall()
            current = rate.observe(view.counts.final)
            eta = eta_seconds(view.counts.pending, job.binding_rate) if job.state == JobState.RUNNING else None
            key = (job.state, job.report_key, view.counts, view.summary)
            if key != last_key or now - last_at >= heartbeat:
                yield Snapshot(view, current, eta, now)
                last_key, last_at = key, now
            if job.state in FINISHED and job.report_key:
                return
            await asyncio.sleep(interval)
