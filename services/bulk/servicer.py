"""BulkService: protobuf in, calls to jobs.py and dead_letters.py, protobuf out. Rules live in domain/."""

from __future__ import annotations

from google.protobuf import duration_pb2, json_format

from runtime.calls import caller, note_change
from runtime.errors import InvalidArgument
from runtime.names import parse_name, seconds, timestamp
from runtime.pagination import PageTokens, page_size
from services.bulk.dead_letters import DeadChunk, DeadLetters, Replayed
from services.bulk.domain.engagement import EngagementCounts
from services.bulk.domain.model import Channel, Counts, JobState, Retarget
from services.bulk.domain.spec import Candidate
from services.bulk.jobs import JobRequest, Jobs, JobView, Snapshot, Summary
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.bulk.v1 import bulk_service_pb2_grpc
from wecare.messaging.v1 import messaging_service_pb2 as messaging_pb

CHANNELS = {
    messaging_pb.CHANNEL_WHATSAPP: Channel.WHATSAPP,
    messaging_pb.CHANNEL_SMS: Channel.SMS,
    messaging_pb.CHANNEL_EMAIL: Channel.EMAIL,
}
CHANNELS_PB = {v: k for k, v in CHANNELS.items()}
CATEGORIES = {
    messaging_pb.CATEGORY_MARKETING: "MARKETING",
    messaging_pb.CATEGORY_UTILITY: "UTILITY",
    messaging_pb.CATEGORY_AUTHENTICATION: "AUTHENTICATION",
    messaging_pb.CATEGORY_SERVICE: "SERVICE",
}
CATEGORIES_PB = {v: k for k, v in CATEGORIES.items()}
STATES_PB = {
    JobState.DRAFT: pb.JOB_STATE_DRAFT,
    JobState.SCHEDULED: pb.JOB_STATE_SCHEDULED,
    JobState.RUNNING: pb.JOB_STATE_RUNNING,
    JobState.PAUSED: pb.JOB_STATE_PAUSED,
    JobState.COMPLETED: pb.JOB_STATE_COMPLETED,
    JobState.CANCELLED: pb.JOB_STATE_CANCELLED,
    JobState.FAILED: pb.JOB_STATE_FAILED,
    JobState.WAITING: pb.JOB_STATE_WAITING,
}
CONSENT = {pb.CONSENT_REQUIREMENT_OPTED_IN: "OPTED_IN"}
CONSENT_PB = {"OPTED_IN": pb.CONSENT_REQUIREMENT_OPTED_IN, "NOT_OPTED_OUT": pb.CONSENT_REQUIREMENT_NOT_OPTED_OUT}
ENGAGEMENT = {pb.ENGAGEMENT_YES: "YES", pb.ENGAGEMENT_NO: "NO"}
ENGAGEMENT_PB = {v: k for k, v in ENGAGEMENT.items()}
REPLAYED_PB = {
    Replayed.REPLAYED: pb.REPLAY_OUTCOME_REPLAYED,
    Replayed.WOULD_REPLAY: pb.REPLAY_OUTCOME_WOULD_REPLAY,
    Replayed.ALREADY_DONE: pb.REPLAY_OUTCOME_ALREADY_DONE,
    Replayed.FAILED: pb.REPLAY_OUTCOME_FAILED,
}


def request_of(job: pb.BulkJob) -> JobRequest:
    content = json_format.MessageToDict(job.content, preserving_proto_field_name=True)
    kind = job.content.WhichOneof("kind")
    if kind and kind not in content:  # an empty kind (`{"text": {}}`) is still that kind
        content[kind] = {}
    audience = job.WhichOneof("audience")
    rows: tuple[Candidate, ...] = ()
    if audience == "inline_audience":
        rows = tuple(
            Candidate(address=r.address, display_name=r.display_name, attributes=dict(r.attributes))
            for r in job.inline_audience.recipients
        )
    query = job.contact_query
    wanted = None
    if audience == "retarget":
        r = job.retarget
        wanted = Retarget(
            source_job=parse_name(r.source_job, "bulkJobs", "job.retarget.source_job") if r.source_job else "",
            outcomes=tuple(pb.RetargetOutcome.Name(o).removeprefix("RETARGET_OUTCOME_") for o in r.outcomes),
            clicked=ENGAGEMENT.get(r.clicked, ""),
            answered=ENGAGEMENT.get(r.answered, ""),
        )
    return JobRequest(
        channel=CHANNELS.get(job.channel),
        category=CATEGORIES.get(job.category),
        content=content,
        content_kind=kind,
        originations=tuple(job.originations),
        display_name=job.display_name,
        schedule_time=seconds(job.schedule_time) if job.HasField("schedule_time") else None,
        audience_kind={"contact_query": "contacts", "inline_audience": "inline", "retarget": "retarget"}.get(
            audience or ""
        ),
        tags=tuple(query.tags),
        search=query.search,
        consent=CONSENT.get(query.consent, "NOT_OPTED_OUT"),
        rows=rows,
        retarget=wanted,
        track_links=job.track_links,
        form=job.form,
    )


