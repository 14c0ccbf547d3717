"""Meta's account events as ingest hands them over (domain.meta_events): a template's status and category go to
its lifecycle (outbound.template_lifecycle), the portfolio's messaging limit and a phone's quality to the tier's
ledger (domain.tier, compare-and-swap), each forward only by the event's time, so a repeated or late event
changes nothing. A template's status event is also noted as a TEMPLATE hold (after the template is written; again
when the event comes again), so every messaging process's dispatcher forgets its cached catalogue within a second
(dispatch.holds) and stops handing Meta sends of a template it paused."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Protocol

from services.messaging.adapters.store import HoldStore, PortfolioStore
from services.messaging.domain import holds, tier
from services.messaging.domain.meta_events import (
    LOWEST_QUALITY,
    AccountEvent,
    QualityEvent,
    TemplateEvent,
    TierEvent,
)
from services.messaging.domain.model import Template

log = logging.getLogger("wecare.messaging.account")
ATTEMPTS = 10


class TemplateEvents(Protocol):
    async def apply(self, changes: list[TemplateEvent]) -> list[Template]: ...


class AccountEvents:
    def __init__(
        self,
        templates: TemplateEvents,
        portfolio: PortfolioStore,
        rng: random.Random | None = None,
        holds: HoldStore | None = None,
    ):
        self._templates = templates
        self._portfolio = portfolio
        self._holds = holds
        self._rng = rng or random.Random()

    async def apply(self, events: list[AccountEvent]) -> bool:
        """Applies the events in order; whether any changed something."""
        changed = False
        template_events = [e for e in events if isinstance(e, TemplateEvent)]
        if template_events:
            changed |= bool(await self._templates.apply(template_events))
            moves = [e for e in template_events if e.event]
            if self._holds is not None and moves:
                now = time.time()  # noted now, not at Meta's (whole-second, maybe late) time: readers look back 5 s
                await self._holds.note_holds(
                    [holds.template_moved(f"{e.template_name}.{e.language}", now, e.event) for e in moves]
                )
        for e in events:
            if isinstance(e, TierEvent):
                changed |= await self._ledger(lambda doc, e=e: tier.set_limit(doc, e.limit, e.time))
                log.info("messaging tier", extra={"limit": e.limit})
            elif isinstance(e, QualityEvent) and e.origination and e.quality:
                changed |= await self._ledger(lambda doc, e=e: tier.set_quality(doc, e.origination, e.quality, e.time))
                if e.quality == LOWEST_QUALITY:  # the checks at the call stop its marketing (PHONE_QUALITY_LOW)
                    log.warning(
                        "phone quality at Meta's lowest: marketing from it stops until Meta raises it",
                        extra={"phone": e.origination, "quality": e.quality, "event": e.event},
                    )
                else:
                    log.info("phone quality", extra={"phone": e.origination, "quality": e.quality, "event": e.event})
            elif isinstance(e, QualityEvent) and e.quality:
                log.warning("a phone quality event names no phone of ours", extra={"event": e.event})
        return changed

    async def _ledger(self, change) -> bool:
        for attempt in range(ATTEMPTS):
            doc, version = await self._portfolio.load_ledger()
            new = change(doc)
            if new is None:
                return False
            if await self._portfolio.save_ledger(new, version):
                return True
            await asyncio.sleep(self._rng.uniform(0.002, 0.02) * (attempt + 1))
        raise RuntimeError("the tier ledger kept changing; the event comes again")
