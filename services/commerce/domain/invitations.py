"""Form invitations: one send of a form to one customer, named by its flow token. No I/O.

The flow token is 128 random bits in the shape of a link code (domain/codes.py: 22 base62 characters): it is
unguessable, and a token of any other shape is refused before any lookup. It binds the answer that comes back
with it to the form, the contact, the recipient's number, the message that carried it and the bulk job. The
message is often known only after the send: it is recorded once, later (set_message)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from runtime import ids, phones
from runtime.errors import FieldViolation, InvalidArgument
from services.commerce.domain import codes
from services.commerce.domain.forms import at

REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces
REFERENCES = {"contact": "contacts", "message": "messages", "job": "bulkJobs"}


@dataclass(frozen=True)
class Invitation:
    token: str
    form_id: str
    recipient: str  # E.164
    contact: str = ""  # contact id
    message: str = ""  # message id
    job: str = ""  # bulk job id
    create_time: float = 0.0
    creator: str = ""
    request_id: str = ""
    response_id: str = ""  # set when the answer is stored

    @property
    def name(self) -> str:
        return f"forms/{self.form_id}/invitations/{self.token}"

    def same_request(self, other: Invitation) -> bool:
        """Whether a repeated request_id asks for this very invitation (the message may have been recorded)."""
        return (self.form_id, self.recipient, self.contact, self.job) == (
            other.form_id,
            other.recipient,
            other.contact,
            other.job,
        ) and other.message in ("", self.message)

    def audit_view(self) -> dict:
        """References only: never the recipient's number."""
        return {"form": self.form_id, "contact": self.contact, "message": self.message, "job": self.job}


@dataclass(frozen=True)
class InvitationRequest:
    """An invitation as asked for, before validation (the proto's fields, names as given)."""

    recipient: str = ""
    contact: str = ""
    message: str = ""
    job: str = ""
    request_id: str = ""
    extras: dict[str, str] = field(default_factory=dict)  # output-only fields the caller set: refused


def new_token() -> str:
    return codes.new_code()


def is_token(text: str) -> bool:
    return codes.is_code(text)


def reference(given: str, collection: str, path: str, problems: list[FieldViolation]) -> str:
    """The id in `<collection>/<id>`, or "" with a violation."""
    if not given:
        return ""
    head, sep, value = given.partition("/")
    if head != collection or not sep or not ids.is_id(value):
        problems.append(FieldViolation(path, f"must be `{collection}/{{id}}`"))
        return ""
    return value


def new_invitation(
    asked: InvitationRequest, prefix: str, *, form_id: str, token: str, now: float, creator: str, region: str
) -> Invitation:
    """A valid invitation, or INVALID_ARGUMENT naming every bad field (`<prefix>.invitation.recipient`, ...)."""
    problems: list[FieldViolation] = []
    recipient = ""
    if not asked.recipient.strip():
        problems.append(FieldViolation(at(prefix, "invitation.recipient"), "required: the customer's WhatsApp number"))
    else:
        recipient = phones.e164(asked.recipient.strip(), region) or ""
        if not recipient:
            problems.append(
                FieldViolation(at(prefix, "invitation.recipient"), phones.problem(asked.recipient.strip(), region))
            )
    refs = {
        name: reference(getattr(asked, name), collection, at(prefix, f"invitation.{name}"), problems)
        for name, collection in REFERENCES.items()
    }
    if asked.request_id and not REQUEST_ID.match(asked.request_id):
        problems.append(FieldViolation(at(prefix, "request_id"), "at most 200 printable ASCII characters, no spaces"))
    for name, why in asked.extras.items():
        problems.append(FieldViolation(at(prefix, f"invitation.{name}"), why))
    if problems:
        raise InvalidArgument(problems)
    return Invitation(
        token=token,
        form_id=form_id,
        recipient=recipient,
        contact=refs["contact"],
        message=refs["message"],
        job=refs["job"],
        create_time=now,
        creator=creator,
        request_id=asked.request_id,
    )


def with_message(invitation: Invitation, message_id: str) -> Invitation:
    return replace(invitation, message=message_id)
