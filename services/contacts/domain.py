"""Contacts and consent: the rules, with no I/O.

A contact is reached on WhatsApp and SMS by its E.164 phone number and by email; each channel has its own
consent (unknown, opted in, opted out) with the time the customer acted and where it was learnt. A phone
number or an email belongs to at most one contact."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from runtime import phones
from runtime.errors import Aborted, FieldViolation, InvalidArgument

CHANNELS = ("whatsapp", "sms", "email")
MAX_NAME = 200
MAX_TAGS = 50
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE = 1024
MAX_CONSENT_HISTORY = 20  # changes kept a channel, newest last
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
WORD = re.compile(r"\w+", re.UNICODE)


class ConsentState(Enum):
    UNKNOWN = 0
    OPTED_IN = 1
    OPTED_OUT = 2


@dataclass(frozen=True)
class ChannelConsent:
    state: ConsentState = ConsentState.UNKNOWN
    update_time: float | None = None  # when the customer acted
    source: str = ""


@dataclass(frozen=True)
class Contact:
    id: str
    display_name: str = ""
    phone_number: str = ""  # E.164
    email: str = ""
    tags: tuple[str, ...] = ()
    consent: dict[str, ChannelConsent] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    create_time: float = 0.0
    update_time: float = 0.0
    version: int = 1
    # The consent changes that took effect on each channel, oldest first, the current one last (bounded).
    consent_history: dict[str, tuple[ChannelConsent, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"contacts/{self.id}"

    @property
    def etag(self) -> str:
        return hashlib.blake2b(f"{self.id}:{self.version}".encode(), digest_size=8).hexdigest()

    def consent_on(self, channel: str) -> ChannelConsent:
        return self.consent.get(channel, ChannelConsent())

    @property
    def email_key(self) -> str:
        return email_key(self.email)

    @property
    def name_key(self) -> str:
        return fold(self.display_name)

    def search_words(self) -> list[str]:
        """The words a word search matches: name, email and tags."""
        return words(" ".join([self.display_name, self.email.replace("@", " ").replace(".", " "), *self.tags]))

    def audit_view(self) -> dict[str, Any]:
        """What the audit log may keep: no names, numbers, addresses or attribute values."""
        return {
            "version": self.version,
            "tags": list(self.tags),
            "attribute_keys": sorted(self.attributes),
            "consent": {ch: self.consent_on(ch).state.name for ch in CHANNELS},
        }


def fold(text: str) -> str:
    """Case- and accent-insensitive form for matching."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def email_key(email: str) -> str:
    return email.strip().lower()


def normalize_phone(raw: str, region: str, field_name: str) -> str:
    """Any common way of writing a number -> E.164; numbers without a country code take `region`."""
    text = raw.strip()
    if not text:
        return ""
    normal = phones.e164(text, region)
    if normal is None:
        raise InvalidArgument(field_name, phones.problem(text, region))
    return normal


def try_phone(raw: str, region: str) -> str | None:
    """E.164 when the text reads as a valid number, else None (for search)."""
    if sum(c.isdigit() for c in raw) < 6:
        return None
    try:
        return normalize_phone(raw, region, "query")
    except InvalidArgument:
        return None


@dataclass(frozen=True)
class ContactInput:
    """The writable fields as given by a caller, before validation."""

    display_name: str = ""
    phone_number: str = ""
    email: str = ""
    tags: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    consent: dict[str, ChannelConsent] = field(default_factory=dict)


WRITABLE = (
    "display_name",
    "phone_number",
    "email",
    "tags",
    "attributes",
    "whatsapp_consent",
    "sms_consent",
    "email_consent",
)


def validate(given: ContactInput, region: str, prefix: str, paths: tuple[str, ...] = WRITABLE) -> ContactInput:
    """Normalises the fields named in `paths`; every problem is reported at once, each naming its field."""
    problems: list[FieldViolation] = []
    values: dict[str, Any] = {}

    def check(path: str, fn):
        try:
            values[path] = fn()
        except InvalidArgument as exc:
            problems.extend(exc.violations)

    if "display_name" in paths:
        check("display_name", lambda: _name(given.display_name, f"{prefix}.display_name"))
    if "phone_number" in paths:
        check("phone_number", lambda: normalize_phone(given.phone_number, region, f"{prefix}.phone_number"))
    if "email" in paths:
        check("email", lambda: _email(given.email, f"{prefix}.email"))
    if "tags" in paths:
        check("tags", lambda: _tags(given.tags, f"{prefix}.tags"))
    if "attributes" in paths:
        check("attributes", lambda: _attributes(given.attributes, f"{prefix}.attributes"))
    consent = {}
    for channel in CHANNELS:
        if f"{channel}_consent" in paths and channel in given.consent:
            consent[channel] = given.consent[channel]
    if problems:
        raise InvalidArgument(problems)
    return dataclasses.replace(given, **{k: v for k, v in values.items()}, consent=consent)