def _duration(value: float | None) -> duration_pb2.Duration | None:
    if value is None:
        return None
    out = duration_pb2.Duration()
    out.FromNanoseconds(round(value * 1e9))
    return out


def counts_proto(c: Counts, engagement: EngagementCounts | None = None) -> pb.JobCounts:
    out = pb.JobCounts(
        total=c.total,
        pending=c.pending,
        sent=c.sent,
        delivered=c.delivered,
        read=c.read,
        failed=c.failed,
        suppressed=c.suppressed,
        unknown=c.unknown,
        limited=c.limited,
    )
    if engagement is not None:
        out.clicked, out.clicks, out.answered = engagement.clicked, engagement.clicks, engagement.answered
        out.click_rate = engagement.click_rate(c.sent)
    return out


def summary_proto(s: Summary) -> pb.AudienceSummary:
    return pb.AudienceSummary(
        total_count=s.total,
        recipient_count=s.recipients,
        suppressed_count=s.total - s.recipients,
        suppressed_by_reason=s.suppressed,
        complete=s.complete,
    )


def to_proto(view: JobView) -> pb.BulkJob:
    job = view.job
    out = pb.BulkJob(
        name=job.name if job.id else "",
        display_name=job.display_name,
        channel=CHANNELS_PB[job.channel],
        category=CATEGORIES_PB[job.category],
        originations=list(job.originations),
        content=json_format.ParseDict(job.content, messaging_pb.Content()),
        schedule_time=timestamp(job.schedule_time),
        state=STATES_PB[job.state] if job.id else pb.JOB_STATE_UNSPECIFIED,
        audience_summary=summary_proto(view.summary),
        counts=counts_proto(view.counts, view.engagement),
        binding_rate=job.binding_rate,
        estimated_duration=_duration(view.estimated_seconds),
        report_uri=view.report_url,
        failure_reason=job.failure_reason,
        state_reason=job.state_reason,
        resume_time=timestamp(job.resume_time),
        budget_recipients=view.budget_recipients,
        estimated_finish_time=timestamp(view.estimated_finish),
        creator=job.creator,
        create_time=timestamp(job.create_time) if job.id else None,
        start_time=timestamp(job.start_time),
        finish_time=timestamp(job.finish_time),
        update_time=timestamp(job.update_time) if job.id else None,
        etag=job.etag if job.id else "",
        track_links=job.track_links,
        form=job.form,
    )
    if job.audience.retarget is not None:
        r = job.audience.retarget
        out.retarget.CopyFrom(
            pb.RetargetAudience(
                source_job=f"bulkJobs/{r.source_job}",
                outcomes=[pb.RetargetOutcome.Value(f"RETARGET_OUTCOME_{o}") for o in r.outcomes],
                clicked=ENGAGEMENT_PB.get(r.clicked, pb.ENGAGEMENT_UNSPECIFIED),
                answered=ENGAGEMENT_PB.get(r.answered, pb.ENGAGEMENT_UNSPECIFIED),
            )
        )
    if job.audience.kind == "contacts":
        out.contact_query.CopyFrom(
            pb.ContactQuery(
                tags=list(job.audience.tags), search=job.audience.search, consent=CONSENT_PB[job.audience.consent]
            )
        )
    return out


def snapshot_proto(s: Snapshot) -> pb.WatchJobResponse:
    job = s.view.job
    return pb.WatchJobResponse(
        name=job.name,
        state=STATES_PB[job.state],
        counts=counts_proto(s.view.counts, s.view.engagement),
        current_rate=s.current_rate,
        eta=_duration(s.eta_seconds),
        audience_summary=summary_proto(s.view.summary),
        observe_time=timestamp(s.observed_at),
        state_reason=job.state_reason,
        resume_time=timestamp(job.resume_time),
    )


