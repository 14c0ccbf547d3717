"""MessagingService's inbound RPCs: IngestEvents, ListMessages, ListConversations, WatchConversations,
DeleteMessage, ListVoiceCalls, ListDeadLetters, ReplayDeadLetters. Protobuf in, calls into inbound/, protobuf
out. Composed with the outbound RPCs (servicer.py) into the one MessagingService servicer in main.py."""

from __future__ import annotations

import contextlib
import heapq
import time
from typing import Any

from google.protobuf import empty_pb2

from runtime import phones
from runtime.calls import note_change
from runtime.errors import FieldViolation, InvalidArgument, NotFound, Unavailable
from runtime.names import parse_name, timestamp
from runtime.pagination import page_size
from services.messaging.adapters.codec import inbound_from_dict, outbound_from_dict, voice_call_from_dict
from services.messaging.domain.inbound import Change, ChangeKind
from services.messaging.domain.model import (
    Channel,
    Conversation,
    Direction,
    InboundMessage,
    OutboundMessage,
    VoiceCall,
    conversation_id,
)
from services.messaging.domain.rules import EMAIL, WINDOW_SECONDS
from services.messaging.inbound import dead_letters as dl
from services.messaging.inbound.feed import WatcherFellBehind
from services.messaging.inbound.ingest import InboundEvent
from services.messaging.inbound.wiring import InboundParts
from services.messaging.servicer import CHANNELS, CHANNELS_PB, inbound_to_proto, outbound_to_proto
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc

MAX_EVENTS = 500
MAX_PAYLOAD = 1_048_576
MAX_SNS_ID = 256
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


def _position(token: str, tokens, scope: str) -> tuple[float, str] | None:
    if not token:
        return None
    value = tokens.decode(scope, token)
    if not (isinstance(value, list) and len(value) == 2):
        raise InvalidArgument("page_token", "not a page token of this query")
    return float(value[0]), str(value[1])


