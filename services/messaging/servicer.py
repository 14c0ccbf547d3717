"""MessagingService: protobuf in, domain calls, protobuf out. Rules live in domain/, sending in dispatcher.py,
acceptance in outbound.py. RPCs not overridden here answer UNIMPLEMENTED (the base class)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from google.protobuf import json_format

from runtime import ids
from runtime.calls import note_change
from runtime.errors import FieldViolation, InvalidArgument, NotFound
from runtime.names import parse_name, timestamp
from runtime.pagination import PageTokens, page_size
from services.messaging.adapters.media import MediaBucket, outgoing_key
from services.messaging.adapters.store import InboundStore
from services.messaging.catalogue import Catalogue
from services.messaging.domain import rules
from services.messaging.domain.model import (
    Category,
    Channel,
    InboundMessage,
    MessageError,
    OutboundMessage,
    Status,
    Template,
    conversation_id,
)
from services.messaging.domain.rules import Draft
from services.messaging.outbound import Item, Outbound, Progress
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc

log = logging.getLogger("wecare.messaging.servicer")

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
}
MEDIA_KINDS_PB = {
    "IMAGE": pb.MEDIA_KIND_IMAGE,
    "VIDEO": pb.MEDIA_KIND_VIDEO,
    "DOCUMENT": pb.MEDIA_KIND_DOCUMENT,
    "AUDIO": pb.MEDIA_KIND_AUDIO,
    "STICKER": pb.MEDIA_KIND_STICKER,
}


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
    )


def _error(error: MessageError | None) -> pb.MessageError | None:
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
        error=_error(m.error),
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
    )


def inbound_to_proto(m: InboundMessage) -> pb.Message:
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


def template_to_proto(t: Template) -> pb.Template:
    return pb.Template(
        name=t.name,
        template_name=t.template_name,
        language=t.language,
        category=CATEGORIES_PB[t.category],
        template_status=t.template_status,
        meta_template_id=t.meta_template_id,
        waba=t.waba,
        body_variables=list(t.body_variables),
        header_variables=list(t.header_variables),
        header_media_kind=MEDIA_KINDS_PB.get(t.header_media_kind, pb.MEDIA_KIND_UNSPECIFIED),
        dynamic_buttons=list(t.dynamic_buttons),
        body_text=t.body_text,
        sync_time=timestamp(t.sync_time),
    )


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
    if m.error and m.status in (Status.FAILED, Status.UNKNOWN):
        out.error.CopyFrom(_error(m.error))
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
            pending=int(t["pending"]),
            current_rate=t["current_rate"],
        ),
    )


class MessagingServicer(messaging_service_pb2_grpc.MessagingServiceServicer):
    def __init__(
        self,
        outbound: Outbound,
        inbound: InboundStore,
        media: MediaBucket,
        catalogue: Catalogue,
        page_tokens: PageTokens,
    ):
        self._outbound = outbound
        self._inbound = inbound
        self._media = media
        self._catalogue = catalogue
        self._tokens = page_tokens

    async def SendMessage(self, request: pb.SendMessageRequest, context) -> pb.Message:
        if not request.HasField("message"):
            raise InvalidArgument("message", "required")
        message, duplicate = await self._outbound.send_one(draft_of(request.message))
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
            async for progress in self._outbound.send_many(drafts, batch_id, interval / 1000):
                yield progress_to_proto(progress)
            finished = True
        finally:
            if not finished and not request.keep_on_cancel:
                # The caller went away: what was not handed to a provider yet is withdrawn, never sent.
                withdraw = asyncio.ensure_future(self._outbound.withdraw_batch(batch_id))
                with contextlib.suppress(BaseException):
                    await asyncio.shield(withdraw)

    async def WithdrawMessages(self, request: pb.WithdrawMessagesRequest, context) -> pb.WithdrawMessagesResponse:
        result = await self._outbound.withdraw(request.idempotency_key_prefix)
        note_change(f"messages:withdraw/{request.idempotency_key_prefix}", None, {"withdrawn": len(result.withdrawn)})
        return pb.WithdrawMessagesResponse(withdrawn_count=len(result.withdrawn), in_flight_count=result.in_flight)

    async def BatchGetMessageStates(
        self, request: pb.BatchGetMessageStatesRequest, context
    ) -> pb.BatchGetMessageStatesResponse:
        keys = list(request.idempotency_keys)
        if not 1 <= len(keys) <= 1000:
            raise InvalidArgument("idempotency_keys", "1 to 1,000 keys")
        states = []
        for m in await self._outbound.by_keys(keys):
            state = pb.MessageState(
                idempotency_key=m.idempotency_key,
                message=m.name,
                status=STATUSES_PB[m.status],
                provider_message_id=m.provider_message_id,
                update_time=timestamp(m.update_time or m.create_time),
            )
            if m.error and m.status in (Status.FAILED, Status.UNKNOWN):
                state.error.CopyFrom(_error(m.error))
            states.append(state)
        return pb.BatchGetMessageStatesResponse(states=states)

    async def GetMessage(self, request: pb.GetMessageRequest, context) -> pb.Message:
        message_id = parse_name(request.name, "messages")
        with contextlib.suppress(NotFound):
            out = outbound_to_proto(await self._outbound.get(message_id))
            await self._sign(out)
            return out
        inbound = await self._inbound.get(message_id)
        if inbound is None:
            raise NotFound(f"{request.name} does not exist")
        out = inbound_to_proto(inbound)
        await self._sign(out)
        return out

    async def _sign(self, message: pb.Message) -> None:
        """Media as expiring pre-signed URLs."""
        kind = message.content.WhichOneof("kind")
        media = None
        if kind == "media":
            media = message.content.media
        elif kind == "template" and message.content.template.HasField("header_media"):
            media = message.content.template.header_media
        if media is not None and media.media_key:
            media.download_uri = await self._media.download_url(media.media_key)

    async def CreateMediaUpload(self, request: pb.CreateMediaUploadRequest, context) -> pb.CreateMediaUploadResponse:
        bad: list = []
        body = {
            "kind": pb.MediaKind.Name(request.kind),
            "mime_type": request.mime_type,
            "size_bytes": request.size_bytes,
            "media_key": rules.OUTGOING_PREFIX + "x",
        }
        rules.media(bad, "", body, outgoing=True)
        if bad:
            raise InvalidArgument([FieldViolation(v.field.lstrip("."), v.description) for v in bad])
        key = outgoing_key(request.mime_type, request.filename)
        url, headers, expires = await self._media.upload_url(key, request.mime_type, request.size_bytes)
        note_change(f"media/{key}", None, {"mime_type": request.mime_type, "size_bytes": request.size_bytes})
        return pb.CreateMediaUploadResponse(
            media_key=key, upload_url=url, upload_headers=headers, expire_time=timestamp(expires)
        )

    async def ListTemplates(self, request: pb.ListTemplatesRequest, context) -> pb.ListTemplatesResponse:
        size = page_size(request.page_size, 100, 500)
        scope = f"templates:{request.language}"
        after = self._tokens.decode(scope, request.page_token) if request.page_token else ""
        found = await self._outbound.list_templates(request.language, after, size + 1)
        token = self._tokens.encode(scope, found[size - 1].key) if len(found) > size else ""
        return pb.ListTemplatesResponse(templates=[template_to_proto(t) for t in found[:size]], next_page_token=token)

    async def SyncTemplates(self, request: pb.SyncTemplatesRequest, context) -> pb.SyncTemplatesResponse:
        unknown = [w for w in request.wabas if w not in self._catalogue.wabas]
        if unknown:
            raise InvalidArgument("wabas", f"not configured WhatsApp Business Accounts: {unknown}")
        total, added, removed = await self._catalogue.sync(list(request.wabas) or None)
        self._outbound.forget_templates()
        note_change("templates", None, {"templates": total, "added": added, "removed": removed})
        return pb.SyncTemplatesResponse(template_count=total, added_count=added, removed_count=removed)
