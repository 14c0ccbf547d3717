"""IngestEvents' work: EUM Social events in, their effects applied once, a call's events together.

A call's events (an SNS delivery, a batch from the SQS queue or the sandbox, a dead-letter replay): SNS
MessageIds seen before are duplicates (one read for the call); the others are parsed (domain.inbound) and each
kind of item they hold is applied by its applier (the APPLIERS table below, in order; every step idempotent,
so that a retried or re-delivered event changes nothing more):
- inbound messages are stored once per wamid (which opens or refreshes the 24-hour window), linked to their
  contact; STOP / START and their kin go to contacts as consent changes (a stranger becomes a contact) and, once,
  to on_consent (outbound.withdrawal: the STOP withdraws what is queued for the customer, within a second); media
  is copied into the bucket (inbound.media);
- statuses, all of the call's together, are applied forward only through MessageStore.apply_statuses (callback
  data, then provider id; a status for a message nobody knows is kept there and attributed when the message
  is known): a handful of store writes for a batch, not a few per event;
- WhatsApp payment statuses (and an inbound form reply) are handed to commerce (inbound.commerce_events);
- call events are recorded once per (call id, event);
- the account's events (a template's status or category, the messaging tier, a phone's quality) go to
  inbound.account.
Work that cannot finish (media out of retries, contacts unreachable) goes to inbound-dlq with its reason and
the event is DEAD_LETTERED; replaying that letter (finish) does the rest. Only when an event's work is applied
or dead-lettered are its entries appended to the inbox's change feed and its SNS MessageId marked (one commit
for the call); an event whose work failed (the store, the queue) is not marked, and the call fails after the
others are committed, so the sender retries it. A status whose (wamid, status) was applied before still puts
its change in the feed when the message stands at that status (the earlier delivery may have crashed before
its commit): the feed is at-least-once, and watchers drop repeats by key."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime import ids
from services.messaging.adapters.codec import inbound_to_dict, outbound_to_dict, voice_call_to_dict
from services.messaging.adapters.consent import ConsentReader
from services.messaging.adapters.consent_changes import ConsentNotRecorded, ConsentRecorder
from services.messaging.adapters.store import EventFeedStore, InboundMessageStore, MessageStore, VoiceCallStore
from services.messaging.domain.inbound import (
    Change,
    ChangeKind,
    ConsentKeyword,
    EventItems,
    MalformedEvent,
    consent_keyword,
    parse_event,
)
from services.messaging.domain.model import (
    FAILURES,
    Channel,
    InboundMessage,
    OutboundMessage,
    StatusEvent,
    VoiceCall,
    conversation_id,
)
from services.messaging.inbound.account import AccountEvents
from services.messaging.inbound.commerce_events import FORM_REPLY, PAYMENTS, CommerceHandoff, NotHandedOver
from services.messaging.inbound.media import MediaCopy, MediaCopyFailed

log = logging.getLogger("wecare.messaging.inbound")
CONCURRENCY = 16  # events of one call whose messages or calls are applied at once

APPLIED, DUPLICATE, REJECTED, DEAD_LETTERED = "APPLIED", "DUPLICATE", "REJECTED", "DEAD_LETTERED"
MEDIA_COPY, CONSENT = "media_copy", "consent"


@dataclass(frozen=True)
class InboundEvent:
    sns_message_id: str
    payload: str
    source: str = ""


@dataclass
class IngestResult:
    sns_message_id: str
    outcome: str
    detail: str = ""
    messages: list[str] = field(default_factory=list)


class DeadLetterSender(Protocol):
    async def send(self, body: dict[str, Any], reason: str) -> None:
        """Puts one letter on inbound-dlq; raises when the queue did not take it."""
        ...


class UnfinishedTask(Exception):
    """A replayed inbound-dlq task failed again; `str()` says why."""


@dataclass
class Work:
    """One event of a call on its way through the appliers."""

    event: InboundEvent
    items: EventItems
    result: IngestResult
    changes: list[Change] = field(default_factory=list)
    letters: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    applied: bool = False
    failed: BaseException | None = None


class Ingest:
    def __init__(
        self,
        inbound: InboundMessageStore,
        calls: VoiceCallStore,
        feed: EventFeedStore,
        outbound: MessageStore,
        consent: ConsentRecorder,
        contacts: ConsentReader,
        media: MediaCopy,
        dead_letters: DeadLetterSender,
        on_failed: Callable[[OutboundMessage, str], Awaitable[None]] | None = None,
        on_change: Callable[[], None] = lambda: None,
        on_consent: Callable[[Channel, str, bool, str], Awaitable[object]] | None = None,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = ids.new_id,
        commerce: CommerceHandoff | None = None,
        account: AccountEvents | None = None,
    ):
        self._commerce = commerce or CommerceHandoff(None, inbound)
        self._account = account
        self._inbound = inbound
        self._calls = calls
        self._feed = feed
        self._outbound = outbound
        self._consent = consent
        self._contacts = contacts
        self._media = media
        self._dead_letters = dead_letters
        self._on_failed = on_failed
        self._on_change = on_change
        self._on_consent = on_consent
        self._clock = clock
        self._new_id = new_id
        # APPLIERS: one per kind of item an event holds, run in this order over the call's events. A new kind
        # of event (EventItems gets a field for it) slots in with one more applier here.
        self._appliers: tuple[Callable[[list[Work]], Awaitable[None]], ...] = (
            self._apply_messages,
            self._apply_statuses,
            self._apply_payments,
            self._apply_calls,
            self._apply_account,
        )

    async def ingest(self, events: list[InboundEvent]) -> list[IngestResult]:
        """One result per event, in order. Raises the first failure that kept an event from being applied,
        after the other events are committed (those are marked, so a retry finds them duplicates)."""
        seen = await self._feed.seen_events([e.sns_message_id for e in events])
        now = self._clock()
        results: list[IngestResult] = []
        works: list[Work] = []
        for event in events:
            if event.sns_message_id in seen:
                results.append(IngestResult(event.sns_message_id, DUPLICATE))
                continue
            seen.add(event.sns_message_id)  # the same message twice in one call: the second is a duplicate
            try:
                items = parse_event(event.payload, self._new_id, now)
            except MalformedEvent as exc:
                log.warning("event rejected", extra={"sns_message_id": event.sns_message_id, "why": str(exc)})
                results.append(IngestResult(event.sns_message_id, REJECTED, str(exc)))
                continue
            works.append(Work(event, items, IngestResult(event.sns_message_id, DUPLICATE)))
            results.append(works[-1].result)
        for apply in self._appliers:
            await apply([w for w in works if w.failed is None])
        await self._each(works, self._send_letters)
        done = [w for w in works if w.failed is None]
        await self._feed.commit_events([(w.event.sns_message_id, w.changes) for w in done], now)
        for w in done:
            if w.letters:
                w.result.outcome, w.result.detail = DEAD_LETTERED, "; ".join(reason for _, reason in w.letters)
                log.warning(
                    "event dead-lettered", extra={"sns_message_id": w.event.sns_message_id, "why": w.result.detail}
                )
            elif w.applied:
                w.result.outcome = APPLIED
        if any(w.changes for w in done):
            self._on_change()
        for w in works:
            if w.failed is not None:
                raise w.failed
        return results

    async def _each(self, works: list[Work], step: Callable[[Work], Awaitable[None]]) -> None:
        """step on each event still going, CONCURRENCY at a time; a step that raises fails its event alone."""
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(w: Work) -> None:
            if w.failed is not None:
                return
            async with limit:
                try:
                    await step(w)
                except Exception as exc:
                    w.failed = exc

        await asyncio.gather(*(one(w) for w in works))

    async def _send_letters(self, w: Work) -> None:
        for body, reason in w.letters:
            await self._dead_letters.send(body, reason)  # raises: nothing marked, the event comes again

    # --- the appliers -----------------------------------------------------------------------------------
    async def _apply_messages(self, works: list[Work]) -> None:
        await self._each([w for w in works if w.items.messages], self._messages_of)

    async def _messages_of(self, w: Work) -> None:
        for message in w.items.messages:
            stored, new, keyword = await self._store_message(message, w.event, w.letters)
            w.applied |= new
            if self._media.needed(stored):
                try:
                    stored = await self._media.copy(stored)
                except MediaCopyFailed as exc:
                    w.letters.append((self._media_letter(stored, w.event), str(exc)))
            handoff = await self._commerce.message(stored, w.event.sns_message_id)
            if handoff is not None:
                w.letters.append(handoff)
            w.result.messages.append(stored.name)
            w.changes.append(
                Change(
                    key=f"received:{stored.id}",
                    kind=ChangeKind.MESSAGE_RECEIVED,
                    conversation_id=conversation_id(stored.channel, stored.customer),
                    time=stored.receive_time,
                    record=inbound_to_dict(stored),
                )
            )
            if keyword is not None:
                log.info("consent keyword", extra={"inbound_message": stored.name, "keyword": keyword.word})

    async def _apply_statuses(self, works: list[Work]) -> None:
        """Every status of the call's events in one apply_statuses: a batch of writes, not a few per event."""
        pairs = [(w, status) for w in works for status in w.items.statuses]
        if not pairs:
            return
        try:
            outcomes = await self._outbound.apply_statuses([status for _, status in pairs])
        except Exception as exc:
            for w, _ in pairs:
                w.failed = exc
            return
        for (w, status), outcome in zip(pairs, outcomes, strict=True):
            w.applied |= not outcome.duplicate
            message = outcome.message
            if message is None:
                continue
            w.result.messages.append(message.name)
            if outcome.changed and status.status in FAILURES:
                await self._react(message, status)
            # A repeat still reaches the feed while the message stands at that status: the first delivery may
            # have stopped before its commit. The key is the same, so watchers see it once.
            if outcome.changed or (outcome.duplicate and message.status == status.status):
                w.changes.append(
                    Change(
                        key=f"status:{status.provider_message_id}:{status.status.value}",
                        kind=ChangeKind.STATUS_CHANGED,
                        conversation_id=conversation_id(message.channel, message.recipient),
                        time=status.time,
                        record=outbound_to_dict(message),
                    )
                )

    async def _apply_payments(self, works: list[Work]) -> None:
        await self._each([w for w in works if w.items.payments], self._payments_of)

    async def _payments_of(self, w: Work) -> None:
        """WhatsApp payment statuses, handed to commerce (inbound.commerce_events)."""
        handoff = await self._commerce.payments(w.items.payments, w.event.sns_message_id)
        if handoff is not None:
            w.letters.append(handoff)
        w.applied = True

    async def _apply_calls(self, works: list[Work]) -> None:
        await self._each([w for w in works if w.items.calls], self._calls_of)

    async def _calls_of(self, w: Work) -> None:
        for call in w.items.calls:
            call = dataclasses.replace(call, contact_id=await self._contact_of(call.customer))
            if await self._calls.add_voice_call(call):
                w.applied = True
                w.changes.append(self._call_change(call))

    async def _apply_account(self, works: list[Work]) -> None:
        if self._account is not None:
            await self._each([w for w in works if w.items.account], self._account_of)

    async def _account_of(self, w: Work) -> None:
        """Template status and category, the tier, phone quality (inbound.account); raises: the event comes again."""
        assert self._account is not None
        w.applied |= await self._account.apply(w.items.account)

    async def _react(self, message: OutboundMessage, status: StatusEvent) -> None:
        """What Meta's failure code means for later sends (pause, slow down, suppress, retry later)."""
        if self._on_failed is None or status.error is None:
            return
        try:
            await self._on_failed(message, status.error.code)
        except Exception:  # the status is applied either way; the reaction is the dispatcher's to recover
            log.exception("reaction to a failure code failed", extra={"outbound": message.name})

    async def _store_message(
        self, message: InboundMessage, event: InboundEvent, letters: list[tuple[dict[str, Any], str]]
    ) -> tuple[InboundMessage, bool, ConsentKeyword | None]:
        keyword = consent_keyword(message)
        contact = ""
        if keyword is not None:
            # Recorded on every delivery (also of a message already stored): contacts keeps the newest change
            # by the customer's time, so a repeat changes nothing, and a crash before this point is made good.
            contact = await self._record_consent(message, keyword, event, letters)
        stored = await self._inbound.get_by_provider_id(message.provider_message_id)
        if stored is not None:
            return stored, False, keyword
        if keyword is not None and self._on_consent is not None:
            # Before the message is stored: a failure fails the event, and its redelivery does this again.
            await self._on_consent(message.channel, message.customer, keyword.opted_out, keyword.source)
        message = dataclasses.replace(message, contact_id=contact or await self._contact_of(message.customer))
        wamid = message.extra.get("reaction_wamid")
        if wamid:
            target = await self._outbound.get_by_provider_id(wamid) or await self._inbound.get_by_provider_id(wamid)
            if target is not None:
                content = {"reaction": {**message.content["reaction"], "message": target.name}}
                message = dataclasses.replace(message, content=content)
        stored, new = await self._inbound.add_message(message)
        return stored, new, keyword

    async def _record_consent(
        self,
        message: InboundMessage,
        keyword: ConsentKeyword,
        event: InboundEvent,
        letters: list[tuple[dict[str, Any], str]],
    ) -> str:
        task = {
            "task": CONSENT,
            "message": message.name,
            "phone_number": message.customer,
            "opted_out": keyword.opted_out,
            "time": message.receive_time,
            "source": keyword.source,
            "display_name": message.profile_name,
            "sns_message_id": event.sns_message_id,
        }
        try:
            return await self._run_consent(task)
        except ConsentNotRecorded as exc:
            letters.append((task, f"consent not recorded: {exc}"))
            return ""

    async def _run_consent(self, task: dict[str, Any]) -> str:
        name = await self._consent.record(
            task["phone_number"], bool(task["opted_out"]), float(task["time"]), task["source"], task["display_name"]
        )
        return name.removeprefix("contacts/")

    async def _contact_of(self, customer: str) -> str:
        try:
            return (await self._contacts.by_address("WHATSAPP", customer)).contact_id
        except Exception as exc:  # the link is a convenience: a message is not held back for it
            log.warning("contact lookup failed", extra={"customer_suffix": customer[-4:], "error": str(exc)})
            return ""

    def _media_letter(self, message: InboundMessage, event: InboundEvent) -> dict[str, Any]:
        media = message.content.get("media") or {}
        return {
            "task": MEDIA_COPY,
            "message": message.name,
            "media_id": media.get("provider_media_id", ""),
            "origination": message.origination,
            "sns_message_id": event.sns_message_id,
        }

    def _call_change(self, call: VoiceCall) -> Change:
        return Change(
            key=f"call:{call.call_id}:{call.event}",
            kind=ChangeKind.VOICE_CALL,
            conversation_id=conversation_id(Channel.WHATSAPP, call.customer),
            time=call.time,
            record=voice_call_to_dict(call),
        )

    # --- inbound-dlq replay ----------------------------------------------------------------------------
    async def finish(self, body: str) -> bool:
        """Does the work an inbound-dlq letter stands for. True: done now; False: it had been done already
        (or its message is gone). Raises UnfinishedTask when it fails again."""
        try:
            task = json.loads(body)
            kind = task["task"]
            message_id = str(task["message"]).removeprefix("messages/")
        except (ValueError, KeyError, TypeError):
            raise UnfinishedTask(f"not an inbound-dlq letter: {body[:200]!r}") from None
        if kind == MEDIA_COPY:
            message = await self._inbound.get(message_id)
            if message is None or not self._media.needed(message):
                return False
            try:
                await self._media.copy(message)
            except MediaCopyFailed as exc:
                raise UnfinishedTask(str(exc)) from None
            return True
        if kind == CONSENT:
            try:
                contact = await self._run_consent(task)
            except (ConsentNotRecorded, KeyError, TypeError, ValueError) as exc:
                raise UnfinishedTask(f"consent not recorded: {exc}") from None
            message = await self._inbound.get(message_id)
            if message is not None and not message.contact_id and contact:
                await self._inbound.update_message(dataclasses.replace(message, contact_id=contact))
            return True
        if kind in (FORM_REPLY, PAYMENTS):
            try:
                return await self._commerce.finish(task)
            except NotHandedOver as exc:
                raise UnfinishedTask(str(exc)) from None
        raise UnfinishedTask(f"unknown inbound-dlq task {kind!r}")