class InboundRpcs(messaging_service_pb2_grpc.MessagingServiceServicer):
    def __init__(self, parts: InboundParts):
        self._inbound_parts = parts

    # --- the ingest seam ------------------------------------------------------------------------------
    async def IngestEvents(self, request: pb.IngestEventsRequest, context) -> pb.IngestEventsResponse:
        bad: list[FieldViolation] = []
        if not request.events:
            bad.append(FieldViolation("events", "required: at least one event"))
        elif len(request.events) > MAX_EVENTS:
            bad.append(FieldViolation("events", f"at most {MAX_EVENTS} events a call"))
        for i, e in enumerate(request.events[:MAX_EVENTS]):
            if not e.sns_message_id.strip() or len(e.sns_message_id) > MAX_SNS_ID:
                bad.append(FieldViolation(f"events[{i}].sns_message_id", f"required, at most {MAX_SNS_ID} characters"))
            if not e.payload:
                bad.append(FieldViolation(f"events[{i}].payload", "required: the EUM Social event JSON"))
            elif len(e.payload) > MAX_PAYLOAD:
                bad.append(FieldViolation(f"events[{i}].payload", f"at most {MAX_PAYLOAD} bytes"))
        if bad:
            raise InvalidArgument(bad)
        events = [InboundEvent(e.sns_message_id, e.payload, e.source) for e in request.events]
        results = await self._inbound_parts.ingest.ingest(events)
        counts: dict[str, int] = {}
        for r in results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        note_change("events", None, {k.lower(): v for k, v in sorted(counts.items())})
        return pb.IngestEventsResponse(
            results=[
                pb.IngestResult(
                    sns_message_id=r.sns_message_id,
                    outcome=OUTCOMES_PB[r.outcome],
                    detail=r.detail,
                    messages=r.messages,
                )
                for r in results
            ]
        )

    # --- conversations ------------------------------------------------------------------------------
    async def _customers(self, request: pb.ListMessagesRequest) -> list[str]:
        parts = self._inbound_parts
        if bool(request.contact) == bool(request.customer):
            raise InvalidArgument("contact", "give exactly one of contact (`contacts/{id}`) and customer")
        if request.customer:
            return [_address(request.customer, parts.settings.default_phone_region, "customer")]
        parse_name(request.contact, "contacts", "contact")
        try:
            found = await parts.contacts.by_contact("WHATSAPP", request.contact)
        except NotFound:
            raise NotFound(f"{request.contact} does not exist") from None
        return [a for a in (found.phone_number, found.email) if a]

    async def ListMessages(self, request: pb.ListMessagesRequest, context) -> pb.ListMessagesResponse:
        parts = self._inbound_parts
        size = page_size(request.page_size, 50, 500)
        channel = _channel(request.channel)
        customers = await self._customers(request)
        scope = f"messages:{','.join(customers)}:{request.channel}"
        before = _position(request.page_token, parts.tokens, scope)
        found: list[tuple[float, str, Any]] = []
        for customer in customers:
            if channel in (None, Channel.WHATSAPP):
                for m in await parts.inbound_store.list_for_customer(channel, customer, before, size + 1):
                    found.append((m.receive_time, m.id, m))
            for o in await parts.outbound_store.list_for_customer(channel, customer, before, size + 1):
                found.append((o.create_time, o.id, o))
        page = heapq.nlargest(size + 1, found, key=lambda item: (item[0], item[1]))
        token = parts.tokens.encode(scope, [page[size - 1][0], page[size - 1][1]]) if len(page) > size else ""
        return pb.ListMessagesResponse(messages=[_message_proto(m) for _, _, m in page[:size]], next_page_token=token)

    async def ListConversations(self, request: pb.ListConversationsRequest, context) -> pb.ListConversationsResponse:
        parts = self._inbound_parts
        size = page_size(request.page_size, 50, 500)
        scope = f"conversations:{request.channel}"
        before = _position(request.page_token, parts.tokens, scope)
        found = await parts.inbound_store.list_conversations(_channel(request.channel), before, size + 1)
        token = ""
        if len(found) > size:
            last = found[size - 1]
            token = parts.tokens.encode(scope, [last.update_time, last.id])
        now = time.time()
        return pb.ListConversationsResponse(
            conversations=[await self._conversation(c, now) for c in found[:size]], next_page_token=token
        )

    async def _conversation(self, c: Conversation, now: float) -> pb.Conversation:
        parts = self._inbound_parts
        out = pb.Conversation(
            name=c.name,
            channel=CHANNELS_PB[c.channel],
            customer=c.customer,
            contact=f"contacts/{c.contact_id}" if c.contact_id else "",
            profile_name=c.profile_name,
            unanswered_count=c.unanswered_count,
            update_time=timestamp(c.update_time),
        )
        if c.last_message_id:
            last: InboundMessage | OutboundMessage | None
            if c.last_direction == Direction.INBOUND:
                last = await parts.inbound_store.get(c.last_message_id)
            else:
                last = await parts.outbound_store.get(c.last_message_id)
            if last is not None:
                out.last_message.CopyFrom(_message_proto(last))
        if c.channel == Channel.WHATSAPP:
            latest = await parts.inbound_store.list_for_customer(Channel.WHATSAPP, c.customer, None, 1)
            if latest and latest[0].receive_time + WINDOW_SECONDS > now:
                out.window_expire_time.CopyFrom(timestamp(latest[0].receive_time + WINDOW_SECONDS))
        return out

    async def WatchConversations(self, request: pb.WatchConversationsRequest, context):
        wanted = ""
        if request.conversation:
            head, _, wanted = request.conversation.partition("/")
            if head != "conversations" or not wanted:
                raise InvalidArgument("conversation", "`conversations/{channel}-{address}`")
        kinds = {ChangeKind.MESSAGE_RECEIVED, ChangeKind.VOICE_CALL}
        if request.include_status_changes:
            kinds.add(ChangeKind.STATUS_CHANGED)
        async with self._inbound_parts.feed.watch() as changes:
            await context.send_initial_metadata(())  # the watch is live: a caller may act and expect to see it
            try:
                async for change in changes:
                    if change.kind in kinds and (not wanted or change.conversation_id == wanted):
                        yield _event_proto(change)
            except WatcherFellBehind as exc:
                raise Unavailable(str(exc)) from None

    async def DeleteMessage(self, request: pb.DeleteMessageRequest, context):
        parts = self._inbound_parts
        message_id = parse_name(request.name, "messages")
        inbound = await parts.inbound_store.get(message_id)
        outbound = None if inbound is not None else await parts.outbound_store.get(message_id)
        if inbound is None and outbound is None:
            raise NotFound(f"{request.name} does not exist")
        target = inbound or outbound
        assert target is not None
        for key in _own_media(target):
            await parts.media.delete(key)  # first: a message never outlives its media's deletion unnoticed
        if inbound is not None:
            await parts.inbound_store.delete(message_id)
        else:
            await parts.outbound_store.delete(message_id)
        direction = "INBOUND" if inbound is not None else "OUTBOUND"
        note_change(request.name, {"direction": direction, "channel": target.channel.value}, None)
        return empty_pb2.Empty()

    async def ListVoiceCalls(self, request: pb.ListVoiceCallsRequest, context) -> pb.ListVoiceCallsResponse:
        parts = self._inbound_parts
        size = page_size(request.page_size, 50, 500)
        customer = (
            _address(request.customer, parts.settings.default_phone_region, "customer") if request.customer else ""
        )
        scope = f"voiceCalls:{customer}"
        before = _position(request.page_token, parts.tokens, scope)
        found = await parts.inbound_store.list_voice_calls(customer, before, size + 1)
        token = parts.tokens.encode(scope, [found[size - 1].time, found[size - 1].id]) if len(found) > size else ""
        return pb.ListVoiceCallsResponse(
            voice_calls=[voice_call_to_proto(c) for c in found[:size]], next_page_token=token
        )

    # --- dead letters -------------------------------------------------------------------------------
    async def ListDeadLetters(self, request: pb.ListDeadLettersRequest, context) -> pb.ListDeadLettersResponse:
        queue = _queue(request.queue)
        size = page_size(request.page_size, 10, 100)
        letters, count = await self._inbound_parts.dead_letters.peek(queue, size)
        return pb.ListDeadLettersResponse(
            dead_letters=[dead_letter_to_proto(letter) for letter in letters], approximate_count=count
        )

    async def ReplayDeadLetters(self, request: pb.ReplayDeadLettersRequest, context):
        queue = _queue(request.queue)
        bad = []
        if request.max_count < 0 or request.max_count > 10_000:
            bad.append(FieldViolation("max_count", "0 (the default, 100) to 10,000"))
        if request.max_per_second < 0 or request.max_per_second > 1000:
            bad.append(FieldViolation("max_per_second", "0 (the default, 10) to 1,000 a second"))
        if bad:
            raise InvalidArgument(bad)
        max_count = request.max_count or 100
        per_second = request.max_per_second or 10.0
        note_change(
            f"deadLetters/{queue}-dlq:replay",
            None,
            {"dry_run": request.dry_run, "max_count": max_count, "max_per_second": per_second},
        )
        counts = {dl.REPLAYED: 0, dl.ALREADY_DONE: 0, dl.FAILED: 0, dl.WOULD_REPLAY: 0}
        steps = self._inbound_parts.dead_letters.replay(
            queue, dry_run=request.dry_run, max_count=max_count, per_second=per_second
        )
        async with contextlib.aclosing(steps):
            async for step in steps:
                counts[step.outcome] += 1
                yield pb.ReplayDeadLettersResponse(
                    results=[
                        pb.ReplayResult(
                            dead_letter=dead_letter_to_proto(step.letter),
                            outcome=REPLAY_PB[step.outcome],
                            detail=step.detail,
                        )
                    ],
                    replayed_count=counts[dl.REPLAYED],
                    already_done_count=counts[dl.ALREADY_DONE],
                    failed_count=counts[dl.FAILED],
                )


