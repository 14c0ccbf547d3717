"""Templates as Meta reviews them, no I/O: a draft checked against Meta's rules before anything is submitted (every
refusal names its field), the definition EUM Social's CreateWhatsAppMessageTemplate takes (Meta's message template
JSON), the catalogue entry it becomes, and how Meta's status and category events move it.

The rules (docs/DESIGN.md "Templates", with their sources): a name of lower-case letters, digits and underscores;
a body of at most 1,024 characters whose variables are `{{1}}`, `{{2}}`, ... without a gap (or, with the NAMED
parameter format, `{{first_name}}`), none at the very start or end, each with an example; a header of text (at
most 60 characters and one variable) or of media (an example file, uploaded as a handle); a footer of at most 60
characters without variables; at most 10 buttons, their texts at most 25 characters, quick replies together, at
most 2 URL buttons (a variable only as the URL's last part, `https://shop/{{1}}`, with an example URL) and 1 phone
number button."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from runtime import phones
from runtime.errors import FieldViolation, InvalidArgument
from services.messaging.domain.model import Category, Template

NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
NAMED_VARIABLE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_BODY, MAX_HEADER, MAX_FOOTER, MAX_BUTTON_TEXT, MAX_URL = 1024, 60, 60, 25, 2000
MAX_BUTTONS, MAX_URL_BUTTONS, MAX_PHONE_BUTTONS = 10, 2, 1
MEDIA_HEADERS = ("IMAGE", "VIDEO", "DOCUMENT")
BUTTON_KINDS = ("QUICK_REPLY", "URL", "PHONE_NUMBER")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
FORMATS = ("POSITIONAL", "NAMED")


@dataclass(frozen=True)
class Button:
    kind: str  # QUICK_REPLY | URL | PHONE_NUMBER
    text: str
    url: str = ""  # URL: the address, `{{1}}` as its last part for a dynamic suffix
    url_example: str = ""  # URL with a suffix: the whole example address
    phone_number: str = ""


@dataclass(frozen=True)
class Draft:
    """A template as an admin writes it (CreateTemplate, or UpdateTemplate's result)."""

    template_name: str
    language: str
    category: str
    parameter_format: str = "POSITIONAL"
    header_format: str = ""  # "" | TEXT | IMAGE | VIDEO | DOCUMENT
    header_text: str = ""
    header_example: str = ""
    header_media_key: str = ""  # the example file under the outgoing media prefix (a media header)
    body_text: str = ""
    body_examples: tuple[str, ...] = ()  # POSITIONAL: {{1}}'s, {{2}}'s, ...
    named_examples: dict[str, str] = field(default_factory=dict)  # NAMED: variable -> example
    footer_text: str = ""
    buttons: tuple[Button, ...] = ()


def variables(text: str) -> list[str]:
    """The variables of a text in order of first appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(text):
        if name not in seen:
            seen.append(name)
    return seen


def check(draft: Draft, prefix: str = "template") -> None:
    """INVALID_ARGUMENT naming every field that breaks Meta's rules; nothing when the draft may be submitted."""
    bad: list[FieldViolation] = []

    def v(path: str, why: str) -> None:
        bad.append(FieldViolation(f"{prefix}.{path}", why))

    if not NAME.match(draft.template_name):
        v("template_name", "required: lower-case letters, digits and underscores, at most 512")
    if not LANGUAGE.match(draft.language):
        v("language", "required: a language code such as en or en_US")
    if draft.category not in CATEGORIES:
        v("category", "MARKETING, UTILITY or AUTHENTICATION")
    elif draft.category == "AUTHENTICATION":
        v("category", "authentication templates take Meta's fixed text: create one from the library")
    if draft.parameter_format not in FORMATS:
        v("parameter_format", "POSITIONAL or NAMED")
    _body(draft, v)
    _header(draft, v)
    if len(draft.footer_text) > MAX_FOOTER:
        v("footer_text", f"at most {MAX_FOOTER} characters")
    if PLACEHOLDER.search(draft.footer_text):
        v("footer_text", "a footer takes no variables")
    _buttons(draft.buttons, v)
    if bad:
        raise InvalidArgument(bad)


def _variables_of(text: str, path: str, named: bool, v) -> list[str]:
    """The text's variables, each checked for the format; positional ones must run 1..n without a gap."""
    names = variables(text)
    if named:
        for n in names:
            if not NAMED_VARIABLE.match(n):
                v(path, f"{{{{{n}}}}} is not a named variable (lower-case letters, digits, underscores)")
        return names
    if any(not n.isdigit() for n in names):
        v(path, "positional variables are numbers ({{1}}, {{2}}, ...); named ones need parameter_format NAMED")
        return names
    numbers = sorted(int(n) for n in names)
    if numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, (max(numbers) if numbers else 0) + 1)) - set(numbers))
        v(path, f"variables are numbered from {{{{1}}}} without a gap: {{{{{missing[0]}}}}} is missing")
    return [str(n) for n in numbers]


