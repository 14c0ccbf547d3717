"""What a job says and whether it may be created, no I/O: the job's shape (channel, category, content,
originations, audience, schedule), per-recipient placeholders and their values, inline recipients row by row,
a template's variables against the catalogue, and why an audience member is suppressed.

Bad input is INVALID_ARGUMENT naming the field or the row (`job.inline_audience.recipients[12].address`), all
problems at once. An address that reads as a phone number but that no phone can have is not bad input: that
recipient is suppressed as `invalid_number` (the dry run counts them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from runtime.errors import FieldViolation, InvalidArgument
from runtime.phones import e164
from services.bulk.domain.model import MAX_INLINE, Channel

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION", "SERVICE")
CONTENT_KINDS = ("text", "media", "template", "location", "contacts", "interactive", "reaction", "email")
KINDS_BY_CHANNEL = {
    Channel.WHATSAPP: frozenset(CONTENT_KINDS) - {"email"},
    Channel.SMS: frozenset({"text"}),
    Channel.EMAIL: frozenset({"email"}),
}
MAX_NAME = 200
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")
FIELDS = ("display_name", "phone_number", "email")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PHONE_SHAPE = re.compile(r"^\+?[0-9][0-9 ()./\-]{4,24}$")
EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
TAG = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
MAX_QUERY_TAGS = 50  # a contact holds at most 50 tags: contacts refuses a longer filter


@dataclass(frozen=True)
class Candidate:
    """One member of an audience before suppression: a contact, or an inline recipient."""

    address: str  # as given (inline) or the contact's address on the channel
    contact: str = ""  # contact id
    display_name: str = ""
    phone_number: str = ""
    email: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    consent: str = "UNKNOWN"  # UNKNOWN | OPTED_IN | OPTED_OUT on the job's channel


@dataclass(frozen=True)
class Admitted:
    address: str  # normalised: E.164 or lower-case email
    values: dict[str, str]


@dataclass(frozen=True)
class TemplateFacts:
    """What the catalogue says about a WhatsApp template."""

    name: str
    language: str
    category: str
    status: str
    body_variables: tuple[str, ...] = ()
    header_variables: tuple[str, ...] = ()
    header_media: bool = False
    dynamic_buttons: tuple[int, ...] = ()


# --- placeholders -----------------------------------------------------------------------------------------


def _strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))


def _dotted(path: tuple) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


@dataclass(frozen=True)
class Site:
    """A text of the content that holds placeholders: where it is, and the text with them."""

    path: tuple  # proto field names and list indexes, from the Content message
    text: str


def sites(content: dict[str, Any]) -> list[Site]:
    return [Site(path, text) for path, text in _strings(content, ()) if PLACEHOLDER.search(text)]


def placeholders(content: dict[str, Any]) -> set[str]:
    """The known placeholders the content uses (check_job reports the unknown ones)."""
    return {m.group(1) for _, text in _strings(content, ()) for m in PLACEHOLDER.finditer(text) if _known(m.group(1))}


def _known(name: str) -> bool:
    if name in FIELDS:
        return True
    head, _, key = name.partition(".")
    return head == "attributes" and bool(ATTRIBUTE_KEY.match(key))


def render(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def values_of(candidate: Candidate, names: set[str]) -> tuple[dict[str, str], list[str]]:
    """The recipient's value for each placeholder, and the placeholders it has no (non-empty) value for."""
    values, missing = {}, []
    for name in sorted(names):
        if name.startswith("attributes."):
            value = candidate.attributes.get(name.partition(".")[2], "")
        else:
            value = getattr(candidate, name)
        if value:
            values[name] = value
        else:
            missing.append(name)
    return values, missing


# --- the job's shape ----------------------------------------------------------------------------------------


@dataclass
class Problems:
    found: list[FieldViolation] = field(default_factory=list)

    def add(self, path: str, description: str) -> None:
        self.found.append(FieldViolation(path, description))

    def raise_any(self) -> None:
        if self.found:
            raise InvalidArgument(self.found[:100])