def _channel(value: int) -> Channel | None:
    if value == pb.CHANNEL_UNSPECIFIED:
        return None
    if value not in CHANNELS:
        raise InvalidArgument("channel", "WHATSAPP, SMS or EMAIL")
    return CHANNELS[value]


def _queue(value: int) -> str:
    if value not in QUEUES:
        raise InvalidArgument("queue", "required: WHATSAPP_INBOUND, INBOUND or OUTBOUND")
    return QUEUES[value]


def _address(raw: str, region: str, field: str) -> str:
    text = raw.strip()
    if "@" in text:
        if not EMAIL.match(text):
            raise InvalidArgument(field, f"{raw!r} is neither a phone number nor an email address")
        return text.lower()
    normal = phones.e164(text, region)
    if normal is None:
        raise InvalidArgument(field, f"{raw!r} is neither a phone number nor an email address")
    return normal


def _message_proto(m: InboundMessage | OutboundMessage) -> pb.Message:
    return inbound_to_proto(m) if isinstance(m, InboundMessage) else outbound_to_proto(m)


def _own_media(m: InboundMessage | OutboundMessage) -> list[str]:
    """The media objects that are this message's alone: an inbound copy; an outbound upload unless the message
    went out in a batch (SendMessages sends one upload to many recipients: it stays for the others)."""
    media = m.content.get("media") or {}
    key = media.get("media_key", "")
    if not key or (isinstance(m, OutboundMessage) and m.batch_id):
        return []
    return [key]


def _event_proto(change: Change) -> pb.WatchConversationsResponse:
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
