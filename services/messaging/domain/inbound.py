"""Inbound WhatsApp events: EUM Social's SNS event read into the domain's records (inbound messages, status
events, voice call events, and the account's events of meta_events: templates, the tier, phone quality), the
opt-out / opt-in keywords, and the inbox's change feed records. No I/O.

The event (docs/DESIGN.md "The WhatsApp channel") carries Meta's webhook entry as a JSON *string*; its
`metadata.phone_number_id` is Meta's id, mapped to our AWS `phone-number-id-...` through the event's
`context.MetaPhoneNumberIds[].arn`. Anything the parser cannot read is a MalformedEvent naming where."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.messaging.domain import meta_events
from services.messaging.domain.meta_events import AccountEvent
from services.messaging.domain.model import (
    Channel,
    Direction,
    InboundMessage,
    MessageError,
    Status,
    StatusEvent,
    VoiceCall,
)

OPT_OUT_WORDS = frozenset({"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})
MEDIA_TYPES = {
    "image": "MEDIA_KIND_IMAGE",
    "audio": "MEDIA_KIND_AUDIO",
    "video": "MEDIA_KIND_VIDEO",
    "document": "MEDIA_KIND_DOCUMENT",
    "sticker": "MEDIA_KIND_STICKER",
}
STATUSES = {"sent": Status.SENT, "delivered": Status.DELIVERED, "read": Status.READ, "failed": Status.FAILED}
PHONE_ARN_MARK = ":phone-number-id/"
LIMITED_CODE = "131049"
MAX_FUTURE_SECONDS = 0.0  # a customer's timestamp is never later than our clock: the window opens at most now


class MalformedEvent(ValueError):
    """Not an EUM Social event this service can read; the message says where."""


@dataclass(frozen=True)
class ConsentKeyword:
    word: str  # the keyword as written, upper-cased (STOP, START, ...)
    opted_out: bool

    @property
    def source(self) -> str:
        return f"whatsapp:keyword:{self.word}"


@dataclass(frozen=True)
class PaymentStatus:
    """A WhatsApp payment status (`statuses[]` with `type: payment`): the commerce service's, passed on whole."""

    # `<wamid>:<status>[:<transaction id>]`: the same status delivered twice is one event, each attempt its own
    event_id: str
    payload: str  # the status object as JSON


