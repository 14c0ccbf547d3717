import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from wecare.auth.v1 import access_pb2 as _access_pb2
from wecare.messaging.v1 import messaging_service_pb2 as _messaging_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RetargetOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETARGET_OUTCOME_UNSPECIFIED: _ClassVar[RetargetOutcome]
    RETARGET_OUTCOME_SENT: _ClassVar[RetargetOutcome]
    RETARGET_OUTCOME_DELIVERED: _ClassVar[RetargetOutcome]
    RETARGET_OUTCOME_READ: _ClassVar[RetargetOutcome]
    RETARGET_OUTCOME_FAILED: _ClassVar[RetargetOutcome]
    RETARGET_OUTCOME_LIMITED: _ClassVar[RetargetOutcome]

class Engagement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENGAGEMENT_UNSPECIFIED: _ClassVar[Engagement]
    ENGAGEMENT_YES: _ClassVar[Engagement]
    ENGAGEMENT_NO: _ClassVar[Engagement]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_DRAFT: _ClassVar[JobState]
    JOB_STATE_SCHEDULED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_PAUSED: _ClassVar[JobState]
    JOB_STATE_COMPLETED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_WAITING: _ClassVar[JobState]

class ConsentRequirement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_REQUIREMENT_UNSPECIFIED: _ClassVar[ConsentRequirement]
    CONSENT_REQUIREMENT_NOT_OPTED_OUT: _ClassVar[ConsentRequirement]
    CONSENT_REQUIREMENT_OPTED_IN: _ClassVar[ConsentRequirement]

class ReplayOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLAY_OUTCOME_UNSPECIFIED: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_REPLAYED: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_WOULD_REPLAY: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_ALREADY_DONE: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_FAILED: _ClassVar[ReplayOutcome]
RETARGET_OUTCOME_UNSPECIFIED: RetargetOutcome
RETARGET_OUTCOME_SENT: RetargetOutcome
RETARGET_OUTCOME_DELIVERED: RetargetOutcome
RETARGET_OUTCOME_READ: RetargetOutcome
RETARGET_OUTCOME_FAILED: RetargetOutcome
RETARGET_OUTCOME_LIMITED: RetargetOutcome
ENGAGEMENT_UNSPECIFIED: Engagement
ENGAGEMENT_YES: Engagement
ENGAGEMENT_NO: Engagement
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_DRAFT: JobState
JOB_STATE_SCHEDULED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_PAUSED: JobState
JOB_STATE_COMPLETED: JobState
JOB_STATE_CANCELLED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_WAITING: JobState
CONSENT_REQUIREMENT_UNSPECIFIED: ConsentRequirement
CONSENT_REQUIREMENT_NOT_OPTED_OUT: ConsentRequirement
CONSENT_REQUIREMENT_OPTED_IN: ConsentRequirement
REPLAY_OUTCOME_UNSPECIFIED: ReplayOutcome
REPLAY_OUTCOME_REPLAYED: ReplayOutcome
REPLAY_OUTCOME_WOULD_REPLAY: ReplayOutcome
REPLAY_OUTCOME_ALREADY_DONE: ReplayOutcome
REPLAY_OUTCOME_FAILED: ReplayOutcome

