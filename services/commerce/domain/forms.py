"""Forms: what a form is (fields with their rules, the texts of its invitation, its WhatsApp Flow) and which
definitions are valid. No I/O.

A form is written by an operator as a Definition, checked here (every bad field named at once, under the
request's path: `form.fields[2].max_length`), and lives as a Form: DRAFT (editable), PUBLISHED (its Flow is
published on WhatsApp; fixed, because answers are checked against these very fields) and DEPRECATED (no new
invitations; earlier ones still answer). The limits are Meta's for the Flow components each field becomes
(flow_json.py), so a definition accepted here is one WhatsApp accepts."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import Enum

from runtime.errors import FieldViolation, InvalidArgument


class FieldType(Enum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    DATE = "DATE"
    SINGLE_CHOICE = "SINGLE_CHOICE"
    MULTIPLE_CHOICE = "MULTIPLE_CHOICE"
    OPT_IN = "OPT_IN"


class FormState(Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    DEPRECATED = "DEPRECATED"


CATEGORIES = (
    "SIGN_UP",
    "SIGN_IN",
    "APPOINTMENT_BOOKING",
    "LEAD_GENERATION",
    "SHOPPING",
    "CONTACT_US",
    "CUSTOMER_SUPPORT",
    "SURVEY",
    "OTHER",
)
CONSENT_CHANNELS = ("whatsapp", "sms", "email")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
OPTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # as contacts keeps attribute keys
RESERVED_KEYS = ("flow_token",)  # the nfm_reply's response_json carries it beside the answers
MAX_FIELDS = 40  # a screen holds 50 components: heading, description and footer take three
MAX_OPT_INS = 5  # per screen
MAX_OPTIONS = 20
MAX_TEXT = 4096
MAX_PATTERN = 200
MAX_DECIMALS = 6
MAX_NUMBER = Decimal("1e15")  # beyond this a "number" is an identifier: use a TEXT field
LABEL_LIMITS = {
    FieldType.TEXT: 20,
    FieldType.NUMBER: 20,
    FieldType.DATE: 40,
    FieldType.SINGLE_CHOICE: 30,
    FieldType.MULTIPLE_CHOICE: 30,
    FieldType.OPT_IN: 120,
}
LIMITS = {
    "display_name": 100,
    "heading": 80,
    "description": 4096,
    "submit_label": 35,
    "invitation_text": 1024,
    "open_label": 20,
    "helper_text": 80,
    "option_title": 30,
}
DEFAULT_SUBMIT = "Submit"
DEFAULT_OPEN = "Open form"


@dataclass(frozen=True)
class Option:
    id: str
    title: str


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: FieldType
    required: bool = False
    helper_text: str = ""
    min_length: int = 0
    max_length: int = 0
    pattern: str = ""
    min_value: str = ""
    max_value: str = ""
    decimal_places: int = 0
    min_date: str = ""
    max_date: str = ""
    options: tuple[Option, ...] = ()
    min_selected: int = 0
    max_selected: int = 0
    contact_field: str = ""  # display_name | email | attributes.<key>
    consent_channel: str = ""  # whatsapp | sms | email (OPT_IN only)

    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)


@dataclass(frozen=True)
class Definition:
    """What an operator writes; the editable part of a form."""

    display_name: str
    fields: tuple[Field, ...] = ()
    heading: str = ""
    description: str = ""
    submit_label: str = ""
    categories: tuple[str, ...] = ()
    waba: str = ""
    invitation_text: str = ""
    open_label: str = ""

    def digest(self) -> str:
        """Changes whenever anything that goes into the Flow JSON or the invitation changes."""
        text = json.dumps(asdict(self), sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Flow:
    """The WhatsApp Flow behind a form, as EUM Social last said."""

    flow_id: str = ""
    status: str = ""
    json_version: str = ""
    validation_errors: tuple[str, ...] = ()
    preview_url: str = ""
    preview_expire_time: float | None = None
    sync_time: float | None = None
    synced_digest: str = ""  # the Definition.digest() whose Flow JSON WhatsApp holds


@dataclass(frozen=True)
class Form:
    id: str
    definition: Definition
    state: FormState = FormState.DRAFT
    flow: Flow = field(default_factory=Flow)
    create_time: float = 0.0
    update_time: float = 0.0
    creator: str = ""
    version: int = 1

    @property
    def name(self) -> str:
        return f"forms/{self.id}"

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    @property
    def flow_name(self) -> str:
        """The Flow's name in WhatsApp Manager: unique in the WABA, so a retried create finds its own Flow."""
        return f"{self.definition.display_name} [{self.id}]"

    def changed(self, now: float, **changes) -> Form:
        return replace(self, **changes, update_time=now, version=self.version + 1)

    def audit_view(self) -> dict:
        return {
            "display_name": self.definition.display_name,
            "state": self.state.value,
            "fields": [f.key for f in self.definition.fields],
            "flow_id": self.flow.flow_id,
        }