@dataclass(frozen=True)
class EventItems:
    """What one event says: its inbound messages, status events, call events and payment statuses, in order."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusEvent] = field(default_factory=list)
    calls: list[VoiceCall] = field(default_factory=list)
    payments: list[PaymentStatus] = field(default_factory=list)
    account: list[AccountEvent] = field(default_factory=list)  # templates, tier, phone quality (meta_events)

    @property
    def empty(self) -> bool:
        return not (self.messages or self.statuses or self.calls or self.payments or self.account)


def consent_keyword(message: InboundMessage) -> ConsentKeyword | None:
    """STOP and its kin (or START / UNSTOP) as the whole text of the message, case-insensitive, trimmed."""
    text = (message.content.get("text") or {}).get("body")
    if not isinstance(text, str):
        return None
    word = text.strip().upper()
    if word in OPT_OUT_WORDS:
        return ConsentKeyword(word, opted_out=True)
    if word in OPT_IN_WORDS:
        return ConsentKeyword(word, opted_out=False)
    return None


def aws_phone_number_id(arn: str) -> str:
    """`arn:aws:social-messaging:<region>:<account>:phone-number-id/<hex>` -> `phone-number-id-<hex>`."""
    _, mark, tail = arn.partition(PHONE_ARN_MARK)
    if not mark or not tail or "/" in tail:
        raise MalformedEvent(f"context.MetaPhoneNumberIds[].arn {arn!r} is not a phone number id ARN")
    return f"phone-number-id-{tail}"


def e164(wa_id: Any, where: str) -> str:
    digits = str(wa_id or "").lstrip("+")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise MalformedEvent(f"{where} {wa_id!r} is not a phone number")
    return f"+{digits}"


def parse_event(payload: str, new_id: Callable[[], str], now: float) -> EventItems:
    """Reads one EUM Social event (the SNS notification's Message). `new_id` names new records; `now` is when
    we received it (a customer's timestamp later than now is taken as now)."""
    try:
        event = json.loads(payload)
    except (TypeError, ValueError) as exc:
        raise MalformedEvent(f"payload is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise MalformedEvent("payload is not a JSON object")
    raw_entry = event.get("whatsAppWebhookEntry")
    if not isinstance(raw_entry, str):
        raise MalformedEvent("whatsAppWebhookEntry is missing or not a JSON string")
    try:
        entry = json.loads(raw_entry)
    except ValueError as exc:
        raise MalformedEvent(f"whatsAppWebhookEntry is not JSON: {exc}") from None
    phones = _phone_map(event.get("context"))
    changes = _list(_dict(entry, "whatsAppWebhookEntry").get("changes"), "whatsAppWebhookEntry.changes")
    items = EventItems()
    for i, change in enumerate(changes):
        where = f"changes[{i}].value"
        value = _dict(_dict(change, f"changes[{i}]").get("value"), where)
        kind = str(change.get("field", ""))
        if kind in meta_events.FIELDS:
            at = _time(entry.get("time") or now, "whatsAppWebhookEntry.time", now)
            waba = _waba_of(event.get("context"), str(entry.get("id", "")))
            items.account.extend(meta_events.parse(kind, value, at, waba, sorted(set(phones.values()))))
            continue
        meta_phone = str(_dict(value.get("metadata"), f"{where}.metadata").get("phone_number_id", ""))
        origination = phones.get(meta_phone)
        if origination is None:
            raise MalformedEvent(
                f"{where}.metadata.phone_number_id {meta_phone!r} is not in context.MetaPhoneNumberIds"
            )
        names = {
            str(c.get("wa_id", "")): str((c.get("profile") or {}).get("name", ""))
            for c in value.get("contacts") or []
            if isinstance(c, dict)
        }
        for j, m in enumerate(_list(value.get("messages", []), f"{where}.messages")):
            items.messages.append(_message(_dict(m, f"{where}.messages[{j}]"), origination, names, new_id, now))
        for j, s in enumerate(_list(value.get("statuses", []), f"{where}.statuses")):
            s = _dict(s, f"{where}.statuses[{j}]")
            if s.get("type") == "call":
                items.calls.append(_call_status(s, origination, new_id, now, f"{where}.statuses[{j}]"))
            elif s.get("type") == "payment":
                items.payments.append(_payment(s, f"{where}.statuses[{j}]"))
            elif s.get("status") in STATUSES:
                items.statuses.append(_status(s, origination, now, f"{where}.statuses[{j}]"))
            # Other statuses (e.g. `deleted`, `warning`) say nothing about delivery: nothing to apply.
        for j, c in enumerate(_list(value.get("calls", []), f"{where}.calls")):
            items.calls.append(_call(_dict(c, f"{where}.calls[{j}]"), origination, new_id, now, f"{where}.calls[{j}]"))
    return items


def _waba_of(context: Any, meta_waba_id: str) -> str:
    """Our `waba-<hex>` for the entry's WABA, through the ARN in context.MetaWabaIds ("" when it is not there)."""
    entries = (context or {}).get("MetaWabaIds") if isinstance(context, dict) else None
    for e in entries if isinstance(entries, list) else []:
        arn = str(e.get("arn", "")) if isinstance(e, dict) else ""
        if isinstance(e, dict) and str(e.get("wabaId", "")) == meta_waba_id and ":waba/" in arn:
            return "waba-" + arn.rsplit(":waba/", 1)[1]
    return ""


def _phone_map(context: Any) -> dict[str, str]:
    context = _dict(context, "context")
    if "MetaPhoneNumberIds" not in context and "MetaWabaIds" in context:
        return {}  # a WABA-wide event (templates, the tier) names no phone
    entries = _list(context.get("MetaPhoneNumberIds"), "context.MetaPhoneNumberIds")
    out = {}
    for i, e in enumerate(entries):
        e = _dict(e, f"context.MetaPhoneNumberIds[{i}]")
        out[str(e.get("metaPhoneNumberId", ""))] = aws_phone_number_id(str(e.get("arn", "")))
    return out


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedEvent(f"{where} is missing or not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedEvent(f"{where} is missing or not a list")
    return value


def _time(value: Any, where: str, now: float) -> float:
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise MalformedEvent(f"{where} {value!r} is not epoch seconds") from None
    return min(t, now + MAX_FUTURE_SECONDS)


def _message(
    m: dict[str, Any], origination: str, names: dict[str, str], new_id: Callable[[], str], now: float
) -> InboundMessage:
    wamid = m.get("id")
    if not isinstance(wamid, str) or not wamid:
        raise MalformedEvent("messages[].id (the wamid) is missing")
    sender = str(m.get("from", ""))
    context = m.get("context") if isinstance(m.get("context"), dict) else {}
    content, extra = meta_content(m)
    return InboundMessage(
        id=new_id(),
        channel=Channel.WHATSAPP,
        origination=origination,
        customer=e164(sender, "messages[].from"),
        provider_message_id=wamid,
        content=content,
        receive_time=_time(m.get("timestamp"), "messages[].timestamp", now),
        profile_name=names.get(sender, ""),
        reply_to_provider_id=str(context.get("id", "")),
        create_time=now,
        extra=extra,
    )


def meta_content(m: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Meta's message object -> our content dict (proto field names) and facts kept beside it."""
    kind = m.get("type")
    body = m.get(kind) if isinstance(kind, str) and isinstance(m.get(kind), dict) else {}
    extra: dict[str, Any] = {}
    if kind == "text" and isinstance(body.get("body"), str):
        return {"text": {"body": body["body"]}}, extra
    if kind in MEDIA_TYPES and body.get("id"):
        media: dict[str, Any] = {
            "kind": MEDIA_TYPES[kind],
            "mime_type": str(body.get("mime_type", "")),
            "provider_media_id": str(body["id"]),
        }
        for name in ("caption", "filename"):
            if body.get(name):
                media[name] = str(body[name])
        if kind == "sticker" and body.get("animated"):
            media["animated"] = True
        if body.get("sha256"):
            extra["media_sha256"] = str(body["sha256"])
        return {"media": media}, extra
    if kind == "location":
        location = {k: body[k] for k in ("latitude", "longitude") if isinstance(body.get(k), int | float)}
        location.update({k: str(body[k]) for k in ("name", "address") if body.get(k)})
        return {"location": location}, extra
    if kind == "contacts" and isinstance(m.get("contacts"), list):
        return {"contacts": {"contacts": [_card(c) for c in m["contacts"] if isinstance(c, dict)]}}, extra
    if kind == "interactive" and body.get("type") == "nfm_reply" and isinstance(body.get("nfm_reply"), dict):
        # A Flow's answer: kept whole (the commerce service reads its response_json as it came).
        return {
            "interactive": {
                "kind": "INTERACTIVE_KIND_FLOW_REPLY",
                "reply_title": str(body["nfm_reply"].get("body", "")),
                "interactive_json": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            }
        }, extra
    if kind == "interactive":
        reply = body.get(body.get("type", "")) if isinstance(body.get(body.get("type", "")), dict) else None
        if reply is not None and body.get("type") in ("button_reply", "list_reply"):
            return {
                "interactive": {
                    "kind": "INTERACTIVE_KIND_REPLY",
                    "reply_id": str(reply.get("id", "")),
                    "reply_title": str(reply.get("title", "")),
                }
            }, extra
    if kind == "button":  # a template's quick-reply button
        return {
            "interactive": {
                "kind": "INTERACTIVE_KIND_REPLY",
                "reply_id": str(body.get("payload", "")),
                "reply_title": str(body.get("text", "")),
            }
        }, extra
    if kind == "reaction" and body.get("message_id"):
        # The message reacted to is named by its wamid; ingest resolves it to ours (`messages/{id}`) if known.
        extra["reaction_wamid"] = str(body["message_id"])
        return {"reaction": {"message": "", "emoji": str(body.get("emoji", ""))}}, extra
    raw = json.dumps({k: v for k, v in m.items() if k not in ("from", "id", "timestamp")}, ensure_ascii=False)
    return {"unsupported": {"type": str(kind or ""), "raw_json": raw}}, extra


def _card(c: dict[str, Any]) -> dict[str, Any]:
    name = c.get("name") if isinstance(c.get("name"), dict) else {}
    card: dict[str, Any] = {"formatted_name": str(name.get("formatted_name", ""))}
    phones = [str(p.get("phone", "")) for p in c.get("phones") or [] if isinstance(p, dict) and p.get("phone")]
    emails = [str(e.get("email", "")) for e in c.get("emails") or [] if isinstance(e, dict) and e.get("email")]
    if phones:
        card["phone_numbers"] = phones
    if emails:
        card["emails"] = emails
    org = c.get("org") if isinstance(c.get("org"), dict) else {}
    if org.get("company"):
        card["organization"] = str(org["company"])
    return card


def _status(s: dict[str, Any], origination: str, now: float, where: str) -> StatusEvent:
    wamid = s.get("id")
    if not isinstance(wamid, str) or not wamid:
        raise MalformedEvent(f"{where}.id (the wamid) is missing")
    status = STATUSES[s["status"]]
    error = None
    if status == Status.FAILED:
        errors = [e for e in s.get("errors") or [] if isinstance(e, dict)]
        first = errors[0] if errors else {}
        details = first.get("error_data") if isinstance(first.get("error_data"), dict) else {}
        error = MessageError(
            code=str(first.get("code", "FAILED")),
            title=str(first.get("title", "")),
            detail=str(details.get("details") or first.get("message", "")),
        )
        if error.code == LIMITED_CODE:
            status = Status.LIMITED  # not delivered for Meta's per-user marketing limit: kept apart from failures
    recipient = s.get("recipient_id")
    return StatusEvent(
        provider_message_id=wamid,
        status=status,
        time=_time(s.get("timestamp"), f"{where}.timestamp", now),
        callback_data=str(s.get("biz_opaque_callback_data", "")),
        recipient=e164(recipient, f"{where}.recipient_id") if recipient else "",
        error=error,
        origination=origination,
    )


def _payment(s: dict[str, Any], where: str) -> PaymentStatus:
    wamid = s.get("id")
    if not isinstance(wamid, str) or not wamid:
        raise MalformedEvent(f"{where}.id (the wamid) is missing")
    status = str(s.get("status", ""))
    # One order may be paid in several attempts (a failed UPI payment, then another): each attempt's transaction
    # is its own event, so the transaction id joins the key commerce deduplicates by.
    payment = s.get("payment")
    transaction = payment.get("transaction") if isinstance(payment, dict) else None
    attempt = transaction.get("id") if isinstance(transaction, dict) else None
    event_id = f"{wamid}:{status}:{attempt}" if isinstance(attempt, str) and attempt else f"{wamid}:{status}"
    return PaymentStatus(event_id, json.dumps(s, ensure_ascii=False, separators=(",", ":")))


def _opt_time(value: Any, where: str, now: float) -> float | None:
    return None if value in (None, "") else _time(value, where, now)


def _call(c: dict[str, Any], origination: str, new_id: Callable[[], str], now: float, where: str) -> VoiceCall:
    call_id = c.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise MalformedEvent(f"{where}.id (the call id) is missing")
    inbound = str(c.get("direction", "USER_INITIATED")).upper() != "BUSINESS_INITIATED"
    customer = c.get("from") if inbound else c.get("to")
    try:
        duration = int(c.get("duration") or 0)
    except (TypeError, ValueError):
        raise MalformedEvent(f"{where}.duration {c.get('duration')!r} is not a number of seconds") from None
    return VoiceCall(
        id=new_id(),
        call_id=call_id,
        event=str(c.get("event", "")),
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
        origination=origination,
        customer=e164(customer, f"{where}.{'from' if inbound else 'to'}"),
        time=_time(c.get("timestamp"), f"{where}.timestamp", now),
        call_status=str(c.get("status", "")),
        start_time=_opt_time(c.get("start_time"), f"{where}.start_time", now),
        end_time=_opt_time(c.get("end_time"), f"{where}.end_time", now),
        duration_seconds=duration,
    )


def _call_status(s: dict[str, Any], origination: str, new_id: Callable[[], str], now: float, where: str) -> VoiceCall:
    """A call's status update (the Calling API sends RINGING, ACCEPTED, REJECTED as `statuses` of type call)."""
    call_id = s.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise MalformedEvent(f"{where}.id (the call id) is missing")
    return VoiceCall(
        id=new_id(),
        call_id=call_id,
        event=f"status:{str(s.get('status', '')).lower()}",
        direction=Direction.OUTBOUND,
        origination=origination,
        customer=e164(s.get("recipient_id"), f"{where}.recipient_id"),
        time=_time(s.get("timestamp"), f"{where}.timestamp", now),
        call_status=str(s.get("status", "")).upper(),
    )


# --- the inbox's change feed ------------------------------------------------------------------------------


class ChangeKind:
    MESSAGE_RECEIVED = "MESSAGE_RECEIVED"
    STATUS_CHANGED = "STATUS_CHANGED"
    VOICE_CALL = "VOICE_CALL"


@dataclass(frozen=True)
class Change:
    """One entry of the inbox's change feed (WatchConversations), written by whichever process ingested it.
    `key` makes it once-only (a re-ingested event does not repeat it); `seq` orders the feed (0 until stored).
    `record` is the message or call as it was right after the change, in the codec's dict form."""

    key: str
    kind: str
    conversation_id: str
    time: float
    record: dict[str, Any]
    seq: int = 0
