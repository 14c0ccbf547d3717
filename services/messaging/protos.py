"""MessagingService's protobuf <-> the domain's records: drafts from requests, messages, templates, send
progress, voice calls, dead letters and inbox events to responses, and the enum tables between them."""

from __future__ import annotations

from google.protobuf import json_format

from runtime.names import timestamp
from services.messaging.adapters.codec import inbound_from_dict, outbound_from_dict, voice_call_from_dict
from services.messaging.domain.inbound import Change, ChangeKind
from services.messaging.domain.model import (
    Category,
    Channel,
    Direction,
    InboundMessage,
    MessageError,
    MessageState,
    OutboundMessage,
    Status,
    VoiceCall,
    conversation_id,
    state_of,
)
from services.messaging.domain.rules import Draft
from services.messaging.inbound import dead_letters as dl
from services.messaging.outbound.progress import Item, Progress
from wecare.messaging.v1 import messaging_service_pb2 as pb

CHANNELS = {pb.CHANNEL_WHATSAPP: Channel.WHATSAPP, pb.CHANNEL_SMS: Channel.SMS, pb.CHANNEL_EMAIL: Channel.EMAIL}
CHANNELS_PB = {v: k for k, v in CHANNELS.items()}
CATEGORIES = {
    pb.CATEGORY_MARKETING: Category.MARKETING,
    pb.CATEGORY_UTILITY: Category.UTILITY,
    pb.CATEGORY_AUTHENTICATION: Category.AUTHENTICATION,
    pb.CATEGORY_SERVICE: Category.SERVICE,
}
CATEGORIES_PB = {v: k for k, v in CATEGORIES.items()}
STATUSES_PB = {
    Status.ACCEPTED: pb.STATUS_ACCEPTED,
    Status.SENT: pb.STATUS_SENT,
    Status.DELIVERED: pb.STATUS_DELIVERED,
    Status.READ: pb.STATUS_READ,
    Status.FAILED: pb.STATUS_FAILED,
    Status.WITHDRAWN: pb.STATUS_WITHDRAWN,
    Status.UNKNOWN: pb.STATUS_UNKNOWN,
    Status.RECEIVED: pb.STATUS_RECEIVED,
    Status.LIMITED: pb.STATUS_LIMITED,
}
SHOWS_ERROR = frozenset({Status.FAILED, Status.UNKNOWN, Status.LIMITED, Status.WITHDRAWN})  # withdrawn: why, if known
MEDIA_KINDS_PB = {
    "IMAGE": pb.MEDIA_KIND_IMAGE,
    "VIDEO": pb.MEDIA_KIND_VIDEO,
    "DOCUMENT": pb.MEDIA_KIND_DOCUMENT,
    "AUDIO": pb.MEDIA_KIND_AUDIO,
    "STICKER": pb.MEDIA_KIND_STICKER,
}
OUTCOMES_PB = {
    "APPLIED": pb.INGEST_OUTCOME_APPLIED,
    "DUPLICATE": pb.INGEST_OUTCOME_DUPLICATE,
    "REJECTED": pb.INGEST_OUTCOME_REJECTED,
    "DEAD_LETTERED": pb.INGEST_OUTCOME_DEAD_LETTERED,
}
QUEUES = {
    pb.DEAD_LETTER_QUEUE_WHATSAPP_INBOUND: dl.WHATSAPP_INBOUND,
    pb.DEAD_LETTER_QUEUE_INBOUND: dl.INBOUND,
    pb.DEAD_LETTER_QUEUE_OUTBOUND: dl.OUTBOUND,
}
REPLAY_PB = {
    dl.REPLAYED: pb.REPLAY_OUTCOME_REPLAYED,
    dl.WOULD_REPLAY: pb.REPLAY_OUTCOME_WOULD_REPLAY,
    dl.ALREADY_DONE: pb.REPLAY_OUTCOME_ALREADY_DONE,
    dl.FAILED: pb.REPLAY_OUTCOME_FAILED,
}
KINDS_PB = {
    ChangeKind.MESSAGE_RECEIVED: pb.CONVERSATION_EVENT_KIND_MESSAGE_RECEIVED,
    ChangeKind.STATUS_CHANGED: pb.CONVERSATION_EVENT_KIND_STATUS_CHANGED,
    ChangeKind.VOICE_CALL: pb.CONVERSATION_EVENT_KIND_VOICE_CALL,
}
DIRECTIONS_PB = {Direction.INBOUND: pb.DIRECTION_INBOUND, Direction.OUTBOUND: pb.DIRECTION_OUTBOUND}


