"""Messaging records <-> plain dicts, shared by the stores that keep part of a record as one JSON document."""

from __future__ import annotations

import json
from typing import Any

from services.messaging.domain.model import (
    Category,
    Channel,
    Conversation,
    Direction,
    InboundMessage,
    Lane,
    MessageError,
    OutboundMessage,
    Status,
    StatusEvent,
    Template,
    VoiceCall,
)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def outbound_to_dict(m: OutboundMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "channel": m.channel.value,
        "category": m.category.value,
        "origination": m.origination,
        "recipient": m.recipient,
        "content": m.content,
        "create_time": m.create_time,
        "contact_id": m.contact_id,
        "idempotency_key": m.idempotency_key,
        "reply_to": m.reply_to,
        "lane": int(m.lane),
        "batch_id": m.batch_id,
        "status": m.status.value,
        "error": m.error.to_dict() if m.error else None,
        "provider_message_id": m.provider_message_id,
        "attempts": m.attempts,
        "due_time": m.due_time,
        "handoff_time": m.handoff_time,
        "send_time": m.send_time,
        "deliver_time": m.deliver_time,
        "read_time": m.read_time,
        "update_time": m.update_time,
        "former_idempotency_key": m.former_idempotency_key,
        "extra": m.extra,
    }


def outbound_from_dict(d: dict[str, Any]) -> OutboundMessage:
    return OutboundMessage(
        id=d["id"],
        channel=Channel(d["channel"]),
        category=Category(d["category"]),
        origination=d.get("origination", ""),
        recipient=d.get("recipient", ""),
        content=d.get("content") or {},
        create_time=float(d["create_time"]),
        contact_id=d.get("contact_id") or "",
        idempotency_key=d.get("idempotency_key") or "",
        reply_to=d.get("reply_to") or "",
        lane=Lane(int(d.get("lane", Lane.SINGLE))),
        batch_id=d.get("batch_id") or "",
        status=Status(d["status"]),
        error=MessageError.from_dict(d.get("error")),
        provider_message_id=d.get("provider_message_id") or "",
        attempts=int(d.get("attempts") or 0),
        due_time=float(d.get("due_time") or 0.0),
        handoff_time=_opt(d.get("handoff_time")),
        send_time=_opt(d.get("send_time")),
        deliver_time=_opt(d.get("deliver_time")),
        read_time=_opt(d.get("read_time")),
        update_time=float(d.get("update_time") or 0.0),
        former_idempotency_key=d.get("former_idempotency_key") or "",
        extra=d.get("extra") or {},
    )


def inbound_to_dict(m: InboundMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "channel": m.channel.value,
        "origination": m.origination,
        "customer": m.customer,
        "provider_message_id": m.provider_message_id,
        "content": m.content,
        "receive_time": m.receive_time,
        "contact_id": m.contact_id,
        "profile_name": m.profile_name,
        "reply_to_provider_id": m.reply_to_provider_id,
        "create_time": m.create_time,
        "extra": m.extra,
    }


def inbound_from_dict(d: dict[str, Any]) -> InboundMessage:
    return InboundMessage(
        id=d["id"],
        channel=Channel(d["channel"]),
        origination=d.get("origination", ""),
        customer=d.get("customer", ""),
        provider_message_id=d.get("provider_message_id", ""),
        content=d.get("content") or {},
        receive_time=float(d["receive_time"]),
        contact_id=d.get("contact_id") or "",
        profile_name=d.get("profile_name") or "",
        reply_to_provider_id=d.get("reply_to_provider_id") or "",
        create_time=float(d.get("create_time") or 0.0),
        extra=d.get("extra") or {},
    )


def conversation_to_dict(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "channel": c.channel.value,
        "customer": c.customer,
        "update_time": c.update_time,
        "last_message_id": c.last_message_id,
        "last_direction": c.last_direction.value,
        "contact_id": c.contact_id,
        "profile_name": c.profile_name,
        "unanswered_count": c.unanswered_count,
    }


def conversation_from_dict(d: dict[str, Any]) -> Conversation:
    return Conversation(
        id=d["id"],
        channel=Channel(d["channel"]),
        customer=d["customer"],
        update_time=float(d["update_time"]),
        last_message_id=d.get("last_message_id") or "",
        last_direction=Direction(d.get("last_direction") or Direction.OUTBOUND.value),
        contact_id=d.get("contact_id") or "",
        profile_name=d.get("profile_name") or "",
        unanswered_count=int(d.get("unanswered_count") or 0),
    )