def _body(draft: Draft, v) -> None:
    text, named = draft.body_text, draft.parameter_format == "NAMED"
    if not text.strip():
        v("body.text", "required")
        return
    if len(text) > MAX_BODY:
        v("body.text", f"at most {MAX_BODY} characters")
    names = _variables_of(text, "body.text", named, v)
    stripped = text.strip()
    if names and (PLACEHOLDER.match(stripped) or re.search(r"\{\{[^{}]*\}\}$", stripped)):
        v("body.text", "a variable may not start or end the body: write text around it")
    if named:
        for n in names:
            if not draft.named_examples.get(n, "").strip():
                v(f"body.named_examples[{n}]", f"an example of {{{{{n}}}}} is required")
        for n in sorted(set(draft.named_examples) - set(names)):
            v(f"body.named_examples[{n}]", "the body has no such variable")
    else:
        if len(draft.body_examples) != len(names):
            v("body.examples", f"one example for each of the body's {len(names)} variables, in order")
        for i, example in enumerate(draft.body_examples):
            if not example.strip():
                v(f"body.examples[{i}]", "empty")


def _header(draft: Draft, v) -> None:
    kind = draft.header_format
    if kind == "":
        if draft.header_text or draft.header_media_key:
            v("header.format", "TEXT, IMAGE, VIDEO or DOCUMENT: required with a header")
        return
    if kind == "TEXT":
        if not draft.header_text.strip():
            v("header.text", "required for a TEXT header")
        if len(draft.header_text) > MAX_HEADER:
            v("header.text", f"at most {MAX_HEADER} characters")
        names = _variables_of(draft.header_text, "header.text", draft.parameter_format == "NAMED", v)
        if len(names) > 1:
            v("header.text", "a header takes at most one variable")
        if names and not draft.header_example.strip():
            v("header.example", "an example of the header's variable is required")
        if draft.header_media_key:
            v("header.media_key", "a TEXT header has no media")
    elif kind in MEDIA_HEADERS:
        if not draft.header_media_key:
            v("header.media_key", f"an example {kind.lower()} (an uploaded media key) is required")
        if draft.header_text:
            v("header.text", f"an {kind} header has no text")
    else:
        v("header.format", "TEXT, IMAGE, VIDEO or DOCUMENT")


def _buttons(buttons: tuple[Button, ...], v) -> None:
    if len(buttons) > MAX_BUTTONS:
        v("buttons", f"at most {MAX_BUTTONS}")
    kinds = [b.kind for b in buttons]
    if kinds.count("URL") > MAX_URL_BUTTONS:
        v("buttons", f"at most {MAX_URL_BUTTONS} URL buttons")
    if kinds.count("PHONE_NUMBER") > MAX_PHONE_BUTTONS:
        v("buttons", f"at most {MAX_PHONE_BUTTONS} phone number button")
    quick = [i for i, k in enumerate(kinds) if k == "QUICK_REPLY"]
    if quick and quick != list(range(quick[0], quick[0] + len(quick))):
        v("buttons", "quick replies come together, before or after the other buttons")
    for i, b in enumerate(buttons):
        at = f"buttons[{i}]"
        if b.kind not in BUTTON_KINDS:
            v(f"{at}.kind", "QUICK_REPLY, URL or PHONE_NUMBER")
            continue
        if not b.text.strip() or len(b.text) > MAX_BUTTON_TEXT:
            v(f"{at}.text", f"required, at most {MAX_BUTTON_TEXT} characters")
        if b.kind == "URL":
            _url_button(b, at, v)
        elif b.kind == "PHONE_NUMBER" and not phones.e164(b.phone_number, ""):
            v(f"{at}.phone_number", "required: a phone number in E.164 (+919812345678)")


