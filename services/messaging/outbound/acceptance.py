"""Accepting an outbound message: its shape (domain.rules.validate), its idempotency key, and the sending rules
with the facts they need, read for a whole chunk of messages at once: consent from contacts, the 24-hour window,
the template catalogue, suppressions, the sender's pause. The result is a message ready to store, the earlier
message holding its key, or why it is refused (each refusal naming its field or rule)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from runtime import ids, phones
from runtime.errors import DomainError, InvalidArgument
from runtime.tracing import inject_headers
from services.messaging.adapters.consent import ConsentReader, Recipient
from services.messaging.adapters.store import (
    InboundMessageStore,
    MarketingCapStore,
    MessageStore,
    SuppressionStore,
    WindowStore,
)
from services.messaging.dispatch.interface import SenderState
from services.messaging.domain import rules
from services.messaging.domain.holds import OPT_OUT_CONFIRMATION
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage, Status, Template
from services.messaging.domain.rules import Draft, RuleFacts
from services.messaging.outbound.templates import Templates
from services.messaging.outbound.tracking import Tracking

Prepared = OutboundMessage | tuple[OutboundMessage, bool] | DomainError


@dataclass(frozen=True)
class OutboundConfig:
    region: str
    senders: dict[Channel, tuple[str, ...]]
    marketing_requires_opt_in: bool = False
    max_batch: int = 25_000
    window_seconds: float = rules.WINDOW_SECONDS  # the customer's window on Meta's clock (runtime.timescale)
    marketing_cap: int = 0
    marketing_cap_seconds: float = 7 * 24 * 3600.0


@dataclass(frozen=True)
class _Facts:
    """The facts read once for a chunk of messages."""

    last: dict[tuple[str, str], float]  # (phone, customer) -> last inbound
    templates: dict[tuple[str, str], Template | None]
    suppressed: dict[str, str]
    now: float
    marketing_sent: dict[str, int]


class Acceptance:
    def __init__(
        self,
        messages: MessageStore,
        inbound: InboundMessageStore,
        windows: WindowStore,
        suppressions: SuppressionStore,
        consent: ConsentReader,
        templates: Templates,
        senders: SenderState,
        config: OutboundConfig,
        wall: Callable[[], float] = time.time,
        tracking: Tracking | None = None,
        caps: MarketingCapStore | None = None,
        quality: Callable[[str], Awaitable[str]] | None = None,
    ):
        self._tracking = tracking or Tracking(None)
        self._caps = caps
        self._quality_of = quality
        self._messages = messages
        self._inbound = inbound
        self._windows = windows
        self._suppressions = suppressions
        self._consent = consent
        self._templates = templates
        self._senders = senders
        self.config = config
        self._wall = wall

    async def prepare_many(
        self,
        entries: list[tuple[Draft, str]],
        lane: Lane,
        batch_id: str = "",
        opt_out_confirmation: bool = False,
    ) -> list[Prepared]:
        """For each (draft, field prefix): a message ready to store, (the earlier message, True) when its
        idempotency key is taken, or why it is refused. The facts are read for all of them at once."""
        out: list = [None] * len(entries)
        valid: list[tuple[int, Draft]] = []
        for i, (draft, prefix) in enumerate(entries):
            try:
                valid.append((i, rules.validate(draft, prefix, self.config.region, self.config.senders)))
            except DomainError as exc:
                out[i] = exc
        keys = [d.idempotency_key for _, d in valid if d.idempotency_key]
        held = {m.idempotency_key: m for m in await self._messages.get_by_keys(keys)} if keys else {}
        fresh: list[tuple[int, Draft]] = []
        for i, d in valid:
            earlier = held.get(d.idempotency_key) if d.idempotency_key else None
            if earlier is not None and earlier.status != Status.WITHDRAWN:
                out[i] = (earlier, True)
            else:
                fresh.append((i, d))

        found = await asyncio.gather(*(self._recipient(d, entries[i][1]) for i, d in fresh), return_exceptions=True)
        resolved: list[tuple[int, Draft, Recipient]] = []
        for (i, _), r in zip(fresh, found, strict=True):
            if isinstance(r, DomainError):
                out[i] = r
            elif isinstance(r, BaseException):
                raise r
            else:
                resolved.append((i, r[0], r[1]))

        facts = await self._facts([d for _, d, _ in resolved])
        built: list[int] = []
        for i, d, recipient in resolved:
            try:
                out[i] = await self._build(d, entries[i][1], recipient, facts, lane, batch_id, opt_out_confirmation)
                built.append(i)
            except DomainError as exc:
                out[i] = exc
        tracked = await self._tracking.apply([(out[i], entries[i][1]) for i in built])
        for i, m in zip(built, tracked, strict=True):
            out[i] = m
        return out

    async def _facts(self, drafts: list[Draft]) -> _Facts:
        phone_ids = self.config.senders.get(Channel.WHATSAPP, ())
        pairs = {
            (p, d.recipient)
            for d in drafts
            if d.channel == Channel.WHATSAPP
            for p in ([d.origination] if d.origination else phone_ids)
        }
        last = await self._windows.last_inbound_many(sorted(pairs)) if pairs else {}
        templates: dict[tuple[str, str], Template | None] = {}
        for d in drafts:
            if "template" in d.content:
                t = d.content["template"]
                key = (t.get("template_name", ""), t.get("language", ""))
                if key not in templates:
                    templates[key] = await self._templates.lookup(*key)
        now = self._wall()
        marketing = set()
        for d in drafts:
            template = _template_of(d, templates)
            if d.category == Category.MARKETING or (template is not None and template.category == Category.MARKETING):
                marketing.add(d.recipient)
        suppressed = await self._suppressions.suppressed_many(sorted(marketing), "marketing", now) if marketing else {}
        sent: dict[str, int] = {}
        if marketing and self.config.marketing_cap and self._caps is not None:
            sent = await self._caps.counts(sorted(marketing), now - self.config.marketing_cap_seconds)
        return _Facts(last, templates, suppressed, now, sent)

    async def _recipient(self, draft: Draft, prefix: str) -> tuple[Draft, Recipient]:
        assert draft.channel is not None
        channel = draft.channel.value
        if not draft.contact:
            return draft, await self._consent.by_address(channel, draft.recipient)
        found = await self._consent.by_contact(channel, draft.contact)
        address = found.email if draft.channel == Channel.EMAIL else found.phone_number
        if not address:
            raise InvalidArgument(f"{prefix}.contact", f"{draft.contact} has no address on {channel}")
        if draft.recipient and draft.recipient != address:
            raise InvalidArgument(f"{prefix}.recipient", f"is not {draft.contact}'s address on {channel}")
        draft = rules.validate(
            Draft(**{**draft.__dict__, "recipient": address}), prefix, self.config.region, self.config.senders
        )
        return draft, found

    async def _build(
        self,
        draft: Draft,
        prefix: str,
        recipient: Recipient,
        facts: _Facts,
        lane: Lane,
        batch_id: str,
        opt_out_confirmation: bool,
    ) -> OutboundMessage:
        assert draft.channel is not None
        now = facts.now
        origination, last_inbound = draft.origination, None
        if draft.channel == Channel.WHATSAPP:
            if origination:
                last_inbound = facts.last.get((origination, draft.recipient))
            else:
                # Unnamed: reply from the phone the customer wrote to last, else the first phone.
                origination = self.config.senders[Channel.WHATSAPP][0]
                for phone in self.config.senders[Channel.WHATSAPP]:
                    t = facts.last.get((phone, draft.recipient))
                    if t is not None and (last_inbound is None or t > last_inbound):
                        origination, last_inbound = phone, t
        elif not origination:
            origination = self.config.senders[draft.channel][0]
        window_open = rules.window_open(last_inbound, now, self.config.window_seconds)
        rule_facts = RuleFacts(
            consent=recipient.consent,
            window_open=window_open,
            template=_template_of(draft, facts.templates),
            suppressed=facts.suppressed.get(draft.recipient),
            sender_paused_until=self._senders.paused_until(draft.channel, origination),
            marketing_requires_opt_in=self.config.marketing_requires_opt_in,
            opt_out_confirmation=opt_out_confirmation,
            marketing_sent=facts.marketing_sent.get(draft.recipient, 0),
            marketing_cap=self.config.marketing_cap,
            phone_quality=await self._quality(origination) if draft.channel == Channel.WHATSAPP else "",
        )
        category = rules.check_rules(draft, rule_facts, now)
        extra: dict[str, str | bool] = {}
        # The provider call happens later, in the dispatcher: it continues the trace of the request that accepted it.
        traceparent = inject_headers().get("traceparent")
        if traceparent:
            extra["traceparent"] = traceparent
        if draft.track_links:
            extra["track_links"] = True
        if draft.job:
            extra["job"] = draft.job
        if draft.reply_to:
            extra["context_wamid"] = await self._wamid(draft.reply_to, f"{prefix}.reply_to")
        if "reaction" in draft.content:
            extra["reaction_wamid"] = await self._wamid(
                draft.content["reaction"]["message"], f"{prefix}.content.reaction.message"
            )
        if opt_out_confirmation:  # the one message an opt-out does not withdraw (domain.holds)
            extra[OPT_OUT_CONFIRMATION] = "1"
        if draft.channel == Channel.WHATSAPP and window_open:
            lane = Lane.CONVERSATION
        return OutboundMessage(
            id=ids.new_id(),
            channel=draft.channel,
            category=category,
            origination=origination,
            recipient=draft.recipient,
            content=draft.content,
            create_time=now,
            contact_id=recipient.contact_id,
            idempotency_key=draft.idempotency_key,
            reply_to=draft.reply_to.removeprefix("messages/"),
            lane=lane,
            batch_id=batch_id,
            due_time=now,
            update_time=now,
            extra=extra,
        )

    async def _quality(self, phone: str) -> str:
        return await self._quality_of(phone) if self._quality_of is not None else ""

    async def _wamid(self, name: str, field_path: str) -> str:
        """The WhatsApp id of the message a reply or a reaction names (ours or the customer's)."""
        message_id = name.removeprefix("messages/")
        if not ids.is_id(message_id):
            raise InvalidArgument(field_path, f"{name!r} is not a message name")
        found = await self._messages.get(message_id)
        wamid = found.provider_message_id if found else ""
        if not found:
            inbound = await self._inbound.get(message_id)
            wamid = inbound.provider_message_id if inbound else ""
            if inbound is None:
                raise InvalidArgument(field_path, f"{name} does not exist")
        if not wamid:
            raise InvalidArgument(field_path, f"{name} has no WhatsApp id yet (not sent)")
        return wamid


def consent_key(draft: Draft, region: str) -> tuple[str, str]:
    """(channel, address) as the consent lookup will ask for it."""
    assert draft.channel is not None
    if draft.channel == Channel.EMAIL:
        return draft.channel.value, draft.recipient.strip().lower()
    return draft.channel.value, phones.e164(draft.recipient.strip(), region) or draft.recipient


def _template_of(draft: Draft, templates: dict[tuple[str, str], Template | None]) -> Template | None:
    t = draft.content.get("template")
    return templates.get((t.get("template_name", ""), t.get("language", ""))) if t else None
