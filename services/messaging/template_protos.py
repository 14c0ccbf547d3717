"""Templates and the tier between protobuf and the domain: a Template resource read into a draft (CreateTemplate,
UpdateTemplate's changes, a library request), a catalogue entry written out with its components as header, body,
footer and buttons, and the messaging tier (GetMessagingTier)."""

from __future__ import annotations

from typing import Any

from google.protobuf import field_mask_pb2

from runtime.errors import InvalidArgument
from runtime.names import timestamp
from services.messaging.domain import templates
from services.messaging.domain.model import Template
from services.messaging.domain.templates import Button, Draft
from services.messaging.outbound.template_lifecycle import UPDATABLE, Library
from services.messaging.outbound.tier_view import TierView
from services.messaging.protos import CATEGORIES, CATEGORIES_PB, MEDIA_KINDS_PB
from wecare.messaging.v1 import messaging_service_pb2 as pb

HEADER_FORMATS = {
    pb.TEMPLATE_HEADER_FORMAT_UNSPECIFIED: "",
    pb.TEMPLATE_HEADER_FORMAT_TEXT: "TEXT",
    pb.TEMPLATE_HEADER_FORMAT_IMAGE: "IMAGE",
    pb.TEMPLATE_HEADER_FORMAT_VIDEO: "VIDEO",
    pb.TEMPLATE_HEADER_FORMAT_DOCUMENT: "DOCUMENT",
}
HEADER_FORMATS_PB = {v: k for k, v in HEADER_FORMATS.items()}
BUTTON_KINDS = {
    pb.TEMPLATE_BUTTON_KIND_QUICK_REPLY: "QUICK_REPLY",
    pb.TEMPLATE_BUTTON_KIND_URL: "URL",
    pb.TEMPLATE_BUTTON_KIND_PHONE_NUMBER: "PHONE_NUMBER",
}
BUTTON_KINDS_PB = {v: k for k, v in BUTTON_KINDS.items()}
FORMATS = {pb.TEMPLATE_PARAMETER_FORMAT_NAMED: "NAMED"}


def _category(value: int) -> str:
    category = CATEGORIES.get(value)
    return category.value if category is not None else ""


def _buttons(items) -> tuple[Button, ...]:
    return tuple(Button(BUTTON_KINDS.get(b.kind, ""), b.text, b.url, b.url_example, b.phone_number) for b in items)


def _fields(t: pb.Template) -> dict[str, Any]:
    """The draft's fields a Template message gives (unset messages give their empty values)."""
    return {
        "header_format": HEADER_FORMATS.get(t.header.format, ""),
        "header_text": t.header.text,
        "header_example": t.header.example,
        "header_media_key": t.header.media_key,
        "body_text": t.body.text,
        "body_examples": tuple(t.body.examples),
        "named_examples": dict(t.body.named_examples),
        "footer_text": t.footer_text,
        "buttons": _buttons(t.buttons),
    }


def draft_of(t: pb.Template) -> Draft:
    return Draft(
        template_name=t.template_name,
        language=t.language,
        category=_category(t.category),
        parameter_format=FORMATS.get(t.parameter_format, "POSITIONAL"),
        **_fields(t),
    )


def library_of(t: pb.Template) -> Library | None:
    if not t.HasField("library_template"):
        return None
    lib = t.library_template
    buttons: list[dict[str, Any]] = []
    for b in lib.button_inputs:
        entry: dict[str, Any] = {"type": BUTTON_KINDS.get(b.kind, "")}
        if b.phone_number:
            entry["phoneNumber"] = b.phone_number
        if b.url:
            entry["url"] = {"base_url": b.url, **({"url_suffix_example": b.url_example} if b.url_example else {})}
        buttons.append(entry)
    body = {
        name: getattr(lib, field)
        for name, field in (
            ("addContactNumber", "add_contact_number"),
            ("addLearnMoreLink", "add_learn_more_link"),
            ("addSecurityRecommendation", "add_security_recommendation"),
            ("addTrackPackageLink", "add_track_package_link"),
            ("codeExpirationMinutes", "code_expiration_minutes"),
        )
        if getattr(lib, field)
    }
    return Library(lib.library_template_name, tuple(buttons), body)


