"""Form responses: one customer's answer to one invitation, stored once, and the CSV they export to. No I/O.

A response is keyed by its flow token (one answer per invitation) and by the wamid of the `nfm_reply` that
brought it (a replayed event): either seen before, nothing changes. Its effects on the contact (mapped fields,
consent) are recorded as contact_sync: PENDING until written, so a repeat of the submission after a failure
writes them then, and never twice in a way that matters (the writes are idempotent)."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from services.commerce.domain.answers import Answer
from services.commerce.domain.forms import FieldType, Form


class ContactSync(Enum):
    NONE = "NONE"
    PENDING = "PENDING"
    APPLIED = "APPLIED"
    FAILED = "FAILED"  # contacts refused the change for good; the answers are kept


@dataclass(frozen=True)
class Response:
    id: str
    token: str
    form_id: str
    recipient: str
    answers: tuple[Answer, ...]
    submit_time: float
    create_time: float
    reply_wamid: str
    reply_message: str = ""  # messaging's inbound message id
    contact: str = ""
    message: str = ""
    job: str = ""
    contact_sync: ContactSync = ContactSync.NONE
    contact_sync_error: str = ""

    @property
    def name(self) -> str:
        return f"forms/{self.form_id}/responses/{self.id}"

    @property
    def invitation(self) -> str:
        return f"forms/{self.form_id}/invitations/{self.token}"

    def audit_view(self) -> dict:
        """Which fields were answered, not what: answers are personal data."""
        return {"invitation": self.invitation, "answered": [a.key for a in self.answers], "job": self.job}


BASE_COLUMNS = ("response", "submit_time", "contact", "recipient", "message", "job")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_header(form: Form) -> bytes:
    return _rows([[*BASE_COLUMNS, *(f.key for f in form.definition.fields)]])


def csv_rows(form: Form, responses: Iterable[Response]) -> bytes:
    """One row a response: its references, then one column a field (multiple choices joined with `;`)."""
    fields = form.definition.fields
    rows = []
    for r in responses:
        given = {a.key: a.values for a in r.answers}
        row = [
            r.name,
            _time(r.submit_time),
            f"contacts/{r.contact}" if r.contact else "",
            r.recipient,
            f"messages/{r.message}" if r.message else "",
            f"bulkJobs/{r.job}" if r.job else "",
        ]
        for f in fields:
            value = ";".join(given.get(f.key, ()))
            if f.type is FieldType.TEXT and value.startswith(FORMULA_STARTS):
                value = "'" + value  # customers' free text must not run as a spreadsheet formula
            row.append(value)
        rows.append(row)
    return _rows(rows)


def _rows(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def _time(seconds: float) -> str:
    return (
        datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
