"""The WhatsApp template catalogue: synced from EUM Social (ListWhatsAppMessageTemplates for the summaries,
GetWhatsAppMessageTemplate for each one's components and variables) into the store, per WABA."""

from __future__ import annotations

import asyncio
import logging
import time

from services.messaging.adapters.providers import WhatsAppProvider
from services.messaging.adapters.store import OutboundStore
from services.messaging.domain.meta import parse_template

log = logging.getLogger("wecare.messaging.catalogue")


class Catalogue:
    def __init__(self, store: OutboundStore, whatsapp: WhatsAppProvider, wabas: tuple[str, ...]):
        self._store = store
        self._whatsapp = whatsapp
        self.wabas = wabas

    async def sync(self, wabas: list[str] | None = None) -> tuple[int, int, int]:
        """(templates now, added, removed) over the synced WABAs."""
        total = added = removed = 0
        for waba in wabas or self.wabas:
            summaries = await self._whatsapp.list_templates(waba)
            definitions = await asyncio.gather(
                *(self._whatsapp.get_template(waba, str(s.get("metaTemplateId", ""))) for s in summaries)
            )
            now = time.time()
            templates = [parse_template(s, d, waba, now) for s, d in zip(summaries, definitions, strict=True)]
            a, r = await self._store.replace_templates(waba, templates)
            total, added, removed = total + len(templates), added + a, removed + r
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