def at(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def check_definition(given: Definition, wabas: tuple[str, ...], prefix: str = "form") -> Definition:
    """A valid definition with its defaults filled in, or INVALID_ARGUMENT naming every bad field."""
    problems: list[FieldViolation] = []

    def text(name: str, value: str, required: bool = False) -> str:
        value = value.strip()
        if required and not value:
            problems.append(FieldViolation(at(prefix, name), "required"))
        elif len(value) > LIMITS[name]:
            problems.append(FieldViolation(at(prefix, name), f"at most {LIMITS[name]} characters"))
        return value

    display_name = " ".join(given.display_name.split())
    if not display_name:
        problems.append(FieldViolation(at(prefix, "display_name"), "required"))
    elif len(display_name) > LIMITS["display_name"]:
        problems.append(FieldViolation(at(prefix, "display_name"), f"at most {LIMITS['display_name']} characters"))
    heading = text("heading", given.heading)
    description = text("description", given.description)
    submit_label = text("submit_label", given.submit_label) or DEFAULT_SUBMIT
    invitation_text = text("invitation_text", given.invitation_text) or display_name
    open_label = text("open_label", given.open_label) or DEFAULT_OPEN
    categories = tuple(dict.fromkeys(given.categories)) or ("OTHER",)
    for i, category in enumerate(categories):
        if category not in CATEGORIES:
            problems.append(FieldViolation(at(prefix, f"categories[{i}]"), f"one of {', '.join(CATEGORIES)}"))
    waba = given.waba.strip() or (wabas[0] if wabas else "")
    if waba not in wabas:
        problems.append(FieldViolation(at(prefix, "waba"), f"one of this deployment's: {', '.join(wabas)}"))
    fields = _check_fields(given.fields, at(prefix, "fields"), problems)
    if problems:
        raise InvalidArgument(problems)
    return Definition(
        display_name=display_name,
        fields=fields,
        heading=heading,
        description=description,
        submit_label=submit_label,
        categories=categories,
        waba=waba,
        invitation_text=invitation_text,
        open_label=open_label,
    )


def _check_fields(given: tuple[Field, ...], path: str, problems: list[FieldViolation]) -> tuple[Field, ...]:
    if not given:
        problems.append(FieldViolation(path, "at least one field"))
        return ()
    if len(given) > MAX_FIELDS:
        problems.append(FieldViolation(path, f"at most {MAX_FIELDS} fields (one Flow screen)"))
        return ()
    out, keys, targets = [], set(), set()
    for i, one in enumerate(given):
        where = f"{path}[{i}]"
        checked = _check_field(one, where, problems)
        if checked.key in keys:
            problems.append(FieldViolation(f"{where}.key", f"{checked.key!r} is used by an earlier field"))
        keys.add(checked.key)
        if checked.contact_field:
            if checked.contact_field in targets:
                problems.append(
                    FieldViolation(f"{where}.contact_field", f"{checked.contact_field!r} is an earlier field's target")
                )
            targets.add(checked.contact_field)
        out.append(checked)
    if sum(f.type is FieldType.OPT_IN for f in out) > MAX_OPT_INS:
        problems.append(FieldViolation(path, f"at most {MAX_OPT_INS} OPT_IN fields (one Flow screen)"))
    for i, one in enumerate(out):
        if one.consent_channel == "email" and "email" not in targets:
            problems.append(
                FieldViolation(f"{path}[{i}].consent_channel", "EMAIL needs a field whose contact_field is `email`")
            )
    return tuple(out)


# The rules each type takes; a rule set on another type is refused, naming it.
RULES = {
    FieldType.TEXT: {"helper_text", "min_length", "max_length", "pattern", "contact_field"},
    FieldType.NUMBER: {"helper_text", "min_value", "max_value", "decimal_places", "contact_field"},
    FieldType.DATE: {"helper_text", "min_date", "max_date", "contact_field"},
    FieldType.SINGLE_CHOICE: {"options", "contact_field"},
    FieldType.MULTIPLE_CHOICE: {"options", "min_selected", "max_selected", "contact_field"},
    FieldType.OPT_IN: {"consent_channel"},
}
OPTIONAL_RULES = (
    "helper_text",
    "min_length",
    "max_length",
    "pattern",
    "min_value",
    "max_value",
    "decimal_places",
    "min_date",
    "max_date",
    "options",
    "min_selected",
    "max_selected",
    "contact_field",
    "consent_channel",
)


def _check_field(given: Field, where: str, problems: list[FieldViolation]) -> Field:
    def bad(name: str, why: str) -> None:
        problems.append(FieldViolation(f"{where}.{name}", why))

    if not KEY.match(given.key):
        bad("key", "1 to 40 of [a-z0-9_], starting with a letter")
    elif given.key in RESERVED_KEYS:
        bad("key", f"{given.key!r} is reserved")
    kind = given.type
    if not isinstance(kind, FieldType):
        bad("type", f"one of {', '.join(t.value for t in FieldType)}")
        return given
    label = " ".join(given.label.split())
    if not label:
        bad("label", "required")
    elif len(label) > LABEL_LIMITS[kind]:
        bad("label", f"at most {LABEL_LIMITS[kind]} characters for a {kind.value} field")
    for rule in OPTIONAL_RULES:
        if rule not in RULES[kind] and getattr(given, rule):
            bad(rule, f"does not apply to a {kind.value} field")
    helper = given.helper_text.strip()
    if len(helper) > LIMITS["helper_text"]:
        bad("helper_text", f"at most {LIMITS['helper_text']} characters")
    changes: dict = {"label": label, "helper_text": helper}
    if kind is FieldType.TEXT:
        _check_text(given, bad)
    elif kind is FieldType.NUMBER:
        changes |= _check_number(given, bad)
    elif kind is FieldType.DATE:
        _check_dates(given, bad)
    elif kind in (FieldType.SINGLE_CHOICE, FieldType.MULTIPLE_CHOICE):
        changes |= _check_options(given, bad)
    elif kind is FieldType.OPT_IN and given.consent_channel and given.consent_channel not in CONSENT_CHANNELS:
        bad("consent_channel", "WHATSAPP, SMS or EMAIL")
    if given.contact_field:
        _check_target(given, bad)
    return replace(given, **changes)


def _check_text(given: Field, bad) -> None:
    if not 0 <= given.min_length <= MAX_TEXT:
        bad("min_length", f"0 to {MAX_TEXT}")
    if not 0 <= given.max_length <= MAX_TEXT:
        bad("max_length", f"0 (no maximum) to {MAX_TEXT}")
    elif given.max_length and given.min_length > given.max_length:
        bad("max_length", "must not be below min_length")
    if given.pattern:
        if len(given.pattern) > MAX_PATTERN:
            bad("pattern", f"at most {MAX_PATTERN} characters")
        else:
            try:
                re.compile(given.pattern)
            except re.error as exc:
                bad("pattern", f"not a regular expression: {exc}")


def _check_number(given: Field, bad) -> dict:
    if not 0 <= given.decimal_places <= MAX_DECIMALS:
        bad("decimal_places", f"0 to {MAX_DECIMALS}")
    bounds = {}
    for name in ("min_value", "max_value"):
        raw = getattr(given, name).strip()
        if not raw:
            bounds[name] = ""
            continue
        value = decimal_of(raw)
        if value is None or abs(value) >= MAX_NUMBER:
            bad(name, "a decimal number such as `18` or `-2.5`, below 10^15")
            bounds[name] = raw
        else:
            bounds[name] = canonical(value)
    low, high = decimal_of(bounds["min_value"]), decimal_of(bounds["max_value"])
    if low is not None and high is not None and low > high:
        bad("max_value", "must not be below min_value")
    return bounds


def _check_dates(given: Field, bad) -> None:
    dates = {}
    for name in ("min_date", "max_date"):
        raw = getattr(given, name)
        if raw:
            dates[name] = date_of(raw)
            if dates[name] is None:
                bad(name, "a date as YYYY-MM-DD")
    if dates.get("min_date") and dates.get("max_date") and dates["min_date"] > dates["max_date"]:
        bad("max_date", "must not be before min_date")


def _check_options(given: Field, bad) -> dict:
    if not given.options:
        bad("options", "at least one option")
    elif len(given.options) > MAX_OPTIONS:
        bad("options", f"at most {MAX_OPTIONS} options")
    seen, options = set(), []
    for i, option in enumerate(given.options):
        title = " ".join(option.title.split())
        if not OPTION_ID.match(option.id):
            bad(f"options[{i}].id", "1 to 40 of [A-Za-z0-9_-]")
        elif option.id in seen:
            bad(f"options[{i}].id", f"{option.id!r} is used by an earlier option")
        seen.add(option.id)
        if not title or len(title) > LIMITS["option_title"]:
            bad(f"options[{i}].title", f"1 to {LIMITS['option_title']} characters")
        options.append(Option(option.id, title))
    if given.type is FieldType.MULTIPLE_CHOICE:
        count = len(given.options)
        if not 0 <= given.min_selected <= count:
            bad("min_selected", f"0 to the number of options ({count})")
        if not 0 <= given.max_selected <= count:
            bad("max_selected", f"0 (no maximum) to the number of options ({count})")
        elif given.max_selected and given.min_selected > given.max_selected:
            bad("max_selected", "must not be below min_selected")
    return {"options": tuple(options)}


def _check_target(given: Field, bad) -> None:
    target = given.contact_field
    if target in ("display_name", "email"):
        if given.type is not FieldType.TEXT:
            bad("contact_field", f"`{target}` takes a TEXT field's answer")
        return
    head, _, key = target.partition(".")
    if head != "attributes" or not ATTRIBUTE_KEY.match(key):
        bad("contact_field", "`display_name`, `email` or `attributes.<key>` (key: letters, digits, _)")


def decimal_of(text: str) -> Decimal | None:
    """A finite decimal written plainly (digits, one point, a sign), or None."""
    if not re.fullmatch(r"-?\d{1,18}(\.\d{1,18})?", text.strip()):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def canonical(value: Decimal) -> str:
    """`12.50` -> `12.5`, `-0` -> `0`, never an exponent."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def date_of(text: str) -> datetime.date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None