def check_job(
    problems: Problems,
    *,
    channel: Channel | None,
    category: str | None,
    content: dict[str, Any],
    content_kind: str | None,
    originations: tuple[str, ...],
    configured: dict[Channel, tuple[str, ...]],
    display_name: str,
    schedule_time: float | None,
    now: float,
) -> None:
    """Everything about a job except its audience."""
    if channel is None:
        problems.add("job.channel", "required: WHATSAPP, SMS or EMAIL")
    if category not in CATEGORIES:
        problems.add("job.category", f"required: one of {', '.join(CATEGORIES)}")
    if len(display_name) > MAX_NAME:
        problems.add("job.display_name", f"at most {MAX_NAME} characters")
    if schedule_time is not None and schedule_time <= now:
        problems.add("job.schedule_time", "must be in the future (leave it unset to send at StartJob)")
    if channel is not None:
        senders = configured.get(channel, ())
        for i, origination in enumerate(originations):
            if origination not in senders:
                problems.add(f"job.originations[{i}]", f"{origination!r} is not a configured {channel.value} sender")
        if len(set(originations)) != len(originations):
            problems.add("job.originations", "each at most once")
    if content_kind is None:
        problems.add("job.content", "required: one kind of content (text, template, media, email, ...)")
        return
    if channel is not None and content_kind not in KINDS_BY_CHANNEL[channel]:
        allowed = ", ".join(sorted(KINDS_BY_CHANNEL[channel]))
        problems.add(f"job.content.{content_kind}", f"{channel.value} takes {allowed} content")
    body = content.get(content_kind) or {}
    if content_kind == "text" and not str(body.get("body", "")).strip():
        problems.add("job.content.text.body", "required")
    if content_kind == "template":
        for name in ("template_name", "language"):
            if not body.get(name):
                problems.add(f"job.content.template.{name}", "required")
    if content_kind == "email":
        if not str(body.get("subject", "")).strip():
            problems.add("job.content.email.subject", "required")
        if not body.get("text_body") and not body.get("html_body"):
            problems.add("job.content.email.text_body", "required: a text_body or an html_body")
    for path, text in _strings(content, ()):
        for match in PLACEHOLDER.finditer(text):
            if not _known(match.group(1)):
                problems.add(
                    "job.content" + _dotted(path),
                    f"unknown placeholder {match.group(0)}: use {{{{display_name}}}}, {{{{phone_number}}}}, "
                    "{{email}} or {{attributes.<key>}}",
                )


FORM = re.compile(r"^forms/[0-9A-HJKMNP-TV-Z]{26}$")


def check_form(problems: Problems, channel: Channel | None, content: dict[str, Any], form: str) -> None:
    """A form job: a published form (`forms/{id}`) sent on WhatsApp as an interactive FLOW, or as a template
    with a FLOW button (each recipient's flow token is put in per recipient)."""
    if not form:
        return
    if not FORM.match(form):
        problems.add("job.form", "a form, `forms/{id}`")
    if channel is not None and channel != Channel.WHATSAPP:
        problems.add("job.form", "a form is sent on WhatsApp")
    interactive = content.get("interactive")
    if interactive is not None and interactive.get("kind") != "INTERACTIVE_KIND_FLOW":
        problems.add("job.content.interactive.kind", "FLOW: a form goes as a flow message")
    elif interactive is None and "template" not in content:
        problems.add("job.content", "a form goes as an interactive FLOW or a template with a FLOW button")


def check_template(problems: Problems, body: dict[str, Any], facts: TemplateFacts | None, category: str | None) -> None:
    """A template message against the catalogue: it exists, is approved, and gets each of its variables."""
    path = "job.content.template"
    name = f"{body.get('template_name')} ({body.get('language')})"
    if facts is None:
        problems.add(f"{path}.template_name", f"template {name} is not in the synced catalogue")
        return
    if facts.status != "APPROVED":
        problems.add(f"{path}.template_name", f"template {name} is {facts.status}, not APPROVED")
    if category and category != facts.category:
        problems.add("job.category", f"template {name} is {facts.category}")
    given = body.get("body_parameters") or []
    wanted = list(facts.body_variables)
    if all(v.isdigit() for v in wanted):
        if len(given) != len(wanted) or any(p.get("name") for p in given):
            problems.add(
                f"{path}.body_parameters",
                f"template {name} takes {len(wanted)} body values in order "
                f"({', '.join('{{' + v + '}}' for v in wanted)}); {len(given)} given",
            )
    elif sorted(p.get("name", "") for p in given) != sorted(wanted):
        problems.add(f"{path}.body_parameters", f"template {name} takes body values named {wanted}")
    for i, p in enumerate(given):
        if not str(p.get("text", "")).strip():
            problems.add(f"{path}.body_parameters[{i}].text", "required (a value or a placeholder)")
    if len(body.get("header_parameters") or []) != len(facts.header_variables):
        problems.add(f"{path}.header_parameters", f"template {name} takes {len(facts.header_variables)} header values")
    if facts.header_media and not body.get("header_media"):
        problems.add(f"{path}.header_media", f"template {name} has a media header: required")
    buttons = sorted(int(b.get("index", 0)) for b in body.get("button_parameters") or [])
    if buttons != sorted(facts.dynamic_buttons):
        problems.add(
            f"{path}.button_parameters", f"template {name} takes values for buttons {list(facts.dynamic_buttons)}"
        )


