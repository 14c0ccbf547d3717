"""A template's life as a use case: created (checked against Meta's rules before anything is submitted, a media
header's example uploaded, or taken from Meta's library), updated (checked again; Meta reviews it again), deleted,
and moved by Meta's events (message_template_status_update, template_category_update) as ingest hands them over.

Order against a crash: Meta is asked first and the catalogue written after, so a template is never in the
catalogue without existing at Meta; one created at Meta just before a crash comes into the catalogue with the next
sync (SyncTemplates, or at start), and an event for a template the catalogue does not hold triggers that sync."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from runtime.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from services.messaging.adapters.store import TemplateStore
from services.messaging.adapters.template_api import Created
from services.messaging.domain import templates
from services.messaging.domain.meta import parse_template
from services.messaging.domain.meta_events import TemplateEvent
from services.messaging.domain.model import Template
from services.messaging.domain.templates import Draft
from services.messaging.outbound.templates import Templates, TemplateSource

log = logging.getLogger("wecare.messaging.templates")
UPDATABLE = ("header", "body", "footer_text", "buttons", "category")


class TemplateApi(Protocol):
    """EUM Social's template management (adapters.template_api.WhatsAppTemplateApi)."""

    async def create(self, waba: str, definition: dict[str, Any]) -> Created: ...

    async def create_from_library(self, waba: str, library: dict[str, Any]) -> Created: ...

    async def upload_media(self, waba: str, media_key: str) -> str: ...

    async def update(
        self, waba: str, meta_template_id: str, components: list[dict[str, Any]], category: str, parameter_format: str
    ) -> None: ...

    async def delete(self, waba: str, template_name: str, meta_template_id: str) -> None: ...


@dataclass(frozen=True)
class Library:
    """CreateTemplate with `library_template`: one of Meta's library templates taken as ours."""

    library_template_name: str
    button_inputs: tuple[dict[str, Any], ...] = ()
    body_inputs: dict[str, Any] = dataclasses.field(default_factory=dict)


