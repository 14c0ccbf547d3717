"""The sandbox plays Meta's review of templates and its account events: templates created, updated and deleted
through EUM Social's template operations (CreateWhatsAppMessageTemplate, ...FromLibrary, ...Media, Update,
Delete; Get and List show them with their status) go PENDING and are reviewed after `template_review_seconds`
by simple rules, each verdict emitted as a `message_template_status_update` event through the event sink, as
EUM Social delivers it (a WABA-wide entry: no phone in its context). The control endpoint
POST /sandbox/templates/status moves a template as Meta would later (PAUSED, DISABLED, REINSTATED, with a reason)
and POST /sandbox/quality emits a `phone_number_quality_update` (FLAGGED, UNFLAGGED, with a messaging limit).

The review's rules (Meta's are many; these are enough to see both outcomes):
- a name that starts with `reject` is REJECTED (INVALID_FORMAT: "the sandbox rejects templates named reject*");
- a UTILITY template whose body speaks of an offer, a sale or a discount is REJECTED (INCORRECT_CATEGORY);
- everything else is APPROVED."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PROMOTIONAL = re.compile(r"\b(offer|sale|discount|% off)\b", re.IGNORECASE)
STATUS_EVENTS = frozenset({"APPROVED", "REJECTED", "PAUSED", "DISABLED", "REINSTATED", "FLAGGED", "PENDING_DELETION"})
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")


@dataclass
class Created:
    meta_id: str
    waba_hex: str
    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    status: str = "PENDING"
    reason: str = ""  # Meta's reason code (REJECTED) or what Meta says of a pause or a disabling
    detail: str = ""  # a rejection's explanation
    parameter_format: str = "POSITIONAL"
    version: int = 0  # an update while a review is pending: the earlier review no longer applies

    def meta(self) -> dict[str, Any]:
        """The template as GetWhatsAppMessageTemplate returns it (Meta's JSON)."""
        out = {
            "id": self.meta_id,
            "name": self.name,
            "language": self.language,
            "category": self.category,
            "status": self.status,
            "components": self.components,
            "parameter_format": self.parameter_format,
        }
        if self.reason:
            out["rejected_reason"] = self.reason
        return out


@dataclass
class MetaDesk:
    """Templates created in the sandbox, by Meta's id; `emit(waba_hex, field, value)` sends an account event."""

    emit: Callable[[str, str, dict[str, Any]], None]
    review_seconds: Callable[[], float]
    created: dict[str, Created] = field(default_factory=dict)
    _reviews: set[asyncio.Task] = field(default_factory=set)

    # --- EUM Social's operations ----------------------------------------------------------------------
    def create(self, waba_hex: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            definition = json.loads(base64.b64decode(body.get("templateDefinition", "")))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"templateDefinition is not a template's JSON: {exc}") from None
        name, language = str(definition.get("name", "")), str(definition.get("language", ""))
        category = str(definition.get("category", "")).upper()
        if not TEMPLATE_NAME.match(name) or not language or category not in ("MARKETING", "UTILITY", "AUTHENTICATION"):
            raise ValueError("templateDefinition needs name (a-z, 0-9, _), language and category")
        components = definition.get("components") or []
        return self._submit(waba_hex, name, language, category, components, definition.get("parameter_format"))

    def create_from_library(self, waba_hex: str, body: dict[str, Any]) -> dict[str, Any]:
        lib = body.get("metaLibraryTemplate") or {}
        name, language = str(lib.get("templateName", "")), str(lib.get("templateLanguage", ""))
        category = str(lib.get("templateCategory", "UTILITY")).upper()
        if not TEMPLATE_NAME.match(name) or not language or not lib.get("libraryTemplateName"):
            raise ValueError("metaLibraryTemplate needs templateName, templateLanguage and libraryTemplateName")
        text = f"From the library: {lib['libraryTemplateName']}."
        return self._submit(waba_hex, name, language, category, [{"type": "BODY", "text": text}], None)

    def media(self, body: dict[str, Any]) -> dict[str, Any]:
        source = body.get("sourceS3File") or {}
        if not source.get("bucketName") or not source.get("key"):
            raise ValueError("sourceS3File needs bucketName and key")
        return {"metaHeaderHandle": f"4::{zlib.crc32(source['key'].encode()):x}:sandbox"}

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        t = self._find(str(body.get("metaTemplateId", "")))
        if body.get("templateComponents"):
            t.components = json.loads(base64.b64decode(body["templateComponents"]))
        if body.get("templateCategory"):
            t.category = str(body["templateCategory"]).upper()
        t.status, t.reason, t.detail, t.version = "PENDING", "", "", t.version + 1
        self._review_later(t)
        return {}

    def delete(self, query: dict[str, Any]) -> dict[str, Any]:
        name = query.get("templateName", "")
        gone = [
            m
            for m, t in self.created.items()
            if t.name == name and (not query.get("metaTemplateId") or m == query["metaTemplateId"])
        ]
        if not gone:
            raise KeyError(name)
        for m in gone:
            del self.created[m]
        return {}

    def get(self, meta_id: str) -> Created | None:
        return self.created.get(meta_id)

    # --- Meta later (the control endpoint) --------------------------------------------------------------
    def move(self, name: str, language: str, event: str, reason: str = "") -> Created:
        """Meta moves a template (PAUSED, DISABLED, REINSTATED, ...) and says so in an event."""
        event = event.upper()
        if event not in STATUS_EVENTS:
            raise ValueError(f"event must be one of {sorted(STATUS_EVENTS)}")
        found = [t for t in self.created.values() if t.name == name and t.language == language]
        if not found:
            raise KeyError(f"{name}.{language}")
        t = found[0]
        t.status = "APPROVED" if event == "REINSTATED" else event
        t.reason = reason
        self._status_event(t, event)
        return t

    # --- the review -------------------------------------------------------------------------------------
    def _submit(
        self, waba_hex: str, name: str, language: str, category: str, components: list, fmt: str | None
    ) -> dict[str, Any]:
        if any(t.name == name and t.language == language for t in self.created.values()):
            raise ValueError(f"a template {name} in {language} exists already")
        meta_id = str(zlib.crc32(f"{waba_hex}:{name}.{language}".encode())).rjust(16, "8")
        t = Created(meta_id, waba_hex, name, language, category, components, parameter_format=(fmt or "positional"))
        self.created[meta_id] = t
        self._review_later(t)
        return {"metaTemplateId": meta_id, "templateStatus": "PENDING", "category": category}

    def _review_later(self, t: Created) -> None:
        version = t.version

        async def review() -> None:
            await asyncio.sleep(self.review_seconds())
            if self.created.get(t.meta_id) is not t or t.version != version:
                return  # deleted or updated meanwhile: that review is void
            t.status, t.reason, t.detail = verdict(t)
            self._status_event(t, t.status)

        task = asyncio.get_running_loop().create_task(review())
        self._reviews.add(task)
        task.add_done_callback(self._reviews.discard)

    def _status_event(self, t: Created, event: str) -> None:
        value: dict[str, Any] = {
            "event": event,
            "message_template_id": int(t.meta_id),
            "message_template_name": t.name,
            "message_template_language": t.language,
            "reason": (t.reason if event == "REJECTED" else "") or "NONE",
            "message_template_category": t.category,
        }
        if event == "REJECTED":
            value["rejection_info"] = {"reason": t.detail, "recommendation": "see the sandbox's review rules"}
        if event in ("PAUSED", "DISABLED") and t.reason:
            value["other_info"] = {"title": "FIRST_PAUSE" if event == "PAUSED" else event, "description": t.reason}
        self.emit(t.waba_hex, "message_template_status_update", value)


def verdict(t: Created) -> tuple[str, str, str]:
    """(status, reason code, explanation) of the sandbox's review."""
    if t.name.startswith("reject"):
        return "REJECTED", "INVALID_FORMAT", "the sandbox rejects templates named reject*"
    body = " ".join(str(c.get("text", "")) for c in t.components if str(c.get("type", "")).upper() == "BODY")
    if t.category == "UTILITY" and PROMOTIONAL.search(body):
        return "REJECTED", "INCORRECT_CATEGORY", "a utility template may not promote an offer, a sale or a discount"
    return "APPROVED", "", ""
