"""Tracked links: what a link is, what may be asked for, and what its opens add up to. No I/O.

A link is immutable once made: its target, code and the contact, recipient, message and job it was minted for
never change (so the click path may keep a copy of them beside the code). What changes is what people did:
one Click per person and link (first and last open, opens), and the link's LinkStats."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from runtime import ids
from runtime.errors import FieldViolation, InvalidArgument
from services.commerce.domain.targets import normalize_target

MAX_REQUEST_ID = 200
MAX_RECIPIENT = 320
REFERENCES = {"contact": "contacts", "message": "messages", "job": "bulkJobs"}
REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces


@dataclass(frozen=True)
class LinkStats:
    click_count: int = 0  # every open by a person, repeats included
    unique_clickers: int = 0
    preview_count: int = 0
    first_click_time: float | None = None
    last_click_time: float | None = None


@dataclass(frozen=True)
class Link:
    id: str
    code: str
    target_url: str
    contact: str = ""  # contact id
    recipient: str = ""
    message: str = ""  # message id
    job: str = ""  # bulk job id
    expire_time: float | None = None
    create_time: float = 0.0
    creator: str = ""
    request_id: str = ""

    @property
    def name(self) -> str:
        return f"links/{self.id}"

    def expired(self, now: float) -> bool:
        return self.expire_time is not None and now >= self.expire_time

    def same_request(self, other: Link) -> bool:
        """Whether a repeated request_id asks for this very link."""
        return (self.target_url, self.contact, self.recipient, self.message, self.job, self.expire_time) == (
            other.target_url,
            other.contact,
            other.recipient,
            other.message,
            other.job,
            other.expire_time,
        )

    def audit_view(self) -> dict:
        """What the audit log keeps: references, never the recipient's address."""
        return {"target_url": self.target_url, "contact": self.contact, "message": self.message, "job": self.job}


@dataclass(frozen=True)
class Click:
    """One person's opens of one link."""

    link_id: str
    person: str
    contact: str = ""
    recipient: str = ""
    message: str = ""
    job: str = ""
    first_click_time: float = 0.0
    last_click_time: float = 0.0
    click_count: int = 1


@dataclass(frozen=True)
class LinkRequest:
    """A link as asked for, before validation (the proto's fields, names as given)."""

    target_url: str = ""
    contact: str = ""
    recipient: str = ""
    message: str = ""
    job: str = ""
    expire_time: float | None = None
    request_id: str = ""
    extras: dict[str, str] = field(default_factory=dict)  # output-only fields the caller set: refused


def field_at(prefix: str, name: str) -> str:
    """A field's path under a request's prefix (`requests[3]`), or the bare path for a single request."""
    return f"{prefix}.{name}" if prefix else name


def new_link(
    asked: LinkRequest, prefix: str, *, link_id: str, code: str, now: float, creator: str, links_base_url: str
) -> Link:
    """A valid new link, or INVALID_ARGUMENT naming every bad field (`<prefix>.target_url`, ...)."""
    problems: list[FieldViolation] = []
    target = ""
    try:
        target = normalize_target(asked.target_url, field_at(prefix, "link.target_url"), links_base_url)
    except InvalidArgument as exc:
        problems += exc.violations
    refs = {}
    for attribute, collection in REFERENCES.items():
        given = getattr(asked, attribute)
        refs[attribute] = ""
        if given:
            head, sep, value = given.partition("/")
            if head != collection or not sep or not ids.is_id(value):
                problems.append(FieldViolation(field_at(prefix, f"link.{attribute}"), f"must be `{collection}/{{id}}`"))
            else:
                refs[attribute] = value
    recipient = asked.recipient.strip()
    if len(recipient) > MAX_RECIPIENT or (recipient and not recipient.isprintable()):
        problems.append(
            FieldViolation(field_at(prefix, "link.recipient"), f"at most {MAX_RECIPIENT} printable characters")
        )
    if asked.expire_time is not None and asked.expire_time <= now:
        problems.append(FieldViolation(field_at(prefix, "link.expire_time"), "must be in the future"))
    if asked.request_id and not REQUEST_ID.match(asked.request_id):
        problems.append(
            FieldViolation(
                field_at(prefix, "request_id"), f"at most {MAX_REQUEST_ID} printable ASCII characters, no spaces"
            )
        )
    for name, description in asked.extras.items():
        problems.append(FieldViolation(field_at(prefix, f"link.{name}"), description))
    if problems:
        raise InvalidArgument(problems)
    return Link(
        id=link_id,
        code=code,
        target_url=target,
        contact=refs["contact"],
        recipient=recipient,
        message=refs["message"],
        job=refs["job"],
        expire_time=asked.expire_time,
        create_time=now,
        creator=creator,
        request_id=asked.request_id,
    )


def short_url(links_base_url: str, code: str) -> str:
    return f"{links_base_url.rstrip('/')}/l/{code}"


def check_base_url(links_base_url: str) -> str:
    """The setting, checked at start: an absolute http(s) URL without query or fragment."""
    parts = urlsplit(links_base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"WECARE_LINKS_BASE_URL={links_base_url!r} must be an absolute http(s) URL")
    return links_base_url.rstrip("/")