class BulkJob(_message.Message):
    __slots__ = ("name", "display_name", "channel", "category", "originations", "content", "contact_query", "inline_audience", "retarget", "schedule_time", "state", "audience_summary", "counts", "binding_rate", "estimated_duration", "report_uri", "failure_reason", "creator", "create_time", "start_time", "finish_time", "update_time", "etag", "track_links", "form", "resume_time", "state_reason", "budget_recipients", "estimated_finish_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ORIGINATIONS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_QUERY_FIELD_NUMBER: _ClassVar[int]
    INLINE_AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    RETARGET_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    BINDING_RATE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DURATION_FIELD_NUMBER: _ClassVar[int]
    REPORT_URI_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    TRACK_LINKS_FIELD_NUMBER: _ClassVar[int]
    FORM_FIELD_NUMBER: _ClassVar[int]
    RESUME_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    BUDGET_RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    channel: _messaging_service_pb2.Channel
    category: _messaging_service_pb2.Category
    originations: _containers.RepeatedScalarFieldContainer[str]
    content: _messaging_service_pb2.Content
    contact_query: ContactQuery
    inline_audience: InlineAudience
    retarget: RetargetAudience
    schedule_time: _timestamp_pb2.Timestamp
    state: JobState
    audience_summary: AudienceSummary
    counts: JobCounts
    binding_rate: float
    estimated_duration: _duration_pb2.Duration
    report_uri: str
    failure_reason: str
    creator: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    finish_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    track_links: bool
    form: str
    resume_time: _timestamp_pb2.Timestamp
    state_reason: str
    budget_recipients: int
    estimated_finish_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., channel: _Optional[_Union[_messaging_service_pb2.Channel, str]] = ..., category: _Optional[_Union[_messaging_service_pb2.Category, str]] = ..., originations: _Optional[_Iterable[str]] = ..., content: _Optional[_Union[_messaging_service_pb2.Content, _Mapping]] = ..., contact_query: _Optional[_Union[ContactQuery, _Mapping]] = ..., inline_audience: _Optional[_Union[InlineAudience, _Mapping]] = ..., retarget: _Optional[_Union[RetargetAudience, _Mapping]] = ..., schedule_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[JobState, str]] = ..., audience_summary: _Optional[_Union[AudienceSummary, _Mapping]] = ..., counts: _Optional[_Union[JobCounts, _Mapping]] = ..., binding_rate: _Optional[float] = ..., estimated_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., report_uri: _Optional[str] = ..., failure_reason: _Optional[str] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., track_links: _Optional[bool] = ..., form: _Optional[str] = ..., resume_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state_reason: _Optional[str] = ..., budget_recipients: _Optional[int] = ..., estimated_finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RetargetAudience(_message.Message):
    __slots__ = ("source_job", "outcomes", "clicked", "answered")
    SOURCE_JOB_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    source_job: str
    outcomes: _containers.RepeatedScalarFieldContainer[RetargetOutcome]
    clicked: Engagement
    answered: Engagement
    def __init__(self, source_job: _Optional[str] = ..., outcomes: _Optional[_Iterable[_Union[RetargetOutcome, str]]] = ..., clicked: _Optional[_Union[Engagement, str]] = ..., answered: _Optional[_Union[Engagement, str]] = ...) -> None: ...

class ContactQuery(_message.Message):
    __slots__ = ("tags", "search", "consent")
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedScalarFieldContainer[str]
    search: str
    consent: ConsentRequirement
    def __init__(self, tags: _Optional[_Iterable[str]] = ..., search: _Optional[str] = ..., consent: _Optional[_Union[ConsentRequirement, str]] = ...) -> None: ...

class InlineAudience(_message.Message):
    __slots__ = ("recipients",)
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    recipients: _containers.RepeatedCompositeFieldContainer[InlineRecipient]
    def __init__(self, recipients: _Optional[_Iterable[_Union[InlineRecipient, _Mapping]]] = ...) -> None: ...

