"""IngestEvents' work: EUM Social events in, their effects applied once.

For each event (an SNS notification's Message): an SNS MessageId seen before is a duplicate; otherwise the
event is parsed (domain.inbound) and applied, every step idempotent so that a retried or re-delivered event
changes nothing more:
- inbound messages are stored once per wamid (which opens or refreshes the 24-hour window), linked to their
  contact; STOP / START and their kin go to contacts as consent changes (a stranger becomes a contact); media
  is copied into the bucket (inbound.media);
- statuses are applied forward only through MessageStore.apply_status (callback data, then provider id; a
  status for a message nobody knows is kept there and attributed when the message is known);
- call events are recorded once per (call id, event).
Work that cannot finish (media out of retries, contacts unreachable) goes to inbound-dlq with its reason and
the event is DEAD_LETTERED; replaying that letter (finish) does the rest. Only when everything is applied or
dead-lettered is the SNS MessageId marked, together with the event's entries in the inbox's change feed; a
failure before that (the store, the queue) fails the call, and the sender retries."""

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
    MalformedEvent,
    consent_keyword,
    parse_event,
)
from services.messaging.domain.model import (
    Channel,
    InboundMessage,
    OutboundMessage,
    Status,
    StatusEvent,
    VoiceCall,
    conversation_id,
)
from services.messaging.inbound.commerce_events import FORM_REPLY, PAYMENTS, CommerceHandoff, NotHandedOver
from services.messaging.inbound.media import MediaCopy, MediaCopyFailed

log = logging.getLogger("wecare.messaging.inbound")
CONCURRENCY = 16  # events of one call applied at once (each step is its own store transaction)

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
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = ids.new_id,
        commerce: CommerceHandoff | None = None,
    ):
        self._commerce = commerce or CommerceHandoff(None, inbound)
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
        self._clock = clock
        self._new_id = new_id

    async def ingest(self, events: list[InboundEvent]) -> list[IngestResult]:
        """One result per event, in order. Raises the first failure that kept an event from being applied,
        after the other events are done (those are marked, so a retry finds them duplicates)."""
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(event: InboundEvent) -> IngestResult:
            async with limit:
                return await self._one(event)

        outcomes = await asyncio.gather(*(one(e) for e in events), return_exceptions=True)
        if any(isinstance(o, IngestResult) and o.outcome != DUPLICATE for o in outcomes):
            self._on_change()
        for o in outcomes:
            if isinstance(o, BaseException):
                raise o
        return outcomes  # type: ignore[return-value]

    async def _one(self, event: InboundEvent) -> IngestResult:
        result = IngestResult(event.sns_message_id, DUPLICATE)
        if await self._feed.event_seen(event.sns_message_id):
            return result
        now = self._clock()
        try:
            items = parse_event(event.payload, self._new_id, now)
        except MalformedEvent as exc:
            log.warning("event rejected", extra={"sns_message_id": event.sns_message_id, "why": str(exc)})
            return IngestResult(event.sns_message_id, REJECTED, str(exc))
        changes: list[Change] = []
        letters: list[tuple[dict[str, Any], str]] = []
        applied = False
        for message in items.messages:
            stored, new, keyword = await self._store_message(message, event, letters)
            applied |= new
            if self._media.needed(stored):
                try:
                    stored = await self._media.copy(stored)
                except MediaCopyFailed as exc:
                    letters.append((self._media_letter(stored, event), str(exc)))
            handoff = await self._commerce.message(stored, event.sns_message_id)
            if handoff is not None:
                letters.append(handoff)
            result.messages.append(stored.name)
            changes.append(
                Change(
                    key=f"received:{stored.id}",
                    kind=ChangeKind.MESSAGE_RECEIVED,
                    conversation_id=conversation_id(stored.channel, stored.customer),
                    time=stored.receive_time,
                    record=inbound_to_dict(stored),
                )
            )
            if keyword is not None:
                log.info("consent keyword", extra={"message": stored.name, "keyword": keyword.word})
        for status in items.statuses:
            outcome = await self._outbound.apply_status(status)
            applied |= not outcome.duplicate
            if outcome.message is not None:
                result.messages.append(outcome.message.name)
                if outcome.changed and status.status == Status.FAILED:
                    await self._react(outcome.message, status)
                if outcome.changed:
                    changes.append(
                        Change(
                            key=f"status:{status.provider_message_id}:{status.status.value}",
                            kind=ChangeKind.STATUS_CHANGED,
                            conversation_id=conversation_id(outcome.message.channel, outcome.message.recipient),
                            time=status.time,
                            record=outbound_to_dict(outcome.message),
                        )
                    )
        handoff = await self._commerce.payments(items.payments, event.sns_message_id)
        if handoff is not None:
            letters.append(handoff)
        applied |= bool(items.payments)
        for call in items.calls:
            call = dataclasses.replace(call, contact_id=await self._contact_of(call.customer))
            if await self._calls.add_voice_call(call):
                applied = True
                changes.append(self._call_change(call))
        for body, reason in letters:
            await self._dead_letters.send(body, reason)  # raises: nothing marked, the event comes again
        await self._feed.commit_event(event.sns_message_id, changes, now)
        if letters:
            result.outcome, result.detail = DEAD_LETTERED, "; ".join(reason for _, reason in letters)
            log.warning("event dead-lettered", extra={"sns_message_id": event.sns_message_id, "why": result.detail})
        elif applied:
            result.outcome = APPLIED
        return result

    async def _react(self, message: OutboundMessage, status: StatusEvent) -> None:
        """What Meta's failure code means for later sends (pause, slow down, suppress, retry later)."""
        if self._on_failed is None or status.error is None:
            return
        try:
            await self._on_failed(message, status.error.code)
        except Exception:  # the status is applied either way; the reaction is the dispatcher's to recover
            log.exception("reaction to a failure code failed", extra={"message": message.name})

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
