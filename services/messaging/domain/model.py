"""The messaging domain's records: outbound and inbound messages, their status order, status events, voice
calls, templates and conversations. Plain data, no I/O.

A message's content is kept as the plain dict of its proto form (`{"text": {"body": "hi"}}`, proto field
names), so the store keeps one document and the Meta message object is built from it (domain.meta)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Channel(StrEnum):
    WHATSAPP = "WHATSAPP"
    SMS = "SMS"
    EMAIL = "EMAIL"


class Category(StrEnum):
    MARKETING = "MARKETING"
    UTILITY = "UTILITY"
    AUTHENTICATION = "AUTHENTICATION"
    SERVICE = "SERVICE"


class Direction(StrEnum):
    OUTBOUND = "OUTBOUND"
    INBOUND = "INBOUND"


class Status(StrEnum):
    ACCEPTED = "ACCEPTED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
    WITHDRAWN = "WITHDRAWN"
    UNKNOWN = "UNKNOWN"
    RECEIVED = "RECEIVED"
    LIMITED = "LIMITED"  # 131049, Meta's per-user marketing limit: not delivered; a re-attempt is its own message


# Statuses only move forward. UNKNOWN sits just above ACCEPTED: a later status event still applies to it.
STATUS_RANK = {
    Status.ACCEPTED: 10,
    Status.UNKNOWN: 15,
    Status.SENT: 20,
    Status.DELIVERED: 30,
    Status.READ: 40,
}
TERMINAL = frozenset({Status.FAILED, Status.WITHDRAWN, Status.LIMITED})
FAILURES = frozenset({Status.FAILED, Status.LIMITED})  # what a failed status event may leave a message in
# What a SendMessages stream waits for: the dispatch is over for the message.
SETTLED = frozenset(
    {Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED, Status.WITHDRAWN, Status.UNKNOWN, Status.LIMITED}
)


def advances(current: Status, new: Status) -> bool:
    """Whether a status event moves a message from `current` to `new` (forward only; failed is terminal and
    cannot follow read; a status event withdraws only as as_applied reads a 132015)."""
    if current in TERMINAL or current == new:
        return False
    if new in FAILURES or new == Status.WITHDRAWN:
        return current != Status.READ
    if new not in STATUS_RANK or current not in STATUS_RANK:
        return False
    return STATUS_RANK[new] > STATUS_RANK[current]


class Lane(IntEnum):
    """Dispatch order on one sending phone: customer-initiated conversation traffic goes first."""

    CONVERSATION = 0  # inside the 24-hour window opened by the customer
    SINGLE = 1  # one-off sends (SendMessage)
    BULK = 2  # streamed sends (SendMessages)


@dataclass(frozen=True)
class MessageError:
    code: str
    title: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "title": self.title, "detail": self.detail}

    @staticmethod
    def from_dict(data: dict[str, Any] | None) -> MessageError | None:
        if not data or not data.get("code"):
            return None
        return MessageError(data["code"], data.get("title", ""), data.get("detail", ""))


@dataclass(frozen=True)
class OutboundMessage:
    id: str
    channel: Channel
    category: Category
    origination: str  # the resolved phone number id / SMS origination identity / email sender
    recipient: str  # E.164 or email
    content: dict[str, Any]
    create_time: float
    contact_id: str = ""
    idempotency_key: str = ""
    reply_to: str = ""  # a message id
    lane: Lane = Lane.SINGLE
    batch_id: str = ""  # the SendMessages stream that accepted it
    status: Status = Status.ACCEPTED
    error: MessageError | None = None
    provider_message_id: str = ""
    attempts: int = 0
    due_time: float = 0.0  # not before (retry backoff)
    handoff_time: float | None = None  # durably marked before the provider call; None while queued
    send_time: float | None = None
    deliver_time: float | None = None
    read_time: float | None = None
    update_time: float = 0.0
    former_idempotency_key: str = ""  # the key it had before it was withdrawn and the key was accepted anew
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the media id used, the SES message id

    @property
    def name(self) -> str:
        return f"messages/{self.id}"

    @property
    def callback_data(self) -> str:
        """What the provider carries back in status events (`biz_opaque_callback_data`, the SMS context)."""
        return f"{self.id}|{self.idempotency_key}" if self.idempotency_key else self.id

    @property
    def in_flight(self) -> bool:
        return self.status == Status.ACCEPTED and self.handoff_time is not None

    @property
    def queued(self) -> bool:
        return self.status == Status.ACCEPTED and self.handoff_time is None

    def replace(self, **changes: Any) -> OutboundMessage:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class MessageState:
    """The changing part of an outbound message: what a streamed send follows."""

    id: str
    status: Status
    update_time: float
    provider_message_id: str = ""
    error: MessageError | None = None
    reattempt_key: str = ""  # LIMITED: its re-attempt's key, once one is queued
    reattempt_due: float = 0.0

    @property
    def name(self) -> str:
        return f"messages/{self.id}"


def state_of(m: OutboundMessage) -> MessageState:
    return MessageState(
        m.id,
        m.status,
        m.update_time,
        m.provider_message_id,
        m.error,
        str(m.extra.get("reattempt_key", "")),
        float(m.extra.get("reattempt_due") or 0.0),
    )


def message_id_of(callback_data: str) -> str:
    """The message id inside `biz_opaque_callback_data` (`<id>` or `<id>|<idempotency key>`)."""
    return callback_data.split("|", 1)[0]


@dataclass(frozen=True)
class InboundMessage:
    id: str
    channel: Channel
    origination: str  # our phone number id (AWS form, `phone-number-id-...`)
    customer: str  # E.164 of who wrote
    provider_message_id: str  # wamid
    content: dict[str, Any]
    receive_time: float  # when the customer sent it (Meta's timestamp): opens the 24-hour window
    contact_id: str = ""
    profile_name: str = ""
    reply_to_provider_id: str = ""  # context.id: the wamid it answers
    create_time: float = 0.0  # when we stored it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"messages/{self.id}"


@dataclass(frozen=True)
class StatusEvent:
    """A provider's statement about an outbound message (EUM Social `statuses[]`, or our own send result)."""

    provider_message_id: str  # wamid
    status: Status  # SENT, DELIVERED, READ or FAILED
    time: float
    callback_data: str = ""
    recipient: str = ""
    error: MessageError | None = None
    origination: str = ""