def _url_button(b: Button, at: str, v) -> None:
    if not re.match(r"^https?://[^\s{}]+", b.url) or len(b.url) > MAX_URL:
        v(f"{at}.url", f"required: an http(s) address of at most {MAX_URL} characters")
        return
    names = variables(b.url)
    if not names:
        return
    if names != ["1"] or not re.search(r"\{\{\s*1\s*\}\}$", b.url):
        v(f"{at}.url", "one variable at most, {{1}}, as the address's last part (a dynamic suffix)")
        return
    base = PLACEHOLDER.split(b.url)[0]
    if not b.url_example.startswith(base) or len(b.url_example) <= len(base):
        v(f"{at}.url_example", f"required with {{{{1}}}}: a whole example address starting {base}")


# --- what EUM Social takes ------------------------------------------------------------------------------


def components(draft: Draft, header_handle: str = "") -> list[dict[str, Any]]:
    """Meta's components of a checked draft; a media header names the handle its example was uploaded as."""
    named = draft.parameter_format == "NAMED"
    out: list[dict[str, Any]] = []
    if draft.header_format == "TEXT":
        header: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": draft.header_text}
        names = variables(draft.header_text)
        if names and named:
            header["example"] = {
                "header_text_named_params": [{"param_name": names[0], "example": draft.header_example}]
            }
        elif names:
            header["example"] = {"header_text": [draft.header_example]}
        out.append(header)
    elif draft.header_format in MEDIA_HEADERS:
        out.append({"type": "HEADER", "format": draft.header_format, "example": {"header_handle": [header_handle]}})
    body: dict[str, Any] = {"type": "BODY", "text": draft.body_text}
    names = variables(draft.body_text)
    if names and named:
        body["example"] = {
            "body_text_named_params": [{"param_name": n, "example": draft.named_examples[n]} for n in names]
        }
    elif names:
        body["example"] = {"body_text": [list(draft.body_examples)]}
    out.append(body)
    if draft.footer_text:
        out.append({"type": "FOOTER", "text": draft.footer_text})
    if draft.buttons:
        out.append({"type": "BUTTONS", "buttons": [_button(b) for b in draft.buttons]})
    return out


def _button(b: Button) -> dict[str, Any]:
    out: dict[str, Any] = {"type": b.kind, "text": b.text}
    if b.kind == "URL":
        out["url"] = b.url
        if variables(b.url):
            out["example"] = [b.url_example]
    elif b.kind == "PHONE_NUMBER":
        out["phone_number"] = b.phone_number
    return out


def definition(draft: Draft, header_handle: str = "") -> dict[str, Any]:
    """CreateWhatsAppMessageTemplate's templateDefinition (Meta's message template object)."""
    return {
        "name": draft.template_name,
        "language": draft.language,
        "category": draft.category,
        "parameter_format": draft.parameter_format,
        "components": components(draft, header_handle),
    }


def draft_of(t: Template) -> Draft:
    """A stored template back as a draft (UpdateTemplate changes some fields of it and checks the whole)."""
    d = Draft(t.template_name, t.language, t.category.value, t.parameter_format)
    changes: dict[str, Any] = {}
    for c in t.components:
        kind = str(c.get("type", "")).upper()
        example = c.get("example") or {}
        if kind == "HEADER":
            changes["header_format"] = str(c.get("format", "TEXT")).upper()
            changes["header_text"] = c.get("text", "")
            named = example.get("header_text_named_params") or []
            changes["header_example"] = (example.get("header_text") or [""])[0] or (
                named[0].get("example", "") if named else ""
            )
            if changes["header_format"] in MEDIA_HEADERS:
                changes["header_media_key"] = str(c.get("media_key", "")) or "(uploaded)"
        elif kind == "BODY":
            changes["body_text"] = c.get("text", "")
            changes["body_examples"] = tuple((example.get("body_text") or [[]])[0])
            named = example.get("body_text_named_params") or []
            changes["named_examples"] = {p.get("param_name", ""): p.get("example", "") for p in named}
        elif kind == "FOOTER":
            changes["footer_text"] = c.get("text", "")
        elif kind == "BUTTONS":
            changes["buttons"] = tuple(
                Button(
                    str(b.get("type", "")),
                    str(b.get("text", "")),
                    str(b.get("url", "")),
                    str((b.get("example") or [""])[0]),
                    str(b.get("phone_number", "")),
                )
                for b in c.get("buttons") or []
            )
    return dataclasses.replace(d, **changes)


