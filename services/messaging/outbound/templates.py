"""The WhatsApp template catalogue as a use case: synced from EUM Social (ListWhatsAppMessageTemplates for the
summaries, GetWhatsAppMessageTemplate for each one's components and variables) into the store per WABA, listed,
and looked up by acceptance through a short cache (a sync here forgets it at once)."""

from __future__ import annotations

import asyncio
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

    async def list(self, language: str, after: str, limit: int) -> list[Template]:
        return await self._store.list_templates(language, after, limit)

    async def lookup(self, name: str, language: str) -> Template | None:
        """The template as acceptance checks it: the whole catalogue read at most every CACHE_SECONDS."""
        if time.monotonic() - self._cached_at > CACHE_SECONDS:
            async with self._lock:
                if time.monotonic() - self._cached_at > CACHE_SECONDS:
                    catalogue: dict[str, Template] = {}
                    after = ""
                    while True:
                        page = await self._store.list_templates("", after, PAGE)
                        catalogue.update({t.key: t for t in page})
                        if len(page) < PAGE:
                            break
                        after = page[-1].key
                    self._cached = catalogue
                    self._cached_at = time.monotonic()
        return self._cached.get(f"{name}.{language}")

    def forget(self) -> None:
        self._cached_at = -1e9