class InlineRecipient(_message.Message):
    __slots__ = ("address", "display_name", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    address: str
    display_name: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, address: _Optional[str] = ..., display_name: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AudienceSummary(_message.Message):
    __slots__ = ("total_count", "recipient_count", "suppressed_count", "suppressed_by_reason", "complete")
    class SuppressedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    total_count: int
    recipient_count: int
    suppressed_count: int
    suppressed_by_reason: _containers.ScalarMap[str, int]
    complete: bool
    def __init__(self, total_count: _Optional[int] = ..., recipient_count: _Optional[int] = ..., suppressed_count: _Optional[int] = ..., suppressed_by_reason: _Optional[_Mapping[str, int]] = ..., complete: _Optional[bool] = ...) -> None: ...

class JobCounts(_message.Message):
    __slots__ = ("total", "pending", "sent", "delivered", "read", "failed", "suppressed", "unknown", "clicked", "clicks", "click_rate", "answered", "limited")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    CLICKS_FIELD_NUMBER: _ClassVar[int]
    CLICK_RATE_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    LIMITED_FIELD_NUMBER: _ClassVar[int]
    total: int
    pending: int
    sent: int
    delivered: int
    read: int
    failed: int
    suppressed: int
    unknown: int
    clicked: int
    clicks: int
    click_rate: float
    answered: int
    limited: int
    def __init__(self, total: _Optional[int] = ..., pending: _Optional[int] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., read: _Optional[int] = ..., failed: _Optional[int] = ..., suppressed: _Optional[int] = ..., unknown: _Optional[int] = ..., clicked: _Optional[int] = ..., clicks: _Optional[int] = ..., click_rate: _Optional[float] = ..., answered: _Optional[int] = ..., limited: _Optional[int] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("job", "validate_only")
    JOB_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    job: BulkJob
    validate_only: bool
    def __init__(self, job: _Optional[_Union[BulkJob, _Mapping]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[BulkJob]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[BulkJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StartJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class PauseJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResumeJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchJobResponse(_message.Message):
    __slots__ = ("name", "state", "counts", "current_rate", "eta", "audience_summary", "observe_time", "resume_time", "state_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RATE_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    OBSERVE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESUME_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: JobState
    counts: JobCounts
    current_rate: float
    eta: _duration_pb2.Duration
    audience_summary: AudienceSummary
    observe_time: _timestamp_pb2.Timestamp
    resume_time: _timestamp_pb2.Timestamp
    state_reason: str
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., counts: _Optional[_Union[JobCounts, _Mapping]] = ..., current_rate: _Optional[float] = ..., eta: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., audience_summary: _Optional[_Union[AudienceSummary, _Mapping]] = ..., observe_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resume_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state_reason: _Optional[str] = ...) -> None: ...

class DeadLetterChunk(_message.Message):
    __slots__ = ("id", "job", "chunk", "reason", "receive_count", "sent_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SENT_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    job: str
    chunk: int
    reason: str
    receive_count: int
    sent_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., job: _Optional[str] = ..., chunk: _Optional[int] = ..., reason: _Optional[str] = ..., receive_count: _Optional[int] = ..., sent_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDeadLetterChunksRequest(_message.Message):
    __slots__ = ("page_size",)
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    def __init__(self, page_size: _Optional[int] = ...) -> None: ...

class ListDeadLetterChunksResponse(_message.Message):
    __slots__ = ("dead_letters", "approximate_count")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    APPROXIMATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetterChunk]
    approximate_count: int
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetterChunk, _Mapping]]] = ..., approximate_count: _Optional[int] = ...) -> None: ...

class ReplayDeadLetterChunksRequest(_message.Message):
    __slots__ = ("dry_run", "max_count", "max_per_second")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    max_count: int
    max_per_second: float
    def __init__(self, dry_run: _Optional[bool] = ..., max_count: _Optional[int] = ..., max_per_second: _Optional[float] = ...) -> None: ...

class ReplayResult(_message.Message):
    __slots__ = ("dead_letter", "outcome", "detail")
    DEAD_LETTER_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    dead_letter: DeadLetterChunk
    outcome: ReplayOutcome
    detail: str
    def __init__(self, dead_letter: _Optional[_Union[DeadLetterChunk, _Mapping]] = ..., outcome: _Optional[_Union[ReplayOutcome, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class ReplayDeadLetterChunksResponse(_message.Message):
    __slots__ = ("results", "replayed_count", "already_done_count", "failed_count")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ALREADY_DONE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ReplayResult]
    replayed_count: int
    already_done_count: int
    failed_count: int
    def __init__(self, results: _Optional[_Iterable[_Union[ReplayResult, _Mapping]]] = ..., replayed_count: _Optional[int] = ..., already_done_count: _Optional[int] = ..., failed_count: _Optional[int] = ...) -> None: ...