def dead_proto(d: DeadChunk) -> pb.DeadLetterChunk:
    ref = d.delivery.ref
    return pb.DeadLetterChunk(
        id=d.delivery.message_id,
        job=f"bulkJobs/{ref.job_id}" if ref else "",
        chunk=ref.seq if ref else 0,
        reason=d.reason,
        receive_count=d.delivery.receives or d.delivery.receive_count,
        sent_time=timestamp(d.delivery.sent_time),
    )


class BulkServicer(bulk_service_pb2_grpc.BulkServiceServicer):
    def __init__(self, jobs: Jobs, dead_letters: DeadLetters, page_tokens: PageTokens):
        self._jobs = jobs
        self._dead = dead_letters
        self._tokens = page_tokens

    async def CreateJob(self, request: pb.CreateJobRequest, context) -> pb.BulkJob:
        who = caller()
        view = await self._jobs.create(request_of(request.job), request.validate_only, who.subject if who else "")
        if not request.validate_only:
            note_change(view.job.name, None, view.job.audit_view())
        return to_proto(view)

    async def GetJob(self, request: pb.GetJobRequest, context) -> pb.BulkJob:
        return to_proto(await self._jobs.get(parse_name(request.name, "bulkJobs")))

    async def ListJobs(self, request: pb.ListJobsRequest, context) -> pb.ListJobsResponse:
        size = page_size(request.page_size, 50, 500)
        before = self._tokens.decode("bulkJobs:list", request.page_token) if request.page_token else None
        views = await self._jobs.list(before, size + 1)
        token = self._tokens.encode("bulkJobs:list", views[size - 1].job.id) if len(views) > size else ""
        return pb.ListJobsResponse(jobs=[to_proto(v) for v in views[:size]], next_page_token=token)

    async def _change(self, action, name: str) -> pb.BulkJob:
        before, view = await action(parse_name(name, "bulkJobs"))
        note_change(view.job.name, before.audit_view(), view.job.audit_view())
        return to_proto(view)

    async def StartJob(self, request: pb.StartJobRequest, context) -> pb.BulkJob:
        return await self._change(self._jobs.start, request.name)

    async def PauseJob(self, request: pb.PauseJobRequest, context) -> pb.BulkJob:
        return await self._change(self._jobs.pause, request.name)

    async def ResumeJob(self, request: pb.ResumeJobRequest, context) -> pb.BulkJob:
        return await self._change(self._jobs.resume, request.name)

    async def CancelJob(self, request: pb.CancelJobRequest, context) -> pb.BulkJob:
        return await self._change(self._jobs.cancel, request.name)

    async def WatchJob(self, request: pb.WatchJobRequest, context):
        job_id = parse_name(request.name, "bulkJobs")
        async for step in self._jobs.watch(job_id):
            yield snapshot_proto(step)

    async def ListDeadLetterChunks(
        self, request: pb.ListDeadLetterChunksRequest, context
    ) -> pb.ListDeadLetterChunksResponse:
        found, count = await self._dead.peek(page_size(request.page_size, 10, 100))
        return pb.ListDeadLetterChunksResponse(dead_letters=[dead_proto(d) for d in found], approximate_count=count)

    async def ReplayDeadLetterChunks(self, request: pb.ReplayDeadLetterChunksRequest, context):
        if request.max_count < 0:
            raise InvalidArgument("max_count", "must not be negative")
        if request.max_per_second < 0:
            raise InvalidArgument("max_per_second", "must not be negative")
        max_count = min(request.max_count or 100, 10_000)
        note_change("bulkJobs:deadLetters", None, {"dry_run": request.dry_run, "max_count": max_count})
        replayed = already_done = failed = 0
        async for step in self._dead.replay(request.dry_run, max_count, request.max_per_second or 10.0):
            replayed, already_done, failed = (
                replayed + step.replayed,
                already_done + step.already_done,
                failed + step.failed,
            )
            yield pb.ReplayDeadLetterChunksResponse(
                results=[
                    pb.ReplayResult(dead_letter=dead_proto(d), outcome=REPLAYED_PB[o], detail=detail)
                    for d, o, detail in step.results
                ],
                replayed_count=replayed,
                already_done_count=already_done,
                failed_count=failed,
            )