def _name(text: str, path: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_NAME:
        raise InvalidArgument(path, f"at most {MAX_NAME} characters")
    return text


def _email(text: str, path: str) -> str:
    text = text.strip()
    if text and (len(text) > 254 or not EMAIL_PATTERN.match(text)):
        raise InvalidArgument(path, f"{text!r} is not an email address")
    return text


def tag_filter(tags: tuple[str, ...], path: str) -> tuple[str, ...]:
    """The tags a listing asks for, as contacts hold them (lowercased, each once)."""
    return _tags(tags, path)


def _tags(tags: tuple[str, ...], path: str) -> tuple[str, ...]:
    out: list[str] = []
    for i, tag in enumerate(tags):
        tag = tag.strip().lower()
        if not TAG_PATTERN.match(tag):
            raise InvalidArgument(f"{path}[{i}]", "tags are 1-64 of a-z 0-9 _ . : - and start with a letter or digit")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise InvalidArgument(path, f"at most {MAX_TAGS} tags")
    return tuple(out)


def _attributes(attributes: dict[str, str], path: str) -> dict[str, str]:
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidArgument(path, f"at most {MAX_ATTRIBUTES} attributes")
    for key, value in attributes.items():
        if not ATTRIBUTE_KEY.match(key):
            raise InvalidArgument(
                f"{path}[{key!r}]", "keys are letters, digits and _ (at most 64), not starting with a digit"
            )
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise InvalidArgument(f"{path}[{key!r}]", f"values are at most {MAX_ATTRIBUTE_VALUE} characters")
    return dict(attributes)


def new_contact(contact_id: str, given: ContactInput, now: float, actor: str, prefix: str = "contact") -> Contact:
    if not given.phone_number and not given.email:
        raise InvalidArgument(f"{prefix}.phone_number", "a contact needs a phone number or an email")
    consent = {ch: _stamped(c, now, actor) for ch, c in given.consent.items()}
    return Contact(
        id=contact_id,
        display_name=given.display_name,
        phone_number=given.phone_number,
        email=given.email,
        tags=given.tags,
        consent=consent,
        attributes=given.attributes,
        create_time=now,
        update_time=now,
        version=1,
        consent_history={ch: (c,) for ch, c in consent.items()},
    )


def apply_update(
    current: Contact, given: ContactInput, paths: tuple[str, ...], etag: str, now: float, actor: str
) -> Contact:
    """The contact with the masked fields replaced. A stale etag refuses the whole change."""
    if etag and etag != current.etag:
        raise Aborted(
            f"{current.name} changed since etag {etag}; read it again and reapply the change", reason="ETAG_MISMATCH"
        )
    changes: dict[str, Any] = {}
    for path in paths:
        if path.endswith("_consent"):
            channel = path.removesuffix("_consent")
            given_consent = given.consent.get(channel, ChannelConsent())
            if given_consent.state != current.consent_on(channel).state:
                consent = dict(changes.get("consent", current.consent))
                consent[channel] = _stamped(given_consent, now, actor)
                changes["consent"] = consent
                history = changes.get("consent_history", current.consent_history)
                changes["consent_history"] = _with_change(current, history, channel, consent[channel])
        else:
            changes[path] = getattr(given, path)
    updated = dataclasses.replace(current, **changes)
    if not updated.phone_number and not updated.email:
        raise InvalidArgument("contact.phone_number", "a contact needs a phone number or an email")
    if updated == current:
        return current
    return dataclasses.replace(updated, update_time=now, version=current.version + 1)


def _with_change(
    current: Contact, history: dict[str, tuple[ChannelConsent, ...]], channel: str, change: ChannelConsent
) -> dict[str, tuple[ChannelConsent, ...]]:
    """The history with one more change on `channel`. A contact stored before histories were kept starts its
    history with the state it had."""
    earlier = history.get(channel, ())
    before = current.consent_on(channel)
    if not earlier and before.state is not ConsentState.UNKNOWN:
        earlier = (before,)
    return {**history, channel: (*earlier, change)[-MAX_CONSENT_HISTORY:]}


def _stamped(consent: ChannelConsent, now: float, actor: str) -> ChannelConsent:
    return ChannelConsent(consent.state, consent.update_time or now, consent.source or f"operator:{actor}")


def record_consent(contact: Contact, channel: str, state: ConsentState, at: float, source: str, now: float) -> Contact:
    """Applies a consent change unless a newer one is already recorded (events arrive out of order)."""
    current = contact.consent_on(channel)
    if current.update_time is not None and current.update_time > at:
        return contact
    if current.state == state and current.update_time == at and current.source == source:
        return contact
    consent = dict(contact.consent)
    consent[channel] = ChannelConsent(state, at, source)
    history = _with_change(contact, contact.consent_history, channel, consent[channel])
    return dataclasses.replace(
        contact, consent=consent, consent_history=history, update_time=now, version=contact.version + 1
    )


@dataclass(frozen=True)
class SearchPlan:
    phone: str | None
    email: str | None
    prefix: str
    words: tuple[str, ...]


def plan_search(query: str, region: str) -> SearchPlan:
    text = query.strip()
    if not text:
        raise InvalidArgument("query", "must not be empty")
    if len(text) > 200:
        raise InvalidArgument("query", "at most 200 characters")
    email = email_key(text) if "@" in text and EMAIL_PATTERN.match(text) else None
    return SearchPlan(phone=try_phone(text, region), email=email, prefix=fold(text), words=tuple(words(text)))


def rank(exact: list[Contact], by_prefix: list[Contact], by_words: list[Contact]) -> list[Contact]:
    """Exact phone or email matches, then name-prefix matches, then word matches; each contact once."""
    seen: set[str] = set()
    out: list[Contact] = []
    for group in (exact, by_prefix, by_words):
        for contact in group:
            if contact.id not in seen:
                seen.add(contact.id)
                out.append(contact)
    return out
