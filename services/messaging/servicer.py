"""MessagingService: the one servicer of the proto service, built from the use cases (outbound/, inbound/):
protobuf in (checked, naming the field), a use case called, protobuf out (protos.py). Every RPC is here; what an
RPC does is its use case's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from google.protobuf import empty_pb2

from runtime import ids
from runtime.calls import note_change
from runtime.errors import FieldViolation, InvalidArgument, Unavailable
from runtime.names import parse_name, timestamp
from runtime.pagination import PageTokens, page_size
from services.messaging.domain.inbound import ChangeKind
from services.messaging.domain.model import Channel, InboundMessage
from services.messaging.inbound import dead_letters as dl
from services.messaging.inbound.dead_letters import DeadLetters
from services.messaging.inbound.feed import ConversationFeed, WatcherFellBehind
from services.messaging.inbound.inbox import ConversationView, Inbox, address
from services.messaging.inbound.ingest import InboundEvent, Ingest
from services.messaging.outbound.media import MediaUploads
from services.messaging.outbound.sends import Sends
from services.messaging.outbound.template_lifecycle import TemplateLifecycle
from services.messaging.outbound.templates import Templates
from services.messaging.outbound.tier_view import TierReader
from services.messaging.outbound.tracking import Tracking
from services.messaging.outbound.withdrawal import Withdrawals
from services.messaging.protos import (
    CHANNELS,
    CHANNELS_PB,
    OUTCOMES_PB,
    QUEUES,
    REPLAY_PB,
    dead_letter_to_proto,
    draft_of,
    event_to_proto,
    message_to_proto,
    outbound_to_proto,
    progress_to_proto,
    state_to_proto,
    voice_call_to_proto,
)
from services.messaging.template_protos import changes_of, library_of, template_to_proto, tier_to_proto
from services.messaging.template_protos import draft_of as template_draft_of
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc

MAX_EVENTS = 500
MAX_PAYLOAD = 1_048_576
MAX_SNS_ID = 256


@dataclass(frozen=True)
class UseCases:
    """What the RPCs call (main.py builds them)."""

    sends: Sends
    withdrawals: Withdrawals
    templates: Templates
    lifecycle: TemplateLifecycle
    tier: TierReader
    uploads: MediaUploads
    inbox: Inbox
    ingest: Ingest
    feed: ConversationFeed
    dead_letters: DeadLetters
    tracking: Tracking


class MessagingServicer(messaging_service_pb2_grpc.MessagingServiceServicer):
    def __init__(self, cases: UseCases, page_tokens: PageTokens):
        self._cases = cases
        self._tokens = page_tokens

    # --- sending ------------------------------------------------------------------------------------
    async def SendMessage(self, request: pb.SendMessageRequest, context) -> pb.Message:
        if not request.HasField("message"):
            raise InvalidArgument("message", "required")
        message, duplicate = await self._cases.sends.send_one(draft_of(request.message))
        if not duplicate:
            note_change(message.name, None, {"channel": message.channel.value, "category": message.category.value})
        return outbound_to_proto(message)

    async def SendMessages(self, request: pb.SendMessagesRequest, context):
        interval = request.progress_interval_ms or 250
        if interval < 50:
            raise InvalidArgument("progress_interval_ms", "at least 50")
        contents: dict[bytes, dict] = {}
        drafts = [draft_of(m, contents) for m in request.messages]
        batch_id = ids.new_id()
        note_change(f"sendBatches/{batch_id}", None, {"requested": len(drafts)})
        finished = False
        try:
            async for progress in self._cases.sends.send_many(drafts, batch_id, interval / 1000):
                yield progress_to_proto(progress)
            finished = True
        finally:
            if not finished and not request.keep_on_cancel:
                # The caller went away: what was not handed to a provider yet is withdrawn, never sent.
                withdraw = asyncio.ensure_future(self._cases.withdrawals.withdraw_batch(batch_id))
                with contextlib.suppress(BaseException):
                    await asyncio.shield(withdraw)

    async def WithdrawMessages(self, request: pb.WithdrawMessagesRequest, context) -> pb.WithdrawMessagesResponse:
        result = await self._cases.withdrawals.withdraw(request.idempotency_key_prefix)
        note_change(f"messages:withdraw/{request.idempotency_key_prefix}", None, {"withdrawn": len(result.withdrawn)})
        return pb.WithdrawMessagesResponse(withdrawn_count=len(result.withdrawn), in_flight_count=result.in_flight)

    async def BatchGetMessageStates(
        self, request: pb.BatchGetMessageStatesRequest, context
    ) -> pb.BatchGetMessageStatesResponse:
        keys = list(request.idempotency_keys)
        if not 1 <= len(keys) <= 1000:
            raise InvalidArgument("idempotency_keys", "1 to 1,000 keys")
        states = [state_to_proto(m) for m in await self._cases.sends.by_keys(keys)]
        return pb.BatchGetMessageStatesResponse(states=states)

    async def CreateMediaUpload(self, request: pb.CreateMediaUploadRequest, context) -> pb.CreateMediaUploadResponse:
        upload = await self._cases.uploads.create(
            pb.MediaKind.Name(request.kind), request.mime_type, request.size_bytes, request.filename
        )
        note_change(
            f"media/{upload.media_key}", None, {"mime_type": request.mime_type, "size_bytes": request.size_bytes}
        )
        return pb.CreateMediaUploadResponse(
            media_key=upload.media_key,
            upload_url=upload.url,
            upload_headers=upload.headers,
            expire_time=timestamp(upload.expire_time),
        )

    # --- templates ----------------------------------------------------------------------------------
    async def ListTemplates(self, request: pb.ListTemplatesRequest, context) -> pb.ListTemplatesResponse:
        size = page_size(request.page_size, 100, 500)
        scope = f"templates:{request.language}"
        after = self._tokens.decode(scope, request.page_token) if request.page_token else ""
        found = await self._cases.templates.list(request.language, after, size + 1)
        token = self._tokens.encode(scope, found[size - 1].key) if len(found) > size else ""
        return pb.ListTemplatesResponse(templates=[template_to_proto(t) for t in found[:size]], next_page_token=token)

    async def GetTemplate(self, request: pb.GetTemplateRequest, context) -> pb.Template:
        return template_to_proto(await self._cases.lifecycle.get(template_key(request.name, "name")))

    async def CreateTemplate(self, request: pb.CreateTemplateRequest, context) -> pb.Template:
        if not request.HasField("template"):
            raise InvalidArgument("template", "required")
        draft, library = template_draft_of(request.template), library_of(request.template)
        lifecycle = self._cases.lifecycle
        if library is not None:
            created = await lifecycle.create_from_library(draft, library, request.template.waba)
        else:
            created = await lifecycle.create(draft, request.template.waba)
        note_change(created.name, None, {"status": created.template_status, "category": created.category.value})
        return template_to_proto(created)

    async def UpdateTemplate(self, request: pb.UpdateTemplateRequest, context) -> pb.Template:
        key = template_key(request.template.name, "template.name")
        before = await self._cases.lifecycle.get(key)
        updated = await self._cases.lifecycle.update(key, changes_of(request.template, request.update_mask))
        note_change(
            updated.name,
            {"status": before.template_status, "category": before.category.value},
            {"status": updated.template_status, "category": updated.category.value},
        )
        return template_to_proto(updated)

    async def DeleteTemplate(self, request: pb.DeleteTemplateRequest, context) -> empty_pb2.Empty:
        gone = await self._cases.lifecycle.delete(template_key(request.name, "name"))
        note_change(gone.name, {"status": gone.template_status}, None)
        return empty_pb2.Empty()

    async def GetMessagingTier(self, request: pb.GetMessagingTierRequest, context) -> pb.MessagingTier:
        return tier_to_proto(await self._cases.tier.read())

    async def SyncTemplates(self, request: pb.SyncTemplatesRequest, context) -> pb.SyncTemplatesResponse:
        templates = self._cases.templates
        unknown = [w for w in request.wabas if w not in templates.wabas]
        if unknown:
            raise InvalidArgument("wabas", f"not configured WhatsApp Business Accounts: {unknown}")
        total, added, removed = await templates.sync(list(request.wabas) or None)
        note_change("templates", None, {"templates": total, "added": added, "removed": removed})
        return pb.SyncTemplatesResponse(template_count=total, added_count=added, removed_count=removed)

    # --- the ingest seam ----------------------------------------------------------------------------
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
        results = await self._cases.ingest.ingest(events)
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

    # --- the inbox ----------------------------------------------------------------------------------
    async def GetMessage(self, request: pb.GetMessageRequest, context) -> pb.Message:
        inbox = self._cases.inbox
        found = await inbox.message(parse_name(request.name, "messages"))
        out = message_to_proto(found)
        urls = await inbox.media_urls(found)
        kind = out.content.WhichOneof("kind")
        media = None
        if kind == "media":
            media = out.content.media
        elif kind == "template" and out.content.template.HasField("header_media"):
            media = out.content.template.header_media
        if media is not None and media.media_key:
            media.download_uri = urls.get(media.media_key, "")  # expiring, pre-signed
        for click in await self._cases.tracking.clicks(found):
            out.clicks.add(
                link=click.link,
                first_click_time=timestamp(click.first_click_time),
                last_click_time=timestamp(click.last_click_time),
                click_count=click.click_count,
            )
        return out

    async def ListMessages(self, request: pb.ListMessagesRequest, context) -> pb.ListMessagesResponse:
        inbox = self._cases.inbox
        size = page_size(request.page_size, 50, 500)
        channel = _channel(request.channel)
        customers = await inbox.customers(request.contact, request.customer)
        scope = f"messages:{','.join(customers)}:{request.channel}"
        page = await inbox.messages(customers, channel, self._position(request.page_token, scope), size + 1)
        token = self._tokens.encode(scope, [page[size - 1][0], page[size - 1][1]]) if len(page) > size else ""
        return pb.ListMessagesResponse(messages=[message_to_proto(m) for _, _, m in page[:size]], next_page_token=token)

    async def ListConversations(self, request: pb.ListConversationsRequest, context) -> pb.ListConversationsResponse:
        inbox = self._cases.inbox
        size = page_size(request.page_size, 50, 500)
        scope = f"conversations:{request.channel}"
        found = await inbox.conversations(
            _channel(request.channel), self._position(request.page_token, scope), size + 1
        )
        token = ""
        if len(found) > size:
            last = found[size - 1]
            token = self._tokens.encode(scope, [last.update_time, last.id])
        now = time.time()
        return pb.ListConversationsResponse(
            conversations=[_conversation_proto(await inbox.view(c, now)) for c in found[:size]], next_page_token=token
        )

    async def WatchConversations(self, request: pb.WatchConversationsRequest, context):
        wanted = ""
        if request.conversation:
            head, _, wanted = request.conversation.partition("/")
            if head != "conversations" or not wanted:
                raise InvalidArgument("conversation", "`conversations/{channel}-{address}`")
        kinds = {ChangeKind.MESSAGE_RECEIVED, ChangeKind.VOICE_CALL}
        if request.include_status_changes:
            kinds.add(ChangeKind.STATUS_CHANGED)
        async with self._cases.feed.watch() as changes:
            await context.send_initial_metadata(())  # the watch is live: a caller may act and expect to see it
            try:
                async for change in changes:
                    if change.kind in kinds and (not wanted or change.conversation_id == wanted):
                        yield event_to_proto(change)
            except WatcherFellBehind as exc:
                raise Unavailable(str(exc)) from None

    async def DeleteMessage(self, request: pb.DeleteMessageRequest, context):
        target = await self._cases.inbox.delete(parse_name(request.name, "messages"))
        direction = "INBOUND" if isinstance(target, InboundMessage) else "OUTBOUND"
        note_change(request.name, {"direction": direction, "channel": target.channel.value}, None)
        return empty_pb2.Empty()

    async def ListVoiceCalls(self, request: pb.ListVoiceCallsRequest, context) -> pb.ListVoiceCallsResponse:
        inbox = self._cases.inbox
        size = page_size(request.page_size, 50, 500)
        customer = address(request.customer, inbox.region, "customer") if request.customer else ""
        scope = f"voiceCalls:{customer}"
        found = await inbox.voice_calls(customer, self._position(request.page_token, scope), size + 1)
        token = self._tokens.encode(scope, [found[size - 1].time, found[size - 1].id]) if len(found) > size else ""
        return pb.ListVoiceCallsResponse(
            voice_calls=[voice_call_to_proto(c) for c in found[:size]], next_page_token=token
        )

    def _position(self, token: str, scope: str) -> tuple[float, str] | None:
        if not token:
            return None
        value = self._tokens.decode(scope, token)
        if not (isinstance(value, list) and len(value) == 2):
            raise InvalidArgument("page_token", "not a page token of this query")
        return float(value[0]), str(value[1])

    # --- dead letters -------------------------------------------------------------------------------
    async def ListDeadLetters(self, request: pb.ListDeadLettersRequest, context) -> pb.ListDeadLettersResponse:
        queue = _queue(request.queue)
        size = page_size(request.page_size, 10, 100)
        letters, count = await self._cases.dead_letters.peek(queue, size)
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
        steps = self._cases.dead_letters.replay(
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


def _conversation_proto(view: ConversationView) -> pb.Conversation:
    c = view.conversation
    out = pb.Conversation(
        name=c.name,
        channel=CHANNELS_PB[c.channel],
        customer=c.customer,
        contact=f"contacts/{c.contact_id}" if c.contact_id else "",
        profile_name=c.profile_name,
        unanswered_count=c.unanswered_count,
        update_time=timestamp(c.update_time),
    )
    if view.last is not None:
        out.last_message.CopyFrom(message_to_proto(view.last))
    if view.window_expires is not None:
        out.window_expire_time.CopyFrom(timestamp(view.window_expires))
    return out


def template_key(name: str, field: str) -> str:
    """`templates/{name}.{language}` -> `{name}.{language}`, or INVALID_ARGUMENT naming the field."""
    head, _, key = name.partition("/")
    template_name, dot, language = key.rpartition(".")
    if head != "templates" or not dot or not template_name or not language:
        raise InvalidArgument(field, f"required: `templates/{{name}}.{{language}}`, not {name!r}")
    return key
