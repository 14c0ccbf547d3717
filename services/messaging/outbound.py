"""Accepting outbound messages: shape, idempotency, the sending rules with the facts they need (consent from
contacts, the 24-hour window, the template catalogue, suppressions, paused senders), durable acceptance in the
store, and the progress of a streamed send until every message is sent, failed, withdrawn or unknown.

Sending itself is the Dispatcher's; this module only tells it that a sender has new work."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from runtime import ids, phones
from runtime.errors import DomainError, InvalidArgument, NotFound
from runtime.tracing import inject_headers
from services.messaging.adapters.consent import ConsentReader, Recipient
from services.messaging.adapters.store import InboundStore, OutboundStore, Withdrawal
from services.messaging.dispatcher import Dispatcher
from services.messaging.domain import rules
from services.messaging.domain.model import (
    SETTLED,
    Category,
    Channel,
    Conversation,
    Lane,
    MessageState,
    OutboundMessage,
    Status,
    Template,
    conversation_id,
    state_of,
)
from services.messaging.domain.rules import Draft, RuleFacts

log = logging.getLogger("wecare.messaging.outbound")
CHUNK = 100  # messages accepted per store write in a streamed send
OVERLAP = 1.0  # seconds a streamed send re-reads of its changes
SWEEP_SECONDS = 5.0  # how often a streamed send re-reads its unsettled messages by id
SWEEP_MAX = 2000
PREFETCH_SPAN = 5000  # recipients whose consent is read at once (consent.prefetch)
TEMPLATE_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class OutboundConfig:
    region: str
    senders: dict[Channel, tuple[str, ...]]
    marketing_requires_opt_in: bool = False
    max_batch: int = 25_000


@dataclass
class Item:
    """One message of a streamed send: its index, then its acceptance or refusal, then its state."""

    index: int
    message: MessageState | None = None
    refusal: DomainError | None = None
    duplicate: bool = False
    reported: tuple | None = None  # what the stream last said about it


@dataclass
class Progress:
    """One step of a streamed send: the items that changed, and totals over the whole request."""

    changed: list[Item]
    totals: dict[str, float] = field(default_factory=dict)
    done: bool = False


class Outbound:
    def __init__(
        self,
        store: OutboundStore,
        inbound: InboundStore,
        consent: ConsentReader,
        dispatcher: Dispatcher,
        config: OutboundConfig,
        wall=time.time,
    ):
        self._store = store
        self._inbound = inbound
        self._consent = consent
        self._dispatcher = dispatcher
        self.config = config
        self._wall = wall
        self._templates: dict[str, Template] = {}
        self._templates_at = -1e9
        self._templates_lock = asyncio.Lock()

    # --- facts --------------------------------------------------------------------------------------
    async def _template(self, name: str, language: str) -> Template | None:
        if time.monotonic() - self._templates_at > TEMPLATE_CACHE_SECONDS:
            async with self._templates_lock:
                if time.monotonic() - self._templates_at > TEMPLATE_CACHE_SECONDS:
                    catalogue: dict[str, Template] = {}
                    after = ""
                    while True:
                        page = await self._store.list_templates("", after, 500)
                        catalogue.update({t.key: t for t in page})
                        if len(page) < 500:
                            break
                        after = page[-1].key
                    self._templates = catalogue
                    self._templates_at = time.monotonic()
        return self._templates.get(f"{name}.{language}")

    def forget_templates(self) -> None:
        self._templates_at = -1e9

    async def _wamid(self, name: str, field_path: str) -> str:
        message_id = name.removeprefix("messages/")
        if not ids.is_id(message_id):
            raise InvalidArgument(field_path, f"{name!r} is not a message name")
        found = await self._store.get(message_id)
        wamid = found.provider_message_id if found else ""
        if not found:
            inbound = await self._inbound.get(message_id)
            wamid = inbound.provider_message_id if inbound else ""
            if inbound is None:
                raise InvalidArgument(field_path, f"{name} does not exist")
        if not wamid:
            raise InvalidArgument(field_path, f"{name} has no WhatsApp id yet (not sent)")
        return wamid

    # --- accepting ----------------------------------------------------------------------------------
    async def prepare_many(
        self,
        entries: list[tuple[Draft, str]],
        lane: Lane,
        batch_id: str = "",
        opt_out_confirmation: bool = False,
    ) -> list[OutboundMessage | tuple[OutboundMessage, bool] | DomainError]:
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
        held = {m.idempotency_key: m for m in await self._store.get_by_keys(keys)} if keys else {}
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

        phones = self.config.senders.get(Channel.WHATSAPP, ())
        pairs = {
            (p, d.recipient)
            for _, d, _ in resolved
            if d.channel == Channel.WHATSAPP
            for p in ([d.origination] if d.origination else phones)
        }
        last = await self._inbound.last_inbound_many(sorted(pairs)) if pairs else {}
        templates = {}
        for _, d, _ in resolved:
            if "template" in d.content:
                t = d.content["template"]
                key = (t.get("template_name", ""), t.get("language", ""))
                if key not in templates:
                    templates[key] = await self._template(*key)
        now = self._wall()
        marketing = {
            d.recipient
            for _, d, _ in resolved
            if d.category == Category.MARKETING
            or (_template_of(d, templates) is not None and _template_of(d, templates).category == Category.MARKETING)
        }
        suppressed = await self._store.suppressed_many(sorted(marketing), "marketing", now) if marketing else {}

        for i, d, recipient in resolved:
            prefix = entries[i][1]
            try:
                out[i] = await self._build(
                    d,
                    prefix,
                    recipient,
                    last,
                    _template_of(d, templates),
                    suppressed.get(d.recipient),
                    lane,
                    batch_id,
                    opt_out_confirmation,
                    now,
                )
            except DomainError as exc:
                out[i] = exc
        return out

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
        last: dict[tuple[str, str], float],
        template: Template | None,
        suppressed: str | None,
        lane: Lane,
        batch_id: str,
        opt_out_confirmation: bool,
        now: float,
    ) -> OutboundMessage:
        assert draft.channel is not None
        origination, last_inbound = draft.origination, None
        if draft.channel == Channel.WHATSAPP:
            if origination:
                last_inbound = last.get((origination, draft.recipient))
            else:
                # Unnamed: reply from the phone the customer wrote to last, else the first phone.
                origination = self.config.senders[Channel.WHATSAPP][0]
                for phone in self.config.senders[Channel.WHATSAPP]:
                    t = last.get((phone, draft.recipient))
                    if t is not None and (last_inbound is None or t > last_inbound):
                        origination, last_inbound = phone, t
        elif not origination:
            origination = self.config.senders[draft.channel][0]
        window_open = rules.window_open(last_inbound, now)
        facts = RuleFacts(
            consent=recipient.consent,
            window_open=window_open,
            template=template,
            suppressed=suppressed,
            sender_paused_until=self._dispatcher.paused_until(draft.channel, origination),
            marketing_requires_opt_in=self.config.marketing_requires_opt_in,
            opt_out_confirmation=opt_out_confirmation,
        )
        category = rules.check_rules(draft, facts, now)
        extra: dict[str, str] = {}
        # The provider call happens later, in the dispatcher: it continues the trace of the request that accepted it.
        traceparent = inject_headers().get("traceparent")
        if traceparent:
            extra["traceparent"] = traceparent
        if draft.reply_to:
            extra["context_wamid"] = await self._wamid(draft.reply_to, f"{prefix}.reply_to")
        if "reaction" in draft.content:
            extra["reaction_wamid"] = await self._wamid(
                draft.content["reaction"]["message"], f"{prefix}.content.reaction.message"
            )
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

    async def _store_and_notify(self, messages: list[OutboundMessage]) -> list:
        outcomes = await self._store.accept(messages)
        fresh = [o.message for o in outcomes if not o.duplicate]
        first: dict[tuple[Channel, str], Lane] = {}
        for m in fresh:
            key = (m.channel, m.origination)
            first[key] = min(first.get(key, m.lane), m.lane)
        for (channel, origination), lane in first.items():
            self._dispatcher.notify(channel, origination, lane)
        if fresh:
            try:
                await self._inbound.note_outbound(
                    [
                        Conversation(
                            conversation_id(m.channel, m.recipient),
                            m.channel,
                            m.recipient,
                            m.create_time,
                            m.id,
                            contact_id=m.contact_id,
                        )
                        for m in fresh
                    ]
                )
            except Exception:
                # The messages are accepted; the inbox ordering catches up with the next message.
                log.exception("conversation update failed")
        return outcomes

    async def send_one(self, draft: Draft, opt_out_confirmation: bool = False) -> tuple[OutboundMessage, bool]:
        [prepared] = await self.prepare_many(
            [(draft, "message")], Lane.SINGLE, opt_out_confirmation=opt_out_confirmation
        )
        if isinstance(prepared, DomainError):
            raise prepared
        if isinstance(prepared, tuple):
            return prepared
        [outcome] = await self._store_and_notify([prepared])
        return outcome.message, outcome.duplicate

    async def send_many(self, drafts: list[Draft], batch_id: str, interval: float = 0.25) -> AsyncIterator[Progress]:
        """Accepts in chunks (each durable before its results are streamed), then follows every accepted
        message until it is settled. Yields progress at most every `interval` seconds."""
        if not drafts:
            raise InvalidArgument("messages", "at least one message")
        if len(drafts) > self.config.max_batch:
            raise InvalidArgument("messages", f"at most {self.config.max_batch} messages a call")
        items = [Item(i) for i in range(len(drafts))]
        tracker = Tracker(items, self._wall)
        for start in range(0, len(drafts), PREFETCH_SPAN):
            span = drafts[start : start + PREFETCH_SPAN]
            await self._consent.prefetch(
                {_consent_key(d, self.config.region) for d in span if d.channel and not d.contact}
            )
            async for progress in self._accept_span(
                drafts, items, tracker, start, start + len(span), batch_id, interval
            ):
                yield progress
        swept = time.monotonic()
        while not tracker.settled():
            await asyncio.sleep(interval)
            changed = await self._store.batch_changes(batch_id, tracker.since())
            others = tracker.foreign_pending()
            if time.monotonic() - swept > SWEEP_SECONDS:
                # A safety net under the change feed: a writer whose clock runs behind could stamp a change
                # before what the stream has seen. Read the unsettled ones by id now and then.
                swept = time.monotonic()
                others = list(dict.fromkeys([*others, *tracker.unsettled()[:SWEEP_MAX]]))
            if others:
                changed += [state_of(m) for m in await self._store.get_many(others)]
            tracker.observe(changed)
            if tracker.due(interval):
                yield tracker.step(done=False)
        yield tracker.step(done=True)

    async def _accept_span(
        self,
        drafts: list[Draft],
        items: list[Item],
        tracker: Tracker,
        begin: int,
        end: int,
        batch_id: str,
        interval: float,
    ) -> AsyncIterator[Progress]:
        for start in range(begin, end, CHUNK):
            await asyncio.sleep(0)  # let the dispatcher run between chunks
            chunk = list(range(start, min(start + CHUNK, end)))
            prepared = await self.prepare_many([(drafts[i], f"messages[{i}]") for i in chunk], Lane.BULK, batch_id)
            to_store: list[tuple[int, OutboundMessage]] = []
            for i, p in zip(chunk, prepared, strict=True):
                if isinstance(p, DomainError):
                    items[i].refusal = p
                elif isinstance(p, tuple):
                    items[i].message, items[i].duplicate = state_of(p[0]), True
                else:
                    to_store.append((i, p))
            if to_store:
                outcomes = await self._store_and_notify([m for _, m in to_store])
                for (i, _), o in zip(to_store, outcomes, strict=True):
                    items[i].message, items[i].duplicate = state_of(o.message), o.duplicate
            tracker.accepted_through(chunk[-1])
            if tracker.due(interval):
                yield tracker.step(done=False)

    async def withdraw(self, prefix: str) -> Withdrawal:
        target = rules.withdrawal_target(prefix)
        now = self._wall()
        if target == "prefix":
            return await self._store.withdraw_by_key_prefix(prefix, now)
        return await self._store.withdraw_by_key(prefix, now)

    async def by_keys(self, idempotency_keys: list[str]) -> list[OutboundMessage]:
        """The messages holding these keys now (BatchGetMessageStates, for bulk's attribution)."""
        return await self._store.get_by_keys(idempotency_keys)

    async def withdraw_batch(self, batch_id: str) -> Withdrawal:
        return await self._store.withdraw_batch(batch_id, self._wall())

    async def list_templates(self, language: str, after: str, limit: int) -> list[Template]:
        return await self._store.list_templates(language, after, limit)

    async def get(self, message_id: str) -> OutboundMessage:
        found = await self._store.get(message_id)
        if found is None:
            raise NotFound(f"messages/{message_id} does not exist")
        return found


class Tracker:
    """Follows the messages of one streamed send from their store changes. Work per step is proportional to what
    changed, not to the size of the send (a 25,000-message send steps every half second)."""

    def __init__(self, items: list[Item], wall):
        self.items = items
        self._wall = wall
        self._by_id: dict[str, Item] = {}
        self._accepted_through = -1
        self._seen_until = wall()
        self._last_step = 0.0
        self._sends: deque[float] = deque()
        self._counts: Counter[str] = Counter()
        self._counted: dict[int, str] = {}  # item index -> the total it is counted in
        self._dirty: set[int] = set()
        self._duplicates: list[Item] = []

    def accepted_through(self, index: int) -> None:
        for item in self.items[self._accepted_through + 1 : index + 1]:
            if item.message is not None:
                self._by_id.setdefault(item.message.id, item)
                if item.duplicate:
                    self._duplicates.append(item)
            self._recount(item)
        self._accepted_through = max(self._accepted_through, index)

    def _recount(self, item: Item) -> None:
        key = "refused" if item.refusal is not None else _TOTAL_OF.get(item.message.status, "pending")  # type: ignore[union-attr]
        before = self._counted.get(item.index)
        if before != key:
            if before is not None:
                self._counts[before] -= 1
            self._counts[key] += 1
            self._counted[item.index] = key
        self._dirty.add(item.index)

    def since(self) -> float:
        # Overlap what was seen: writes stamped before they committed, and several writers' clocks.
        return self._seen_until - OVERLAP

    def foreign_pending(self) -> list[str]:
        """Duplicates of messages from other sends that are not settled yet (their changes are not ours)."""
        return [i.message.id for i in self._duplicates if i.message is not None and i.message.status not in SETTLED]

    def unsettled(self) -> list[str]:
        return [i.message.id for i in self.items if i.message is not None and i.message.status not in SETTLED]

    def observe(self, messages: list[MessageState]) -> None:
        now = time.monotonic()
        for m in messages:
            self._seen_until = max(self._seen_until, m.update_time)
            item = self._by_id.get(m.id)
            if item is None or item.message is None:
                continue
            if item.message.status not in SETTLED and m.status in SETTLED and m.status != Status.WITHDRAWN:
                self._sends.append(now)
            if m.update_time >= item.message.update_time:
                item.message = m
                self._recount(item)

    def settled(self) -> bool:
        return self._accepted_through == len(self.items) - 1 and not self._counts["pending"]

    def due(self, interval: float) -> bool:
        return time.monotonic() - self._last_step >= interval

    def step(self, done: bool) -> Progress:
        self._last_step = now = time.monotonic()
        while self._sends and self._sends[0] < now - 1.0:
            self._sends.popleft()
        changed = []
        for index in sorted(self._dirty):
            item = self.items[index]
            if item.refusal is not None:
                state: tuple = ("refused",)
            else:
                assert item.message is not None
                state = (item.message.status, item.message.provider_message_id)
            if item.reported != state:
                item.reported = state
                changed.append(item)
        self._dirty.clear()
        totals: dict[str, float] = {"requested": len(self.items)}
        totals["accepted"] = self._accepted_through + 1 - self._counts["refused"]
        for key in ("refused", "sent", "failed", "withdrawn", "unknown", "pending"):
            totals[key] = self._counts[key]
        totals["current_rate"] = float(len(self._sends))
        return Progress(changed, totals, done)


_TOTAL_OF = {
    Status.SENT: "sent",
    Status.DELIVERED: "sent",
    Status.READ: "sent",
    Status.FAILED: "failed",
    Status.WITHDRAWN: "withdrawn",
    Status.UNKNOWN: "unknown",
}


def _consent_key(draft: Draft, region: str) -> tuple[str, str]:
    """(channel, address) as the consent lookup will ask for it."""
    assert draft.channel is not None
    if draft.channel == Channel.EMAIL:
        return draft.channel.value, draft.recipient.strip().lower()
    return draft.channel.value, phones.e164(draft.recipient.strip(), region) or draft.recipient


def _template_of(draft: Draft, templates: dict[tuple[str, str], Template | None]) -> Template | None:
    t = draft.content.get("template")
    return templates.get((t.get("template_name", ""), t.get("language", ""))) if t else None
