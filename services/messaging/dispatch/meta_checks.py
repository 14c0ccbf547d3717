"""Meta's rules at the call (a group check before the call, dispatch.batch_checks), for WhatsApp messages:

- the template: PAUSED withdraws a message with an idempotency key (its sender sends it again under the key once
  Meta reinstates the template: bulk pauses the job with the reason) and defers one without,
  DISABLED fails them (TEMPLATE_DISABLED), any other status but APPROVED fails (TEMPLATE_NOT_APPROVED);
- the phone's quality: marketing from a phone at Meta's lowest rating (RED) fails (PHONE_QUALITY_LOW);
- a 131049 re-attempt: consent and suppression are read again (CONSENT_OPTED_OUT, MARKETING_CONSENT_REQUIRED,
  MARKETING_SUPPRESSED), since a day has passed since acceptance;
- the platform's marketing cap: at most N marketing messages a customer in the rolling period, counted atomically
  across processes (MARKETING_FREQUENCY_CAP);
- the messaging tier: business-initiated messages (not replies inside the customer's window) need their customer
  admitted into the window (dispatch.tier), else they are deferred until it frees (TIER_LIMIT)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.messaging.adapters.consent import ConsentReader
from services.messaging.adapters.store import MarketingCapStore, SuppressionStore
from services.messaging.dispatch.checks import Verdict, deferred, failed, withdrawn
from services.messaging.dispatch.tier import TierBudget
from services.messaging.domain.meta_events import LOWEST_QUALITY
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage, Template

PAUSED_RECHECK = 5.0  # seconds between looks at a paused template's messages


@dataclass(frozen=True)
class CapRule:
    limit: int  # marketing messages a customer in the period; 0: off
    period: float  # real seconds


class MetaChecks:
    def __init__(
        self,
        template: Callable[[str, str], Awaitable[Template | None]],
        tier: TierBudget,
        caps: MarketingCapStore,
        cap: CapRule,
        consent: ConsentReader,
        suppressions: SuppressionStore,
        marketing_requires_opt_in: bool = False,
    ):
        self._template = template
        self._tier = tier
        self._caps = caps
        self._cap = cap
        self._consent = consent
        self._suppressions = suppressions
        self._opt_in = marketing_requires_opt_in

    async def check(self, messages: list[OutboundMessage], now: float) -> dict[str, Verdict]:
        verdicts: dict[str, Verdict] = {}
        whatsapp = [m for m in messages if m.channel == Channel.WHATSAPP]
        for m in whatsapp:
            v = await self._template_verdict(m, now) or await self._quality_verdict(m)
            if v is not None:
                verdicts[m.id] = v
        going = [m for m in whatsapp if m.id not in verdicts]
        verdicts.update(await self._reattempts([m for m in going if m.extra.get("reattempt_of")], now))
        going = [m for m in going if m.id not in verdicts]
        verdicts.update(await self._capped([m for m in going if m.category == Category.MARKETING], now))
        going = [m for m in going if m.id not in verdicts]
        verdicts.update(await self._tiered([m for m in going if m.lane != Lane.CONVERSATION]))
        return verdicts

    async def _template_verdict(self, m: OutboundMessage, now: float) -> Verdict | None:
        body = m.content.get("template")
        if not body:
            return None
        t = await self._template(body.get("template_name", ""), body.get("language", ""))
        if t is None or t.template_status == "APPROVED":
            return None
        why = f"template {t.key} is {t.template_status}" + (f": {t.status_reason}" if t.status_reason else "")
        if t.template_status == "PAUSED":
            if m.idempotency_key:  # its sender can send it again under its key (bulk pauses the job, resumes it)
                return withdrawn("TEMPLATE_PAUSED", why)
            return deferred(now + PAUSED_RECHECK, "TEMPLATE_PAUSED", why)
        if t.template_status == "DISABLED":
            return failed("TEMPLATE_DISABLED", why)
        return failed("TEMPLATE_NOT_APPROVED", why)

    async def _quality_verdict(self, m: OutboundMessage) -> Verdict | None:
        if m.category != Category.MARKETING or await self._tier.quality(m.origination) != LOWEST_QUALITY:
            return None
        return failed("PHONE_QUALITY_LOW", f"{m.origination}'s quality is at Meta's lowest: no marketing from it")

    async def _reattempts(self, messages: list[OutboundMessage], now: float) -> dict[str, Verdict]:
        if not messages:
            return {}
        found = await asyncio.gather(*(self._consent.by_address(m.channel.value, m.recipient) for m in messages))
        marketing = sorted({m.recipient for m in messages if m.category == Category.MARKETING})
        suppressed = await self._suppressions.suppressed_many(marketing, "marketing", now) if marketing else {}
        out: dict[str, Verdict] = {}
        for m, r in zip(messages, found, strict=True):
            if r.consent == "OPTED_OUT":
                out[m.id] = failed("CONSENT_OPTED_OUT", f"{m.recipient} opted out since the first attempt")
            elif m.category == Category.MARKETING and self._opt_in and r.consent != "OPTED_IN":
                out[m.id] = failed("MARKETING_CONSENT_REQUIRED", f"marketing needs {m.recipient} to have opted in")
            elif m.recipient in suppressed:
                out[m.id] = failed(
                    "MARKETING_SUPPRESSED", f"{m.recipient} stopped marketing ({suppressed[m.recipient]})"
                )
        return out

    async def _capped(self, messages: list[OutboundMessage], now: float) -> dict[str, Verdict]:
        if not messages or self._cap.limit <= 0:
            return {}
        since = now - self._cap.period
        taken = await asyncio.gather(
            *(self._caps.take(m.recipient, m.id, now, since, self._cap.limit) for m in messages)
        )
        detail = f"{self._cap.limit} marketing messages within the cap's period already"
        return {
            m.id: failed("MARKETING_FREQUENCY_CAP", detail) for m, ok in zip(messages, taken, strict=True) if not ok
        }

    async def _tiered(self, messages: list[OutboundMessage]) -> dict[str, Verdict]:
        if not messages:
            return {}
        customers: dict[str, bool] = {}
        for m in messages:
            customers[m.recipient] = customers.get(m.recipient, False) or m.category == Category.MARKETING
        admission = await self._tier.admit(customers)
        if admission.at:
            self._tier.note_admitted([m.id for m in messages if m.recipient in admission.admitted], admission.at)
        return {
            m.id: deferred(admission.retry_at, "TIER_LIMIT", "the messaging tier's window is full until then")
            for m in messages
            if m.recipient not in admission.admitted
        }
