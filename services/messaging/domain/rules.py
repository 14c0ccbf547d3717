"""What an outbound message must be, and the rules it must pass before it is accepted. No I/O: the caller
gathers the facts (consent, the 24-hour window, the template, suppressions) into a RuleFacts and asks.

Bad input is INVALID_ARGUMENT naming the field (media type and size included: docs/DESIGN.md "Bad input and
faults"); a rule that refuses a well-formed message is FAILED_PRECONDITION with the rule's name as the reason:
WINDOW_CLOSED, CONSENT_OPTED_OUT, MARKETING_CONSENT_REQUIRED, MARKETING_SUPPRESSED, MARKETING_FREQUENCY_CAP,
PHONE_QUALITY_LOW, TEMPLATE_UNKNOWN, TEMPLATE_NOT_APPROVED, TEMPLATE_PAUSED, TEMPLATE_DISABLED,
TEMPLATE_VARIABLES_INCOMPLETE, CATEGORY_MISMATCH, SENDER_PAUSED."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from runtime import phones
from runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument
from services.messaging.domain import passthrough
from services.messaging.domain.model import Category, Channel, Template

WINDOW_SECONDS = 24 * 3600
MAX_KEY = 256
MAX_TEXT = {Channel.WHATSAPP: 4096, Channel.SMS: 1600}
MAX_CAPTION = 1024
MB = 1024 * 1024
OUTGOING_PREFIX = "whatsapp-media/whatsapp-media-outgoing/"
INCOMING_PREFIX = "whatsapp-media/whatsapp-media-incoming/"
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: keys travel in callback data
JOB = re.compile(r"^bulkJobs/[0-9A-HJKMNP-TV-Z]{26}$")

# docs/DESIGN.md "The WhatsApp channel", media limits: kind -> (MIME types, largest size in bytes).
MEDIA_LIMITS: dict[str, tuple[frozenset[str], int]] = {
    "IMAGE": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "AUDIO": (frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MB),
    "VIDEO": (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    "DOCUMENT": (
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * MB,
    ),
    "STICKER": (frozenset({"image/webp"}), 100 * 1024),
}
ANIMATED_STICKER_MAX = 500 * 1024
KINDS_BY_CHANNEL = {
    Channel.WHATSAPP: {"text", "media", "template", "location", "contacts", "interactive", "reaction"},
    Channel.SMS: {"text"},
    Channel.EMAIL: {"email"},
}


@dataclass(frozen=True)
class Draft:
    """An outbound message as the caller gave it (proto field names, content as its plain dict)."""

    channel: Channel | None
    category: Category | None
    recipient: str
    content: dict[str, Any]
    origination: str = ""
    contact: str = ""
    idempotency_key: str = ""
    reply_to: str = ""
    track_links: bool = False  # mint a tracked link per URL for this recipient (outbound/tracking.py)
    job: str = ""  # bulkJobs/{id}: the bulk job sending it


def _v(violations: list[FieldViolation], path: str, description: str) -> None:
    violations.append(FieldViolation(path, description))


def validate(draft: Draft, prefix: str, region: str, senders: dict[Channel, tuple[str, ...]]) -> Draft:
    """Checks the message's shape; returns it normalised (E.164 recipient, lower-case email). Raises one
    InvalidArgument naming every offending field under `prefix` (e.g. `message`, `messages[3]`)."""
    bad: list[FieldViolation] = []
    channel, category = draft.channel, draft.category
    if channel is None:
        _v(bad, f"{prefix}.channel", "required: WHATSAPP, SMS or EMAIL")
    if category is None:
        _v(bad, f"{prefix}.category", "required: MARKETING, UTILITY, AUTHENTICATION or SERVICE")
    recipient = draft.recipient.strip()
    if not recipient and not draft.contact:
        _v(bad, f"{prefix}.recipient", "required (or contact)")
    elif recipient and channel in (Channel.WHATSAPP, Channel.SMS):
        normal = phones.e164(recipient, region)
        if normal is None:
            _v(bad, f"{prefix}.recipient", f"{recipient!r} is not a valid phone number")
        recipient = normal or recipient
    elif recipient and channel == Channel.EMAIL:
        if not EMAIL.match(recipient):
            _v(bad, f"{prefix}.recipient", f"{recipient!r} is not an email address")
        recipient = recipient.lower()
    if draft.job and not JOB.match(draft.job):
        _v(bad, f"{prefix}.job", "a bulk job, `bulkJobs/{id}`")
    if draft.origination and channel is not None and draft.origination not in senders.get(channel, ()):
        _v(bad, f"{prefix}.origination", f"{draft.origination!r} is not a configured {channel.value} sender")
    key = draft.idempotency_key
    if key and (len(key) > MAX_KEY or not KEY_CHARS.match(key)):
        _v(bad, f"{prefix}.idempotency_key", f"at most {MAX_KEY} printable ASCII characters without spaces")
    kinds = [k for k, v in draft.content.items() if v is not None]
    if len(kinds) != 1:
        _v(bad, f"{prefix}.content", "exactly one kind of content is required")
    elif channel is not None:
        kind = kinds[0]
        if kind not in KINDS_BY_CHANNEL[channel]:
            _v(bad, f"{prefix}.content.{kind}", f"cannot be sent on {channel.value}")
        else:
            _content(bad, f"{prefix}.content.{kind}", kind, draft.content[kind], channel)
    if bad:
        raise InvalidArgument(bad)
    return Draft(
        channel,
        category,
        recipient,
        draft.content,
        draft.origination,
        draft.contact,
        key,
        draft.reply_to,
        draft.track_links,
        draft.job,
    )


def _content(bad: list[FieldViolation], path: str, kind: str, body: dict[str, Any], channel: Channel) -> None:
    if kind == "text":
        text = body.get("body", "")
        if not text.strip():
            _v(bad, f"{path}.body", "required")
        elif len(text) > MAX_TEXT[channel]:
            _v(bad, f"{path}.body", f"at most {MAX_TEXT[channel]} characters on {channel.value}")
    elif kind == "media":
        media(bad, path, body, outgoing=True)
    elif kind == "template":
        for name in ("template_name", "language"):
            if not body.get(name):
                _v(bad, f"{path}.{name}", "required")
        for i, p in enumerate(body.get("body_parameters") or []):
            if not p.get("text"):
                _v(bad, f"{path}.body_parameters[{i}].text", "required")
        for i, b in enumerate(body.get("button_parameters") or []):
            if b.get("sub_type") not in ("url", "quick_reply", "copy_code"):
                _v(bad, f"{path}.button_parameters[{i}].sub_type", "url, quick_reply or copy_code")
        if body.get("header_media"):
            media(bad, f"{path}.header_media", body["header_media"], outgoing=True)
        if body.get("flow_button_json"):
            passthrough.check_flow_button(bad, f"{path}.flow_button_json", body["flow_button_json"])
    elif kind == "location":
        lat, lng = body.get("latitude", 0.0), body.get("longitude", 0.0)
        if not (-90 <= lat <= 90) or math.isnan(lat):
            _v(bad, f"{path}.latitude", "between -90 and 90")
        if not (-180 <= lng <= 180) or math.isnan(lng):
            _v(bad, f"{path}.longitude", "between -180 and 180")
    elif kind == "contacts":
        cards = body.get("contacts") or []
        if not cards:
            _v(bad, f"{path}.contacts", "at least one contact card")
        for i, card in enumerate(cards):
            if not card.get("formatted_name"):
                _v(bad, f"{path}.contacts[{i}].formatted_name", "required")
    elif kind == "interactive":
        _interactive(bad, path, body)
    elif kind == "reaction":
        if not str(body.get("message", "")).startswith("messages/"):
            _v(bad, f"{path}.message", "the message reacted to, `messages/{id}`")
    elif kind == "email":
        if not body.get("subject", "").strip():
            _v(bad, f"{path}.subject", "required")
        if not (body.get("text_body") or body.get("html_body")):
            _v(bad, f"{path}.text_body", "a text or an HTML body is required")


def _interactive(bad: list[FieldViolation], path: str, body: dict[str, Any]) -> None:
    kind = body.get("kind")
    if kind in passthrough.TYPES:  # Meta's own object, as the commerce service built it
        passthrough.check_interactive(bad, path, kind, body.get("interactive_json"))
        return
    if kind not in ("INTERACTIVE_KIND_BUTTON", "INTERACTIVE_KIND_LIST", "INTERACTIVE_KIND_CTA_URL"):
        _v(bad, f"{path}.kind", "BUTTON, LIST, CTA_URL, FLOW, ORDER_DETAILS or ORDER_STATUS")
        return
    if not body.get("body_text"):
        _v(bad, f"{path}.body_text", "required")
    if kind == "INTERACTIVE_KIND_BUTTON":
        buttons = body.get("buttons") or []
        if not 1 <= len(buttons) <= 3:
            _v(bad, f"{path}.buttons", "one to three reply buttons")
        for i, b in enumerate(buttons):
            if not b.get("id") or not 0 < len(b.get("title", "")) <= 20:
                _v(bad, f"{path}.buttons[{i}]", "an id and a title of at most 20 characters")
    elif kind == "INTERACTIVE_KIND_LIST":
        sections = body.get("sections") or []
        if not body.get("list_button_text"):
            _v(bad, f"{path}.list_button_text", "required")
        if not 1 <= len(sections) <= 10:
            _v(bad, f"{path}.sections", "one to ten sections")
        for i, s in enumerate(sections):
            for j, row in enumerate(s.get("rows") or []):
                if not row.get("id") or not 0 < len(row.get("title", "")) <= 24:
                    _v(bad, f"{path}.sections[{i}].rows[{j}]", "an id and a title of at most 24 characters")
    elif kind == "INTERACTIVE_KIND_CTA_URL":
        if not body.get("cta_display_text"):
            _v(bad, f"{path}.cta_display_text", "required")
        if not str(body.get("cta_url", "")).startswith("https://"):
            _v(bad, f"{path}.cta_url", "an https URL")


def media(bad: list[FieldViolation], path: str, body: dict[str, Any], *, outgoing: bool) -> None:
    """The media limits of docs/DESIGN.md "The WhatsApp channel": MIME type by kind, and size."""
    kind = str(body.get("kind", "")).removeprefix("MEDIA_KIND_")
    if kind not in MEDIA_LIMITS:
        _v(bad, f"{path}.kind", "IMAGE, AUDIO, VIDEO, DOCUMENT or STICKER")
        return
    types, largest = MEDIA_LIMITS[kind]
    if kind == "STICKER" and body.get("animated"):
        largest = ANIMATED_STICKER_MAX
    mime = body.get("mime_type", "")
    if mime not in types:
        _v(bad, f"{path}.mime_type", f"MEDIA_TYPE_UNSUPPORTED: {kind.lower()} takes {', '.join(sorted(types))}")
    size = int(body.get("size_bytes") or 0)
    if size <= 0:
        _v(bad, f"{path}.size_bytes", "required: the object's size in bytes")
    elif size > largest:
        _v(bad, f"{path}.size_bytes", f"MEDIA_TOO_LARGE: {kind.lower()} is at most {largest} bytes")
    key = body.get("media_key", "")
    if outgoing and (not key.startswith(OUTGOING_PREFIX) or ".." in key or len(key) <= len(OUTGOING_PREFIX)):
        _v(bad, f"{path}.media_key", f"an object under {OUTGOING_PREFIX} (from CreateMediaUpload)")
    if kind in ("AUDIO", "STICKER") and body.get("caption"):
        _v(bad, f"{path}.caption", f"{kind.lower()} takes no caption")
    if len(body.get("caption", "")) > MAX_CAPTION:
        _v(bad, f"{path}.caption", f"at most {MAX_CAPTION} characters")


@dataclass(frozen=True)
class RuleFacts:
    """What the rules need to know about one message, gathered by the caller."""

    consent: str = "UNKNOWN"  # UNKNOWN | OPTED_IN | OPTED_OUT on the message's channel
    window_open: bool = False  # WhatsApp: the customer wrote to this phone within 24 hours
    template: Template | None = None
    suppressed: str | None = None  # why marketing to this recipient is suppressed (131050)
    sender_paused_until: float = 0.0
    marketing_requires_opt_in: bool = False
    opt_out_confirmation: bool = False  # the one message allowed after an opt-out
    marketing_sent: int = 0  # marketing messages the recipient got within the cap's period
    marketing_cap: int = 0  # the platform's cap on them (0: none)
    phone_quality: str = ""  # the sending phone's quality as Meta last said (RED: Meta's lowest)
    extra: dict[str, Any] = field(default_factory=dict)


def refuse(reason: str, message: str, subject: str) -> FailedPrecondition:
    return FailedPrecondition(message, reason=reason, metadata={"subject": subject})


def check_rules(draft: Draft, facts: RuleFacts, now: float) -> Category:
    """Raises FailedPrecondition naming the first rule the message breaks; returns its effective category
    (a template's own category when the caller gave none that differs)."""
    assert draft.channel is not None and draft.category is not None
    subject = draft.recipient
    if facts.consent == "OPTED_OUT" and not facts.opt_out_confirmation:
        raise refuse(
            "CONSENT_OPTED_OUT", f"{subject} opted out of {draft.channel.value}; nothing is sent there", subject
        )
    category = draft.category
    template_body = draft.content.get("template")
    if draft.channel == Channel.WHATSAPP:
        if template_body is None and not facts.window_open:
            raise refuse(
                "WINDOW_CLOSED",
                "the 24-hour customer service window is closed: only approved templates may be sent",
                subject,
            )
        if template_body is not None:
            category = _check_template(template_body, facts.template, category, subject)
        if facts.sender_paused_until > now:
            raise refuse("SENDER_PAUSED", "the sending phone is paused after Meta's spam rate limit (131048)", subject)
    if category == Category.MARKETING:
        if facts.marketing_requires_opt_in and facts.consent != "OPTED_IN":
            raise refuse("MARKETING_CONSENT_REQUIRED", f"marketing needs {subject} to have opted in", subject)
        if facts.suppressed:
            raise refuse("MARKETING_SUPPRESSED", f"{subject} stopped marketing messages ({facts.suppressed})", subject)
        if facts.marketing_cap and facts.marketing_sent >= facts.marketing_cap:
            raise refuse(
                "MARKETING_FREQUENCY_CAP",
                f"{subject} got {facts.marketing_sent} marketing messages within the cap's period already",
                subject,
            )
        if facts.phone_quality == "RED":
            raise refuse("PHONE_QUALITY_LOW", "the sending phone's quality is at Meta's lowest: no marketing", subject)
    return category


def _check_template(body: dict[str, Any], template: Template | None, category: Category, subject: str) -> Category:
    name = f"{body.get('template_name')}.{body.get('language')}"
    if template is None:
        raise refuse("TEMPLATE_UNKNOWN", f"template {name} is not in the synced catalogue", subject)
    if template.template_status != "APPROVED":
        why = f"template {name} is {template.template_status}" + (
            f": {template.status_reason}" if template.status_reason else ""
        )
        reason = {"PAUSED": "TEMPLATE_PAUSED", "DISABLED": "TEMPLATE_DISABLED"}.get(template.template_status)
        raise refuse(reason or "TEMPLATE_NOT_APPROVED", why, subject)
    if category != template.category:
        raise refuse(
            "CATEGORY_MISMATCH",
            f"template {name} is {template.category.value}, the message says {category.value}",
            subject,
        )
    given = body.get("body_parameters") or []
    names = [p.get("name", "") for p in given]
    wanted = list(template.body_variables)
    positional = all(v.isdigit() for v in wanted)
    if positional and (len(given) != len(wanted) or any(names)):
        raise refuse(
            "TEMPLATE_VARIABLES_INCOMPLETE",
            f"template {name} takes {len(wanted)} body values in order, {len(given)} given",
            subject,
        )
    if not positional and sorted(names) != sorted(wanted):
        missing = sorted(set(wanted) - set(names))
        raise refuse(
            "TEMPLATE_VARIABLES_INCOMPLETE",
            f"template {name} needs body values {wanted}; missing {missing}",
            subject,
        )
    if len(body.get("header_parameters") or []) != len(template.header_variables):
        raise refuse(
            "TEMPLATE_VARIABLES_INCOMPLETE",
            f"template {name} takes {len(template.header_variables)} header values",
            subject,
        )
    if template.header_media_kind and not body.get("header_media"):
        raise refuse(
            "TEMPLATE_VARIABLES_INCOMPLETE",
            f"template {name} has a {template.header_media_kind.lower()} header: header_media is required",
            subject,
        )
    buttons = sorted(int(b.get("index", 0)) for b in body.get("button_parameters") or [])
    if buttons != sorted(template.dynamic_buttons):
        raise refuse(
            "TEMPLATE_VARIABLES_INCOMPLETE",
            f"template {name} takes values for buttons {list(template.dynamic_buttons)}",
            subject,
        )
    return template.category


def window_open(last_inbound: float | None, now: float, window: float = WINDOW_SECONDS) -> bool:
    """Whether the customer's window is open; `window` is Meta's 24 hours in real seconds (runtime.timescale)."""
    return last_inbound is not None and now < last_inbound + window


KEY_PREFIX = re.compile(r"^[^/]+/[^/]+/")


def key_scope(key: str) -> str:
    """The part of an idempotency key that groups it for withdrawal: its first two segments
    (`bulkJobs/<job id>` of `bulkJobs/<job id>/<recipient>`), or the whole key."""
    parts = key.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else key


def withdrawal_target(prefix: str) -> str:
    """`prefix` when it names at least `<kind>/<id>/`, `key` for a whole key; INVALID_ARGUMENT otherwise."""
    if not prefix or len(prefix) > MAX_KEY or not KEY_CHARS.match(prefix):
        raise InvalidArgument("idempotency_key_prefix", "required: `<kind>/<id>/` (e.g. `bulkJobs/<job id>/`) or a key")
    if prefix.endswith("/"):
        if not KEY_PREFIX.match(prefix):
            raise InvalidArgument(
                "idempotency_key_prefix", "a prefix must name at least `<kind>/<id>/`, e.g. `bulkJobs/<job id>/`"
            )
        return "prefix"
    return "key"
