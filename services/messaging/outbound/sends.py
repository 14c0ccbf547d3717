"""Sending, as the RPCs ask for it: one message (SendMessage), or many in one stream (SendMessages), accepted in
chunks (each durable in the store before its results are streamed), then followed until every message is sent,
failed, withdrawn or unknown. Accepted messages touch their conversations, and the dispatcher is nudged for each
sender with new work; sending itself is the dispatcher's."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

from runtime.errors import DomainError, InvalidArgument
from services.messaging.adapters.consent import ConsentReader
from services.messaging.adapters.store import ConversationStore, MessageStore
from services.messaging.dispatch.interface import Nudge
from services.messaging.domain.model import (
    AcceptOutcome,
    Channel,
    Conversation,
    Lane,
    OutboundMessage,
    conversation_id,
    state_of,
)
from services.messaging.domain.rules import Draft
from services.messaging.outbound.acceptance import Acceptance, consent_key
from services.messaging.outbound.progress import Item, Progress, Tracker

log = logging.getLogger("wecare.messaging.outbound")
CHUNK = 100  # messages accepted per store write in a streamed send
SWEEP_SECONDS = 5.0  # how often a streamed send re-reads its unsettled messages by id
SWEEP_MAX = 2000
PREFETCH_SPAN = 5000  # recipients whose consent is read at once (consent.prefetch)


class Sends:
    def __init__(
        self,
        acceptance: Acceptance,
        messages: MessageStore,
        conversations: ConversationStore,
        consent: ConsentReader,
        nudge: Nudge,
        wall: Callable[[], float] = time.time,
    ):
        self._acceptance = acceptance
        self._messages = messages
        self._conversations = conversations
        self._consent = consent
        self._nudge = nudge
        self._wall = wall
        self._config = acceptance.config

    async def send_one(self, draft: Draft, opt_out_confirmation: bool = False) -> tuple[OutboundMessage, bool]:
        """The message accepted (or the earlier one holding its key, True); raises why it is refused."""
        [prepared] = await self._acceptance.prepare_many(
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
        if len(drafts) > self._config.max_batch:
            raise InvalidArgument("messages", f"at most {self._config.max_batch} messages a call")
        items = [Item(i) for i in range(len(drafts))]
        tracker = Tracker(items, self._wall)
        for start in range(0, len(drafts), PREFETCH_SPAN):
            span = drafts[start : start + PREFETCH_SPAN]
            await self._consent.prefetch(
                {consent_key(d, self._config.region) for d in span if d.channel and not d.contact}
            )
            async for progress in self._accept_drafts(
                drafts, items, tracker, start, start + len(span), batch_id, interval
            ):
                yield progress
        swept = time.monotonic()
        while not tracker.settled():
            await asyncio.sleep(interval)
            changed = await self._messages.batch_changes(batch_id, tracker.since())
            others = tracker.foreign_pending()
            if time.monotonic() - swept > SWEEP_SECONDS:
                # A safety net under the change feed: a writer whose clock runs behind could stamp a change
                # before what the stream has seen. Read the unsettled ones by id now and then.
                swept = time.monotonic()
                others = list(dict.fromkeys([*others, *tracker.unsettled()[:SWEEP_MAX]]))
            if others:
                changed += [state_of(m) for m in await self._messages.get_many(others)]
            tracker.observe(changed)
            if tracker.due(interval):
                yield tracker.step(done=False)
        yield tracker.step(done=True)

    async def _accept_drafts(
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
            prepared = await self._acceptance.prepare_many(
                [(drafts[i], f"messages[{i}]") for i in chunk], Lane.BULK, batch_id
            )
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

    async def _store_and_notify(self, messages: list[OutboundMessage]) -> list[AcceptOutcome]:
        outcomes = await self._messages.accept(messages)
        fresh = [o.message for o in outcomes if not o.duplicate]
        first: dict[tuple[Channel, str], Lane] = {}
        for m in fresh:
            key = (m.channel, m.origination)
            first[key] = min(first.get(key, m.lane), m.lane)
        for (channel, origination), lane in first.items():
            self._nudge.notify(channel, origination, lane)
        if fresh:
            try:
                await self._conversations.note_outbound(
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

    async def by_keys(self, idempotency_keys: list[str]) -> list[OutboundMessage]:
        """The messages holding these keys now (BatchGetMessageStates, for bulk's attribution)."""
        return await self._messages.get_by_keys(idempotency_keys)