class TemplateLifecycle:
    def __init__(
        self,
        store: TemplateStore,
        api: TemplateApi,
        source: TemplateSource,
        catalogue: Templates,
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._api = api
        self._source = source
        self._catalogue = catalogue
        self._clock = clock

    def _waba(self, waba: str) -> str:
        if not waba:
            if not self._catalogue.wabas:
                raise FailedPrecondition("no WhatsApp Business Account is configured", reason="NO_WABA")
            return self._catalogue.wabas[0]
        if waba not in self._catalogue.wabas:
            raise InvalidArgument("template.waba", f"{waba} is not a configured WhatsApp Business Account")
        return waba

    async def _absent(self, draft: Draft) -> None:
        found = await self._store.get_template(draft.template_name, draft.language)
        if found is not None and found.template_status not in ("DELETED", "PENDING_DELETION"):
            raise AlreadyExists(f"templates/{found.key} exists ({found.template_status})")

    async def create(self, draft: Draft, waba: str = "") -> Template:
        templates.check(draft)
        waba = self._waba(waba)
        await self._absent(draft)
        handle = await self._api.upload_media(waba, draft.header_media_key) if draft.header_media_key else ""
        created = await self._api.create(waba, templates.definition(draft, handle))
        entry = templates.entry(
            draft, waba, created.meta_template_id, created.status, created.category, self._clock(), handle
        )
        await self._store.put_template(entry)
        self._catalogue.forget()
        log.info("template submitted", extra={"template": entry.name, "status": entry.template_status})
        return entry

    async def create_from_library(self, draft: Draft, library: Library, waba: str = "") -> Template:
        """`draft` names it (template_name, language, category); the library gives the rest."""
        bad = []
        if not templates.NAME.match(draft.template_name):
            bad.append(("template.template_name", "required: lower-case letters, digits and underscores"))
        if not templates.LANGUAGE.match(draft.language):
            bad.append(("template.language", "required: a language code such as en_US"))
        if draft.category not in templates.CATEGORIES:
            bad.append(("template.category", "MARKETING, UTILITY or AUTHENTICATION"))
        if not library.library_template_name.strip():
            bad.append(("template.library_template.library_template_name", "required"))
        if bad:
            raise InvalidArgument([FieldViolation(f, d) for f, d in bad])
        waba = self._waba(waba)
        await self._absent(draft)
        meta_library: dict[str, Any] = {
            "templateName": draft.template_name,
            "libraryTemplateName": library.library_template_name,
            "templateCategory": draft.category,
            "templateLanguage": draft.language,
        }
        if library.button_inputs:
            meta_library["libraryTemplateButtonInputs"] = list(library.button_inputs)
        if library.body_inputs:
            meta_library["libraryTemplateBodyInputs"] = dict(library.body_inputs)
        created = await self._api.create_from_library(waba, meta_library)
        now = self._clock()
        # Its components are the library's: read back what Meta made of it.
        definition = await self._source.get_template(waba, created.meta_template_id)
        summary = {
            "templateName": draft.template_name,
            "templateLanguage": draft.language,
            "templateCategory": created.category or draft.category,
            "templateStatus": created.status,
            "metaTemplateId": created.meta_template_id,
        }
        entry = dataclasses.replace(parse_template(summary, definition, waba, now), status_time=now, update_time=now)
        await self._store.put_template(entry)
        self._catalogue.forget()
        return entry

    async def _get(self, key: str) -> Template:
        name, _, language = key.rpartition(".")
        found = await self._store.get_template(name, language) if name else None
        if found is None:
            raise NotFound(f"templates/{key} does not exist")
        return found

    async def update(self, key: str, changes: dict[str, Any]) -> Template:
        """`changes`: the draft's fields (header_*, body_*, named_examples, footer_text, buttons, category)."""
        current = await self._get(key)
        if current.template_status in ("PENDING", "DELETED", "PENDING_DELETION", "DISABLED"):
            raise FailedPrecondition(
                f"templates/{key} is {current.template_status}: Meta does not take an edit now",
                reason="TEMPLATE_NOT_EDITABLE",
            )
        draft = dataclasses.replace(templates.draft_of(current), **changes)
        if draft.category != current.category.value and current.template_status == "APPROVED":
            raise FailedPrecondition(
                "an approved template's category cannot be changed; Meta categorises it", reason="CATEGORY_LOCKED"
            )
        templates.check(draft)
        new_media = draft.header_media_key and draft.header_media_key != templates.draft_of(current).header_media_key
        handle = await self._api.upload_media(current.waba, draft.header_media_key) if new_media else ""
        parts = templates.components(draft, handle or _handle_of(current))
        category = draft.category if draft.category != current.category.value else ""
        await self._api.update(current.waba, current.meta_template_id, parts, category, draft.parameter_format)
        now = self._clock()
        entry = templates.entry(
            draft, current.waba, current.meta_template_id, "PENDING", draft.category, now, handle or _handle_of(current)
        )
        await self._store.put_template(entry)
        self._catalogue.forget()
        return entry

    async def delete(self, key: str) -> Template:
        current = await self._get(key)
        await self._api.delete(current.waba, current.template_name, current.meta_template_id)
        await self._store.delete_template(current.template_name, current.language)
        self._catalogue.forget()
        return current

    async def get(self, key: str) -> Template:
        return await self._get(key)

    # --- Meta's events --------------------------------------------------------------------------------
    async def apply(self, changes: list[TemplateEvent]) -> list[Template]:
        """Applies status and category events in order; returns the templates they moved. An event for a
        template the catalogue does not hold syncs its WABA (it was created elsewhere, or just before a crash)."""
        moved: list[Template] = []
        unknown: set[str] = set()
        for change in changes:
            t = await self._store.get_template(change.template_name, change.language)
            if t is None:
                unknown.add(change.waba)
                continue
            if change.event:
                after = templates.on_status(t, change.event, change.reason, change.time)
            else:
                after = templates.on_category(
                    t, change.new_category, change.previous_category, change.correct_category, change.time
                )
            if after is not None:
                await self._store.put_template(after)
                moved.append(after)
                log.info(
                    "template moved",
                    extra={"template": after.name, "status": after.template_status, "reason": after.status_reason},
                )
        if moved:
            self._catalogue.forget()
        wabas = [w for w in unknown if w in self._catalogue.wabas]
        if wabas:
            await self._catalogue.sync(wabas)
        return moved


def _handle_of(t: Template) -> str:
    for c in t.components:
        if str(c.get("type", "")).upper() == "HEADER":
            return str(((c.get("example") or {}).get("header_handle") or [""])[0])
    return ""