# --- the audience -------------------------------------------------------------------------------------------


def check_contact_query(problems: Problems, tags: list[str], search: str) -> tuple[str, ...]:
    out = []
    for i, tag in enumerate(tags):
        tag = tag.strip().lower()
        if not TAG.match(tag):
            problems.add(f"job.contact_query.tags[{i}]", f"{tag!r} is not a tag")
        out.append(tag)
    if len(set(out)) > MAX_QUERY_TAGS:
        problems.add("job.contact_query.tags", f"at most {MAX_QUERY_TAGS} tags")
    if len(search) > 200:
        problems.add("job.contact_query.search", "at most 200 characters")
    return tuple(out)


def check_inline(problems: Problems, rows: list[Candidate], channel: Channel | None, names: set[str]) -> None:
    """Row by row: an address that could be one on the channel, attributes with usable keys, and a value for
    every placeholder the content uses."""
    if not rows:
        problems.add("job.inline_audience.recipients", "the audience is empty: at least one recipient")
        return
    if len(rows) > MAX_INLINE:
        problems.add("job.inline_audience.recipients", f"at most {MAX_INLINE:,} recipients ({len(rows):,} given)")
        return
    for i, row in enumerate(rows):
        path = f"job.inline_audience.recipients[{i}]"
        address = row.address.strip()
        if not address:
            problems.add(f"{path}.address", "required")
        elif channel == Channel.EMAIL and not EMAIL_SHAPE.match(address):
            problems.add(f"{path}.address", f"{address!r} is not an email address")
        elif channel in (Channel.WHATSAPP, Channel.SMS) and not PHONE_SHAPE.match(address):
            problems.add(f"{path}.address", f"{address!r} is not a phone number")
        for key in row.attributes:
            if not ATTRIBUTE_KEY.match(key):
                problems.add(f"{path}.attributes", f"{key!r} is not an attribute key")
        _, missing = values_of(_inline_view(row, channel), names)
        for name in missing:
            where = f"{path}.attributes" if name.startswith("attributes.") else f"{path}.display_name"
            problems.add(where, f"no value for {{{{{name}}}}}, which the content uses")
        if len(problems.found) >= 100:
            return


def _inline_view(row: Candidate, channel: Channel | None) -> Candidate:
    """An inline recipient's address also answers {{phone_number}} or {{email}}."""
    if channel == Channel.EMAIL:
        return Candidate(row.address, row.contact, row.display_name, "", row.address.strip(), row.attributes)
    return Candidate(row.address, row.contact, row.display_name, row.address.strip(), "", row.attributes)


def admit(
    candidate: Candidate, channel: Channel, region: str, names: set[str], consent_required: str, inline: bool
) -> Admitted | str:
    """The recipient as sent to (normalised address, placeholder values), or why they are suppressed."""
    raw = candidate.address.strip()
    if not raw:
        return "no_address"
    if channel == Channel.EMAIL:
        if not EMAIL_SHAPE.match(raw):
            return "invalid_address"
        address = raw.lower()
    elif candidate.contact and E164.match(raw):
        address = raw  # the contacts service keeps numbers in E.164, checked when they were written
    else:
        address = e164(raw, region) or ""
        if not address:
            return "invalid_number"
    if candidate.consent == "OPTED_OUT":
        return "opted_out"
    if consent_required == "OPTED_IN" and candidate.consent != "OPTED_IN":
        return "not_opted_in"
    view = _inline_view(candidate, channel) if inline else candidate
    values, missing = values_of(view, names)
    if missing:
        return "missing_variable"
    return Admitted(address, values)


def phone_address(channel: Channel) -> bool:
    return channel in (Channel.WHATSAPP, Channel.SMS)