def _content_of(content: pb.Content) -> dict:
    out = json_format.MessageToDict(content, preserving_proto_field_name=True)
    # An empty kind (`{"text": {}}`) is still that kind: keep it so validation names its fields.
    kind = content.WhichOneof("kind")
    if kind and kind not in out:
        out[kind] = {}
    return out


def draft_of(message: pb.Message, contents: dict[bytes, dict] | None = None) -> Draft:
    """The message as the domain reads it. `contents` shares the (read-only) content of identical messages within
    one request: a bulk send repeats one template, and proto -> dict conversion was a tenth of accepting it."""
    if contents is None:
        content = _content_of(message.content)
    else:
        key = message.content.SerializeToString(deterministic=True)
        content = contents.get(key)
        if content is None:
            content = contents[key] = _content_of(message.content)
    return Draft(
        channel=CHANNELS.get(message.channel),
        category=CATEGORIES.get(message.category),
        recipient=message.recipient,
        content=content,
        origination=message.origination,
        contact=message.contact,
        idempotency_key=message.idempotency_key,
        reply_to=message.reply_to,
        track_links=message.track_links,
        job=message.job,
    )


def error_to_proto(error: MessageError | None) -> pb.MessageError | None:
    return pb.MessageError(code=error.code, title=error.title, detail=error.detail) if error else None


def _content(content: dict) -> pb.Content:
    return json_format.ParseDict(content, pb.Content(), ignore_unknown_fields=True)


def outbound_to_proto(m: OutboundMessage) -> pb.Message:
    return pb.Message(
        name=m.name,
        direction=pb.DIRECTION_OUTBOUND,
        channel=CHANNELS_PB[m.channel],
        category=CATEGORIES_PB[m.category],
        origination=m.origination,
        recipient=m.recipient,
        contact=f"contacts/{m.contact_id}" if m.contact_id else "",
        content=_content(m.content),
        status=STATUSES_PB[m.status],
        error=error_to_proto(m.error),
        provider_message_id=m.provider_message_id,
        idempotency_key=m.idempotency_key,
        reply_to=f"messages/{m.reply_to}" if m.reply_to else "",
        conversation_reply=int(m.lane) == 0,
        attempts=m.attempts,
        create_time=timestamp(m.create_time),
        send_time=timestamp(m.send_time),
        deliver_time=timestamp(m.deliver_time),
        read_time=timestamp(m.read_time),
        update_time=timestamp(m.update_time or m.create_time),
        conversation=f"conversations/{conversation_id(m.channel, m.recipient)}",
        track_links=bool(m.extra.get("track_links")),
        job=m.extra.get("job", ""),
        reattempt=f"messages/{m.extra['reattempt']}" if m.extra.get("reattempt") else "",
        reattempt_of=f"messages/{m.extra['reattempt_of']}" if m.extra.get("reattempt_of") else "",
    )


def inbound_to_proto(m: InboundMessage) -> pb.Message:
    out = _inbound_to_proto(m)
    if out.content.HasField("interactive"):  # a Flow's answer: what commerce made of it
        out.content.interactive.form_response = m.extra.get("form_response", "")
        out.content.interactive.form_error = m.extra.get("form_error", "")
    return out


def _inbound_to_proto(m: InboundMessage) -> pb.Message:
    return pb.Message(
        name=m.name,
        direction=pb.DIRECTION_INBOUND,
        channel=CHANNELS_PB[m.channel],
        category=pb.CATEGORY_SERVICE,
        origination=m.origination,
        recipient=m.customer,
        contact=f"contacts/{m.contact_id}" if m.contact_id else "",
        content=_content(m.content),
        status=pb.STATUS_RECEIVED,
        provider_message_id=m.provider_message_id,
        create_time=timestamp(m.receive_time),
        update_time=timestamp(m.create_time or m.receive_time),
        conversation=f"conversations/{conversation_id(m.channel, m.customer)}",
    )


