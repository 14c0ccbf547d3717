"""The WhatsApp template catalogue as a use case: synced from EUM Social (ListWhatsAppMessageTemplates for the
summaries, GetWhatsAppMessageTemplate for each one's components and variables) into the store per WABA, listed,
and looked up by acceptance and the dispatcher through a short cache (a sync or a lifecycle change here forgets it
at once). Creating, changing and deleting templates is outbound.template_lifecycle."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Protocol

from services.messaging.adapters.store import TemplateStore
from services.messaging.domain.meta import parse_template
from services.messaging.domain.model import Template

log = logging.getLogger("wecare.messaging.catalogue")
CACHE_SECONDS = 5.0
PAGE = 500


class TemplateSource(Protocol):
    """EUM Social's template operations (adapters.providers.WhatsAppProvider)."""

    async def list_templates(self, waba: str) -> list[dict[str, object]]: ...

    async def get_template(self, waba: str, meta_template_id: str) -> str: ...


class Templates:
    def __init__(self, store: TemplateStore, source: TemplateSource, wabas: tuple[str, ...]):
        self._store = store
        self._source = source
        self.wabas = wabas
        self._cached: dict[str, Template] = {}
        self._cached_at = -1e9
        self._lock = asyncio.Lock()

    async def sync(self, wabas: list[str] | None = None) -> tuple[int, int, int]:
        """(templates now, added, removed) over the synced WABAs."""
        total = added = removed = 0
        for waba in wabas or self.wabas:
            summaries = await self._source.list_templates(waba)
            definitions = await asyncio.gather(
                *(self._source.get_template(waba, str(s.get("metaTemplateId", ""))) for s in summaries)
            )
            now = time.time()
            templates = [parse_template(s, d, waba, now) for s, d in zip(summaries, definitions, strict=True)]
            held = {t.key: t for t in await self._all() if t.waba == waba}
            templates = [kept(t, held.get(t.key)) for t in templates]
            a, r = await self._store.replace_templates(waba, templates)
            total, added, removed = total + len(templates), added + a, removed + r
        self.forget()
        return total, added, removed

    async def sync_at_start(self, attempts: int = 30) -> None:
        """Background: the catalogue is needed before the first template send; retry while EUM is away."""
        for attempt in range(attempts):
            try:
                count, _, _ = await self.sync()
                log.info("template catalogue synced", extra={"templates": count})
                return
            except Exception as exc:
                log.warning("template sync failed; retrying", extra={"error": repr(exc), "attempt": attempt + 1})
                await asyncio.sleep(min(30.0, 1.0 * 2**attempt))

    async def _all(self) -> list[Template]:
        catalogue: list[Template] = []
        after = ""
        while True:
            page = await self._store.list_templates("", after, PAGE)
            catalogue += page
            if len(page) < PAGE:
                return catalogue
            after = page[-1].key

    async def list(self, language: str, after: str, limit: int) -> list[Template]:
        return await self._store.list_templates(language, after, limit)

    async def lookup(self, name: str, language: str) -> Template | None:
        """The template as acceptance checks it: the whole catalogue read at most every CACHE_SECONDS."""
        if time.monotonic() - self._cached_at > CACHE_SECONDS:
            async with self._lock:
                if time.monotonic() - self._cached_at > CACHE_SECONDS:
                    self._cached = {t.key: t for t in await self._all()}
                    self._cached_at = time.monotonic()
        return self._cached.get(f"{name}.{language}")

    def forget(self) -> None:
        self._cached_at = -1e9


def kept(synced: Template, held: Template | None) -> Template:
    """A synced template with what the lifecycle knows that Meta's summary does not say: why its status is
    what it is (while the status is the same), the category it had before Meta changed it, the example media."""
    if held is None:
        return synced
    same = synced.template_status == held.template_status
    return dataclasses.replace(
        synced,
        status_reason=held.status_reason if same else "",
        status_time=held.status_time if same else synced.sync_time,
        previous_category=held.previous_category,
        upcoming_category=held.upcoming_category if synced.category == held.category else "",
        components=synced.components or held.components,
        update_time=max(held.update_time, synced.sync_time),
    )