def entry(
    draft: Draft, waba: str, meta_template_id: str, status: str, category: str, now: float, header_handle: str = ""
) -> Template:
    """The catalogue entry of a submitted draft, as acceptance reads templates (its variables and buttons)."""
    parts = components(draft, header_handle)
    if draft.header_format in MEDIA_HEADERS:
        parts[0] = {**parts[0], "media_key": draft.header_media_key}
    dynamic = tuple(i for i, b in enumerate(draft.buttons) if b.kind == "URL" and variables(b.url))
    given = category.upper() if category.upper() in CATEGORIES else draft.category
    return Template(
        template_name=draft.template_name,
        language=draft.language,
        category=Category(given),
        template_status=status.upper() or "PENDING",
        waba=waba,
        meta_template_id=meta_template_id,
        body_text=draft.body_text,
        body_variables=tuple(_ordered(variables(draft.body_text))),
        header_variables=tuple(variables(draft.header_text)) if draft.header_format == "TEXT" else (),
        header_media_kind=draft.header_format if draft.header_format in MEDIA_HEADERS else "",
        dynamic_buttons=dynamic,
        components=tuple(parts),
        parameter_format=draft.parameter_format,
        previous_category=draft.category if given != draft.category else "",
        status_time=now,
        update_time=now,
        sync_time=now,
    )


def _ordered(names: list[str]) -> list[str]:
    return sorted(names, key=int) if all(n.isdigit() for n in names) else names


# --- Meta's events ----------------------------------------------------------------------------------------

# message_template_status_update's `event` -> the status it leaves the template in (None: the status stays).
STATUS_OF_EVENT: dict[str, str | None] = {
    "APPROVED": "APPROVED",
    "REJECTED": "REJECTED",
    "PENDING": "PENDING",
    "PAUSED": "PAUSED",
    "DISABLED": "DISABLED",
    "IN_APPEAL": "IN_APPEAL",
    "PENDING_DELETION": "PENDING_DELETION",
    "DELETED": "DELETED",
    "ARCHIVED": "ARCHIVED",
    "REINSTATED": "APPROVED",  # no longer flagged or disabled: sendable again
    "UNARCHIVED": "APPROVED",
    "FLAGGED": None,  # a warning: still sendable
    "LOCKED": None,
    "UNLOCKED": None,
    "LIMIT_EXCEEDED": None,
}


def on_status(t: Template, event: str, reason: str, at: float) -> Template | None:
    """The template after a status event of time `at`; None when it changes nothing (an older event than the
    status it has, or an event that says nothing new)."""
    if at < t.status_time or event not in STATUS_OF_EVENT:
        return None
    status = STATUS_OF_EVENT[event] or t.template_status
    note = reason if reason else ("" if STATUS_OF_EVENT[event] else event)
    if STATUS_OF_EVENT[event] is None and note:
        note = f"{event}: {note}" if not note.startswith(event) else note
    if status == t.template_status and note == t.status_reason:
        return None
    return dataclasses.replace(t, template_status=status, status_reason=note, status_time=at, update_time=at)


def on_category(t: Template, new: str, previous: str, correct: str, at: float) -> Template | None:
    """A template_category_update: a change made (previous -> new) or announced (correct: the category it will
    be given)."""
    if correct and correct.upper() in CATEGORIES and not previous:
        if correct.upper() == t.upcoming_category:
            return None
        return dataclasses.replace(t, upcoming_category=correct.upper(), update_time=at)
    if not new or new.upper() not in CATEGORIES or at < t.status_time:
        return None
    if new.upper() == t.category.value and not t.upcoming_category:
        return None
    return dataclasses.replace(
        t,
        category=Category(new.upper()),
        previous_category=(previous or t.category.value).upper(),
        upcoming_category="",
        update_time=at,
    )
