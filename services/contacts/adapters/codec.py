"""Contact <-> plain dict, shared by the stores that keep a contact as one document."""

from __future__ import annotations

from typing import Any

from services.contacts.domain import ChannelConsent, ConsentState, Contact


def to_document(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "display_name": contact.display_name,
        "phone_number": contact.phone_number,
        "email": contact.email,
        "tags": list(contact.tags),
        "consent": {
            ch: {"state": c.state.name, "update_time": c.update_time, "source": c.source}
            for ch, c in contact.consent.items()
        },
        "consent_history": {
            ch: [{"state": c.state.name, "update_time": c.update_time, "source": c.source} for c in changes]
            for ch, changes in contact.consent_history.items()
        },
        "attributes": dict(contact.attributes),
        "create_time": contact.create_time,
        "update_time": contact.update_time,
        "version": contact.version,
    }


def from_document(doc: dict[str, Any]) -> Contact:
    return Contact(
        id=doc["id"],
        display_name=doc.get("display_name", ""),
        phone_number=doc.get("phone_number", ""),
        email=doc.get("email", ""),
        tags=tuple(doc.get("tags", ())),
        consent={ch: _consent(c) for ch, c in (doc.get("consent") or {}).items()},
        attributes=dict(doc.get("attributes") or {}),
        create_time=float(doc["create_time"]),
        update_time=float(doc["update_time"]),
        version=int(doc["version"]),
        consent_history={  # absent from documents written before histories were kept
            ch: tuple(_consent(c) for c in changes) for ch, changes in (doc.get("consent_history") or {}).items()
        },
    )


def _consent(doc: dict[str, Any]) -> ChannelConsent:
    return ChannelConsent(ConsentState[doc["state"]], _float(doc.get("update_time")), doc.get("source", ""))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