def merge_conversation(old: Conversation | None, new: Conversation) -> Conversation:
    """The conversation after `new` (one message's view of it): latest message wins, names are kept."""
    if old is None:
        return new
    later = new.update_time >= old.update_time
    unanswered = old.unanswered_count
    if later:
        unanswered = old.unanswered_count + 1 if new.last_direction == Direction.INBOUND else 0
    return Conversation(
        id=old.id,
        channel=old.channel,
        customer=old.customer,
        update_time=max(old.update_time, new.update_time),
        last_message_id=new.last_message_id if later else old.last_message_id,
        last_direction=new.last_direction if later else old.last_direction,
        contact_id=new.contact_id or old.contact_id,
        profile_name=new.profile_name or old.profile_name,
        unanswered_count=unanswered,
    )


def voice_call_to_dict(c: VoiceCall) -> dict[str, Any]:
    return {
        "id": c.id,
        "call_id": c.call_id,
        "event": c.event,
        "direction": c.direction.value,
        "origination": c.origination,
        "customer": c.customer,
        "time": c.time,
        "call_status": c.call_status,
        "start_time": c.start_time,
        "end_time": c.end_time,
        "duration_seconds": c.duration_seconds,
        "contact_id": c.contact_id,
    }


def voice_call_from_dict(d: dict[str, Any]) -> VoiceCall:
    return VoiceCall(
        id=d["id"],
        call_id=d["call_id"],
        event=d["event"],
        direction=Direction(d["direction"]),
        origination=d.get("origination", ""),
        customer=d.get("customer", ""),
        time=float(d["time"]),
        call_status=d.get("call_status") or "",
        start_time=_opt(d.get("start_time")),
        end_time=_opt(d.get("end_time")),
        duration_seconds=int(d.get("duration_seconds") or 0),
        contact_id=d.get("contact_id") or "",
    )


def template_to_dict(t: Template) -> dict[str, Any]:
    return {
        "template_name": t.template_name,
        "language": t.language,
        "category": t.category.value,
        "template_status": t.template_status,
        "waba": t.waba,
        "meta_template_id": t.meta_template_id,
        "body_text": t.body_text,
        "body_variables": list(t.body_variables),
        "header_variables": list(t.header_variables),
        "header_media_kind": t.header_media_kind,
        "dynamic_buttons": list(t.dynamic_buttons),
        "sync_time": t.sync_time,
        "components": list(t.components),
        "parameter_format": t.parameter_format,
        "status_reason": t.status_reason,
        "previous_category": t.previous_category,
        "upcoming_category": t.upcoming_category,
        "status_time": t.status_time,
        "update_time": t.update_time,
    }


def template_from_dict(d: dict[str, Any]) -> Template:
    return Template(
        template_name=d["template_name"],
        language=d["language"],
        category=Category(d["category"]),
        template_status=d.get("template_status", ""),
        waba=d.get("waba", ""),
        meta_template_id=d.get("meta_template_id", ""),
        body_text=d.get("body_text", ""),
        body_variables=tuple(d.get("body_variables") or ()),
        header_variables=tuple(d.get("header_variables") or ()),
        header_media_kind=d.get("header_media_kind", ""),
        dynamic_buttons=tuple(int(i) for i in d.get("dynamic_buttons") or ()),
        sync_time=float(d.get("sync_time") or 0.0),
        components=tuple(d.get("components") or ()),
        parameter_format=d.get("parameter_format") or "POSITIONAL",
        status_reason=d.get("status_reason", ""),
        previous_category=d.get("previous_category", ""),
        upcoming_category=d.get("upcoming_category", ""),
        status_time=float(d.get("status_time") or 0.0),
        update_time=float(d.get("update_time") or 0.0),
    )


def status_event_to_dict(e: StatusEvent) -> dict[str, Any]:
    return {
        "provider_message_id": e.provider_message_id,
        "status": e.status.value,
        "time": e.time,
        "callback_data": e.callback_data,
        "recipient": e.recipient,
        "error": e.error.to_dict() if e.error else None,
        "origination": e.origination,
    }


def status_event_from_dict(d: dict[str, Any]) -> StatusEvent:
    return StatusEvent(
        provider_message_id=d["provider_message_id"],
        status=Status(d["status"]),
        time=float(d["time"]),
        callback_data=d.get("callback_data", ""),
        recipient=d.get("recipient", ""),
        error=MessageError.from_dict(d.get("error")),
        origination=d.get("origination", ""),
    )


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