@dataclass(frozen=True)
class SendResult:
    """What one provider call ended with, as the dispatcher records it."""

    message_id: str
    outcome: str  # "sent" | "failed" | "retry" | "in_doubt" | "withdrawn" (stopped at the call, never called)
    time: float
    provider_message_id: str = ""
    error: MessageError | None = None
    retry_at: float = 0.0  # for "retry"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AcceptOutcome:
    message: OutboundMessage
    duplicate: bool  # the key matched an earlier message that was not withdrawn: nothing new


@dataclass(frozen=True)
class Conversation:
    id: str  # `<channel>-<address>`, e.g. `whatsapp-919812345678`
    channel: Channel
    customer: str
    update_time: float
    last_message_id: str = ""
    last_direction: Direction = Direction.OUTBOUND
    contact_id: str = ""
    profile_name: str = ""
    unanswered_count: int = 0

    @property
    def name(self) -> str:
        return f"conversations/{self.id}"


def conversation_id(channel: Channel, customer: str) -> str:
    address = customer.lstrip("+") if channel != Channel.EMAIL else customer.lower()
    return f"{channel.value.lower()}-{address}"


def touched_by_inbound(message: InboundMessage) -> Conversation:
    """What a newly stored inbound message says of its conversation (each store merges it with what it holds)."""
    return Conversation(
        id=conversation_id(message.channel, message.customer),
        channel=message.channel,
        customer=message.customer,
        update_time=message.receive_time,
        last_message_id=message.id,
        last_direction=Direction.INBOUND,
        contact_id=message.contact_id,
        profile_name=message.profile_name,
        unanswered_count=1,
    )


@dataclass(frozen=True)
class VoiceCall:
    id: str
    call_id: str  # Meta's
    event: str
    direction: Direction
    origination: str
    customer: str
    time: float
    call_status: str = ""
    start_time: float | None = None
    end_time: float | None = None
    duration_seconds: int = 0
    contact_id: str = ""

    @property
    def name(self) -> str:
        return f"voiceCalls/{self.id}"


@dataclass(frozen=True)
class Template:
    template_name: str
    language: str
    category: Category
    template_status: str
    waba: str
    meta_template_id: str = ""
    body_text: str = ""
    body_variables: tuple[str, ...] = ()
    header_variables: tuple[str, ...] = ()
    header_media_kind: str = ""  # IMAGE | VIDEO | DOCUMENT | ""
    dynamic_buttons: tuple[int, ...] = ()
    sync_time: float = 0.0
    # The lifecycle (domain.templates): what was submitted (Meta's components, its variables' examples), why the
    # status is what it is (a rejection's reason, a pause's), the category before Meta changed it, when the
    # status last moved (events older than that change nothing).
    components: tuple[dict[str, Any], ...] = ()
    parameter_format: str = "POSITIONAL"  # POSITIONAL ({{1}}) | NAMED ({{first_name}})
    status_reason: str = ""
    previous_category: str = ""
    upcoming_category: str = ""  # Meta's notice: the category it will take (template_category_update)
    status_time: float = 0.0
    update_time: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.template_name}.{self.language}"

    @property
    def name(self) -> str:
        return f"templates/{self.key}"


TEMPLATE_PAUSED_REFUSAL = "132015"  # Meta refused a template message: its template is paused


def as_applied(m: OutboundMessage, event: StatusEvent) -> StatusEvent:
    """What a status event means for this message. Meta refusing a keyed message because its template is paused
    (132015: it was handed over between Meta's pause and the dispatcher learning of it) is no failure of the
    recipient: it is withdrawn, TEMPLATE_PAUSED, as the check before the call would have withdrawn it, which frees
    its key, so its sender sends it once more under the key when the template is reinstated (bulk: ResumeJob).
    Unkeyed, nobody would send it again: it stays failed with Meta's code. 132016 (disabled) stays failed."""
    if (
        event.status != Status.FAILED
        or event.error is None
        or event.error.code != TEMPLATE_PAUSED_REFUSAL
        or not m.idempotency_key
    ):
        return event
    body = m.content.get("template") or {}
    template = f"{body.get('template_name', '')}.{body.get('language', '')}"
    # Titled as the check before the call titles it (the job's reason names the template), Meta's words after.
    why = f"template {template} is PAUSED: Meta refused the send ({TEMPLATE_PAUSED_REFUSAL})"
    error = MessageError("TEMPLATE_PAUSED", why, event.error.title or event.error.detail)
    return dataclasses.replace(event, status=Status.WITHDRAWN, error=error)