def message_to_proto(m: InboundMessage | OutboundMessage) -> pb.Message:
    return inbound_to_proto(m) if isinstance(m, InboundMessage) else outbound_to_proto(m)


def state_to_proto(m: OutboundMessage) -> pb.MessageState:
    state = pb.MessageState(
        idempotency_key=m.idempotency_key,
        message=m.name,
        status=STATUSES_PB[m.status],
        provider_message_id=m.provider_message_id,
        update_time=timestamp(m.update_time or m.create_time),
    )
    if m.error and m.status in SHOWS_ERROR:
        state.error.CopyFrom(error_to_proto(m.error))
    if m.extra.get("reattempt_key"):
        state.reattempt_key = m.extra["reattempt_key"]
        state.reattempt_time.CopyFrom(timestamp(float(m.extra.get("reattempt_due") or 0)))
    return state


def result_of(item: Item) -> pb.SendResult:
    out = pb.SendResult(index=item.index, duplicate=item.duplicate)
    if item.refusal is not None:
        out.refusal.CopyFrom(item.refusal.to_status())
        return out
    m = item.message
    assert m is not None
    out.message = m.name
    out.status = STATUSES_PB[m.status]
    out.provider_message_id = m.provider_message_id
    if m.error and m.status in SHOWS_ERROR:
        out.error.CopyFrom(error_to_proto(m.error))
    state = m if isinstance(m, MessageState) else state_of(m)
    if state.reattempt_key:
        out.reattempt_key = state.reattempt_key
        out.reattempt_time.CopyFrom(timestamp(state.reattempt_due))
    return out


def progress_to_proto(p: Progress) -> pb.SendMessagesResponse:
    t = p.totals
    return pb.SendMessagesResponse(
        results=[result_of(i) for i in p.changed],
        totals=pb.SendTotals(
            requested=int(t["requested"]),
            accepted=int(t["accepted"]),
            refused=int(t["refused"]),
            sent=int(t["sent"]),
            failed=int(t["failed"]),
            withdrawn=int(t["withdrawn"]),
            unknown=int(t["unknown"]),
            limited=int(t.get("limited", 0)),
            pending=int(t["pending"]),
            current_rate=t["current_rate"],
        ),
    )


def voice_call_to_proto(c: VoiceCall) -> pb.VoiceCall:
    return pb.VoiceCall(
        name=c.name,
        call_id=c.call_id,
        direction=DIRECTIONS_PB[c.direction],
        origination=c.origination,
        customer=c.customer,
        contact=f"contacts/{c.contact_id}" if c.contact_id else "",
        event=c.event,
        call_status=c.call_status,
        start_time=timestamp(c.start_time),
        end_time=timestamp(c.end_time),
        duration_seconds=c.duration_seconds,
        conversation=f"conversations/{conversation_id(Channel.WHATSAPP, c.customer)}",
    )


def dead_letter_to_proto(letter: dl.Letter) -> pb.DeadLetter:
    return pb.DeadLetter(
        id=letter.id,
        body=letter.body,
        reason=letter.reason,
        message=letter.message,
        receive_count=letter.receive_count,
        sent_time=timestamp(letter.sent_time) if letter.sent_time else None,
    )


def event_to_proto(change: Change) -> pb.WatchConversationsResponse:
    out = pb.WatchConversationsResponse(
        kind=KINDS_PB[change.kind],
        conversation=f"conversations/{change.conversation_id}",
        event_time=timestamp(change.time),
    )
    if change.kind == ChangeKind.MESSAGE_RECEIVED:
        out.message.CopyFrom(inbound_to_proto(inbound_from_dict(change.record)))
    elif change.kind == ChangeKind.STATUS_CHANGED:
        out.message.CopyFrom(outbound_to_proto(outbound_from_dict(change.record)))
    else:
        out.voice_call.CopyFrom(voice_call_to_proto(voice_call_from_dict(change.record)))
    return out