def changes_of(t: pb.Template, mask: field_mask_pb2.FieldMask) -> dict[str, Any]:
    """UpdateTemplate: the draft fields to change, from the mask (empty: every updatable part that is set)."""
    paths = list(mask.paths)
    unknown = [p for p in paths if p not in UPDATABLE]
    if unknown:
        raise InvalidArgument("update_mask", f"{unknown[0]!r} cannot be changed; only {', '.join(UPDATABLE)}")
    if not paths:
        paths = [
            p
            for p, present in (
                ("header", t.HasField("header")),
                ("body", t.HasField("body")),
                ("footer_text", bool(t.footer_text)),
                ("buttons", bool(t.buttons)),
                ("category", t.category != pb.CATEGORY_UNSPECIFIED),
            )
            if present
        ]
    if not paths:
        raise InvalidArgument("update_mask", "nothing to change: name header, body, footer_text, buttons or category")
    fields = _fields(t)
    out: dict[str, Any] = {}
    for p in paths:
        if p == "header":
            out.update({k: v for k, v in fields.items() if k.startswith("header_")})
        elif p == "body":
            out.update({k: fields[k] for k in ("body_text", "body_examples", "named_examples")})
        elif p == "category":
            out["category"] = _category(t.category)
        else:
            out[p] = fields[p]
    return out


def template_to_proto(t: Template) -> pb.Template:
    draft = templates.draft_of(t)
    out = pb.Template(
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
        status_reason=t.status_reason,
        parameter_format=(
            pb.TEMPLATE_PARAMETER_FORMAT_NAMED
            if t.parameter_format == "NAMED"
            else pb.TEMPLATE_PARAMETER_FORMAT_POSITIONAL
        ),
        body=pb.TemplateBody(
            text=draft.body_text, examples=list(draft.body_examples), named_examples=draft.named_examples
        ),
        footer_text=draft.footer_text,
        buttons=[
            pb.TemplateButton(
                kind=BUTTON_KINDS_PB.get(b.kind, pb.TEMPLATE_BUTTON_KIND_UNSPECIFIED),
                text=b.text,
                url=b.url,
                url_example=b.url_example,
                phone_number=b.phone_number,
            )
            for b in draft.buttons
        ],
    )
    if draft.header_format:
        out.header.CopyFrom(
            pb.TemplateHeader(
                format=HEADER_FORMATS_PB.get(draft.header_format, pb.TEMPLATE_HEADER_FORMAT_UNSPECIFIED),
                text=draft.header_text,
                example=draft.header_example,
                media_key=draft.header_media_key if draft.header_media_key != "(uploaded)" else "",
            )
        )
    for field, value in (("previous_category", t.previous_category), ("upcoming_category", t.upcoming_category)):
        category = next((c for c in CATEGORIES_PB if c.value == value), None)
        if category is not None:
            setattr(out, field, CATEGORIES_PB[category])
    if t.status_time:
        out.status_time.CopyFrom(timestamp(t.status_time))
    if t.update_time:
        out.update_time.CopyFrom(timestamp(t.update_time))
    return out


def tier_to_proto(v: TierView) -> pb.MessagingTier:
    return pb.MessagingTier(
        limit=max(0, v.limits.limit),
        limit_source=v.limits.source,
        reserve=v.limits.reserve,
        used=v.used,
        marketing_available=v.marketing_available,
        available=v.available,
        releases=[pb.TierRelease(release_time=timestamp(t), count=n) for t, n in v.releases],
        window_seconds=v.window,
        bucket_seconds=v.bucket_seconds,
        release_lag_seconds=v.release_lag,
        phones=[
            pb.PhoneQuality(
                origination=p.origination,
                quality=p.quality,
                marketing_stopped=p.marketing_stopped,
                update_time=timestamp(p.update_time) if p.update_time else None,
            )
            for p in v.phones
        ],
        observe_time=timestamp(v.observed),
    )
