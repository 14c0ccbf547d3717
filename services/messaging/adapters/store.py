"""The messaging store's interfaces, one small protocol per kind of record and the parts of messaging that use it.
Implementations: sqlite_store (embedded default) and dynamodb_store (AWS), each one module per protocol over one
shared table helper; opened through runtime.storage. Both pass tests/messaging/test_store_contract.py.

WhatsAppOutboundTable (OutboundStores):
  MessageStore       outbound messages: acceptance and idempotency, reads, withdrawal, status events  (outbound/,
                     inbound ingest, the inbox reads)
  SendQueue          queued messages, hand-off marks, call results, in-doubt messages, re-queueing      (dispatch/)
  CoordinationStore  the dispatchers' coordination document                                            (dispatch/)
  TemplateStore      the template catalogue                                                          (outbound/)
  MediaIdStore       media ids registered with a phone                                               (dispatch/)
  SuppressionStore   recipients not to be sent marketing                                (outbound/, dispatch/)
  HoldStore          what keeps accepted messages from going: opt-outs, suppressions, withdrawals  (outbound/,
                     inbound ingest, dispatch/ reads them back before every call)
  DeadLetterOutbox   failed messages waiting to go to outbound-dlq                                   (dispatch/)
  PortfolioStore     the messaging tier's ledger and counted customers, phone quality    (dispatch/, inbound/)
  MarketingCapStore  marketing messages per customer in a rolling period                 (outbound/, dispatch/)
  PairLogStore       a sender's pair-limit memory, handed over with its lease                         (dispatch/)
WhatsAppInboundTable (InboundStores):
  InboundMessageStore  inbound messages, once per wamid                                (inbound/, the inbox reads)
  WindowStore          24-hour windows and the inbound rate                                (outbound/, dispatch/)
  ConversationStore    conversations, latest first                                    (outbound/, the inbox reads)
  VoiceCallStore       call events, once per (call, event)                             (inbound/, the inbox reads)
  EventFeedStore       SNS deduplication and the inbox's change feed                     (inbound/ ingest and feed)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from services.messaging.domain.holds import Hold
from services.messaging.domain.inbound import Change
from services.messaging.domain.model import (
    AcceptOutcome,
    Channel,
    Conversation,
    InboundMessage,
    MessageError,
    MessageState,
    OutboundMessage,
    SendResult,
    Status,
    StatusEvent,
    Template,
    VoiceCall,
)


@dataclass(frozen=True)
class StatusApplied:
    """What applying one status event did."""

    message: OutboundMessage | None  # the message after the event, when it is known
    changed: bool  # the status moved (False: duplicate, out of order, or its message is not known yet)
    duplicate: bool = False  # this (provider id, status) was applied before


@dataclass(frozen=True)
class Withdrawal:
    withdrawn: list[OutboundMessage]
    in_flight: int  # matching messages already handed off: they complete normally


class HandOffIncomplete(Exception):
    """hand_off could not confirm every mark (some writes failed): those in `marked` are marked for sure; each of
    the others may or may not be, so none of them may be sent, and each is put back (a `retry` result)."""

    def __init__(self, marked: list[str], cause: BaseException):
        super().__init__(f"{len(marked)} marked, the rest uncertain: {cause!r}")
        self.marked = marked


class MessageStore(Protocol):
    async def accept(self, messages: list[OutboundMessage]) -> list[AcceptOutcome]:
        """Stores the messages as ACCEPTED, all durably before it returns, in one write where the engine
        allows. A message whose idempotency key is held by an earlier message that is not withdrawn is not
        stored: its outcome is that earlier message (duplicate=True). A key held by a withdrawn message is
        taken over by the new one (the old keeps it as former_idempotency_key). Outcomes line up with input."""
        ...

    async def get(self, message_id: str) -> OutboundMessage | None: ...

    async def get_by_key(self, idempotency_key: str) -> OutboundMessage | None: ...

    async def get_by_keys(self, idempotency_keys: list[str]) -> list[OutboundMessage]:
        """The messages holding these keys now (in no particular order)."""
        ...

    async def get_many(self, message_ids: list[str]) -> list[OutboundMessage]:
        """Those that exist, in the given order."""
        ...

    async def get_by_provider_id(self, provider_message_id: str) -> OutboundMessage | None: ...

    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[OutboundMessage]:
        """Newest first by (create_time, id), strictly before `before`."""
        ...

    async def delete(self, message_id: str) -> OutboundMessage | None: ...

    async def withdraw_by_key_prefix(self, prefix: str, now: float) -> Withdrawal:
        """Queued messages whose key starts with `prefix` (`<kind>/<id>/...`, see domain.rules.key_scope)."""
        ...

    async def withdraw_by_key(self, idempotency_key: str, now: float) -> Withdrawal: ...

    async def withdraw_batch(self, batch_id: str, now: float) -> Withdrawal: ...

    async def withdraw_for_recipient(
        self, channel: Channel, recipient: str, accepted_before: float, now: float, keep_extra: str = ""
    ) -> list[OutboundMessage]:
        """Withdraws the queued messages (not handed off) to `recipient` on `channel` accepted at or before
        `accepted_before`, except those whose `extra` has `keep_extra` set (an opt-out's confirmation); returns
        those it withdrew."""
        ...

    async def batch_changes(self, batch_id: str, since: float) -> list[MessageState]:
        """The states of the batch's messages whose state as a stream follows it changed at or after `since`:
        status (delivered and read may show as sent, which a stream counts them as), provider id, error, re-attempt
        link. A store may list others too (SQLite lists every message updated since); callers overlap and
        deduplicate, and take a state only if it is not older than the one they hold."""
        ...

    async def apply_status(self, event: StatusEvent) -> StatusApplied:
        """Applies a status event to the message its callback data (else its provider id) names, forward only;
        deduplicated by (provider id, status). An event for a message not known yet is kept and applied when
        a message gets that provider id."""
        ...

    async def apply_statuses(self, events: list[StatusEvent]) -> list[StatusApplied]:
        """apply_status for many events, with the same outcome as applying them one after another in order, in
        few writes: a message's events together in one write, one durable commit (SQLite) or batched
        transactions of per-message items (DynamoDB). Outcomes line up with the input."""
        ...


class SendQueue(Protocol):
    async def queued(
        self, origination: str, now: float, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[OutboundMessage]:
        """ACCEPTED and not handed off, due by now, for one sender: lane first (conversation replies ahead of
        bulk), then due time, then acceptance order; at most `limit` due rows are looked at (messages not due
        yet are never read, however many sit at a lane's head), those in `exclude` (the caller has them
        already) are left out of the result."""
        ...

    async def hand_off(self, message_ids: list[str], now: float) -> list[str]:
        """Durably marks the messages handed to the provider (attempts + 1), only those still queued (not
        withdrawn meanwhile). Returns the ids marked: only those may be sent. Raises HandOffIncomplete naming
        those marked for sure when some of the writes failed (an engine that marks in one transaction raises
        whatever failed it: then none is marked)."""
        ...

    async def record_results(self, results: list[SendResult], fetch: bool = True) -> list[OutboundMessage]:
        """Records provider call outcomes of handed-off messages: sent (provider id), failed (error; queued
        for outbound-dlq), retry (back in the queue at retry_at), in_doubt (stays handed off for
        reconciliation), withdrawn (stopped at its call by a pre-call check: never called). A status event that
        got there first is kept (statuses move forward only).
        Returns the messages as they are now (fetch=False: the caller does not need them, and an engine may
        skip reading them back)."""
        ...

    async def in_doubt(self, handed_off_before: float, limit: int) -> list[OutboundMessage]:
        """Handed off before that time and still without an outcome."""
        ...

    async def mark_unknown(self, message_ids: list[str], now: float) -> list[str]:
        """Ends in-doubt messages as UNKNOWN (only those still in doubt); returns those changed."""
        ...

    async def requeue(self, message_id: str, now: float) -> OutboundMessage | None:
        """outbound-dlq replay: a FAILED message that was never sent goes back to the queue (a fresh attempt
        budget); returns None and changes nothing when it was sent, withdrawn or is gone (no duplicate)."""
        ...

    async def defer(self, held: list[tuple[str, float, MessageError]], now: float) -> list[str]:
        """Pre-call checks: queued messages (not handed off) wait until their due time, the reason kept as their
        error; returns the ids changed (a message withdrawn meanwhile is not)."""
        ...

    async def refuse(self, refused: list[tuple[str, MessageError, Status]], now: float) -> list[str]:
        """Pre-call checks: queued messages (not handed off) end FAILED (a rule's reason) or WITHDRAWN (the sender
        may send it again under its key, e.g. once a paused template is reinstated), never called and not for
        outbound-dlq; returns the ids changed."""
        ...

    async def link_reattempt(
        self, message_id: str, reattempt_id: str, reattempt_key: str, due: float, now: float
    ) -> OutboundMessage | None:
        """131049: a LIMITED message names its re-attempt (extra.reattempt, reattempt_key, reattempt_due); None
        when it is not LIMITED."""
        ...


class CoordinationStore(Protocol):
    async def load_coordination(self) -> tuple[dict[str, Any], int]:
        """The dispatcher's coordination document and its version (0 when there is none yet)."""
        ...

    async def save_coordination(self, doc: dict[str, Any], expected_version: int) -> bool:
        """Compare-and-swap: writes doc as version expected_version + 1 only if the stored version is still
        expected_version."""
        ...

    async def mark_sender(self, key: str, field: str, at: float) -> None:
        """A mark on one sender, kept apart from the document (no compare-and-swap with heartbeats and leases):
        `field` is `paused_until` (131048) or `slow_seen` (130429); a mark only ever moves forward in time."""
        ...

    async def sender_marks(self) -> dict[str, dict[str, float]]:
        """Every sender's marks: sender key -> {field: time}."""
        ...


class TemplateStore(Protocol):
    async def replace_templates(self, waba: str, templates: list[Template]) -> tuple[int, int]:
        """Makes the catalogue of one WABA exactly `templates`; returns (added, removed)."""
        ...

    async def list_templates(self, language: str, after: str, limit: int) -> list[Template]:
        """By key (`name.language`), keys strictly after `after`."""
        ...

    async def get_template(self, template_name: str, language: str) -> Template | None: ...

    async def put_template(self, template: Template) -> None:
        """Adds or replaces one template (created, updated, or moved by an event)."""
        ...

    async def delete_template(self, template_name: str, language: str) -> Template | None:
        """Removes one template; returns what it was."""
        ...


class PortfolioStore(Protocol):
    """The business portfolio's tier ledger (domain.tier: the limit, counted customers per time bucket, the
    phones' quality) and which customers are counted in which bucket."""

    async def load_ledger(self) -> tuple[dict[str, Any], int]:
        """The ledger document and its version (0: none yet)."""
        ...

    async def save_ledger(self, doc: dict[str, Any], expected_version: int) -> bool:
        """Compare-and-swap, as CoordinationStore.save_coordination."""
        ...

    async def counted(self, recipients: list[str], now: float) -> dict[str, int]:
        """recipient -> the bucket they are counted in, for those still counted at `now`."""
        ...

    async def count(self, recipients: list[str], bucket: int, until: float, now: float) -> None:
        """These customers are counted in `bucket` until `until` (a later bucket replaces an earlier one); those
        counted until before `now` may be forgotten."""
        ...


class MarketingCapStore(Protocol):
    """The platform's own cap: marketing messages each customer got in a rolling period."""

    async def take(self, recipient: str, message_id: str, now: float, since: float, limit: int) -> bool:
        """Counts the message for the recipient if fewer than `limit` were counted after `since` (atomic across
        processes); True when it is counted (also when it was counted before: a message is counted once)."""
        ...

    async def counts(self, recipients: list[str], since: float) -> dict[str, int]:
        """recipient -> messages counted after `since` (those with none are left out)."""
        ...


class PairLogStore(Protocol):
    """The pair limit's memory of one sender, handed from the process that owned it to the next."""

    async def save_pairs(self, sender: str, pairs: dict[str, float]) -> None:
        """recipient -> when the last call to them completed (wall time); replaces what was saved."""
        ...

    async def load_pairs(self, sender: str) -> dict[str, float]: ...


class MediaIdStore(Protocol):
    async def media_id(self, origination: str, media_key: str, now: float) -> str | None:
        """The id of media registered for that phone, while it lives."""
        ...

    async def put_media_id(self, origination: str, media_key: str, media_id: str, expires_at: float) -> None: ...


class SuppressionStore(Protocol):
    async def suppress(self, recipient: str, kind: str, until: float, reason: str) -> None:
        """kind: `marketing` (131050) or `all`; `until` may be far in the future."""
        ...

    async def suppressed(self, recipient: str, kind: str, now: float) -> str | None:
        """The reason, while suppressed."""
        ...

    async def suppressed_many(self, recipients: list[str], kind: str, now: float) -> dict[str, str]:
        """recipient -> reason, for those suppressed now."""
        ...


class HoldStore(Protocol):
    async def note_holds(self, holds: list[Hold]) -> None:
        """Keeps each hold (domain.holds) for a day; noting the same hold again changes nothing."""
        ...

    async def holds_since(self, after: float, now: float) -> list[Hold]:
        """Every hold noted with a time after `after` (and at most a day before `now`), oldest first."""
        ...


class DeadLetterOutbox(Protocol):
    async def dead_letters_pending(self, limit: int) -> list[OutboundMessage]:
        """FAILED messages not yet handed to outbound-dlq, oldest first."""
        ...

    async def dead_letters_sent(self, message_ids: list[str]) -> None: ...


class InboundMessageStore(Protocol):
    async def add_message(self, message: InboundMessage) -> tuple[InboundMessage, bool]:
        """Stores an inbound message once per wamid (provider_message_id) and opens or refreshes the 24-hour
        window of (origination, customer) at its receive_time; updates the conversation. Returns the stored
        message and whether it is new."""
        ...

    async def get(self, message_id: str) -> InboundMessage | None: ...

    async def get_by_provider_id(self, provider_message_id: str) -> InboundMessage | None: ...

    async def update_message(self, message: InboundMessage) -> None:
        """Replaces a stored message's content/extra (e.g. the media key once the copy landed)."""
        ...

    async def delete(self, message_id: str) -> InboundMessage | None: ...

    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[InboundMessage]:
        """Newest first by (receive_time, id)."""
        ...


class WindowStore(Protocol):
    async def last_inbound(self, origination: str, customer: str) -> float | None:
        """The receive time of the customer's latest message to that phone: the window is open until + 24 h."""
        ...

    async def last_inbound_many(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """last_inbound for many (origination, customer) pairs; pairs without a window are left out."""
        ...

    async def inbound_count(self, origination: str, since: float) -> int:
        """Messages received on that phone since `since` (the observed inbound rate the dispatcher reserves)."""
        ...


class ConversationStore(Protocol):
    async def note_outbound(self, conversations: list[Conversation]) -> None:
        """Outbound messages touch their conversations (latest first; unanswered back to 0)."""
        ...

    async def list_conversations(
        self, channel: Channel | None, before: tuple[float, str] | None, limit: int
    ) -> list[Conversation]:
        """Latest first by (update_time, id)."""
        ...

    async def get_conversation(self, conversation_id: str) -> Conversation | None: ...


class VoiceCallStore(Protocol):
    async def add_voice_call(self, call: VoiceCall) -> bool:
        """Once per (call_id, event); False for a repeat."""
        ...

    async def list_voice_calls(self, customer: str, before: tuple[float, str] | None, limit: int) -> list[VoiceCall]:
        """Newest first by (time, id)."""
        ...


class FeedReader(Protocol):
    """One process's place in the inbox's change feed (its poller's; inbound.feed)."""

    async def start(self) -> None:
        """Places the reader at the feed's end: what is committed from now on is read, nothing before."""
        ...

    async def read(self, limit: int) -> list[Change]:
        """Changes committed since the previous read (or start), up to about `limit` of them. Every change is read
        at least once; per conversation, in the order the changes were committed. A change may come more than
        once (a redelivered event appended again): the caller drops repeats by Change.key."""
        ...


class EventFeedStore(Protocol):
    """SNS deduplication and the inbox's change feed (WatchConversations, across every messaging process)."""

    async def seen_events(self, sns_message_ids: list[str]) -> set[str]:
        """Those of the SNS MessageIds recorded as applied."""
        ...

    async def commit_events(self, events: list[tuple[str, list[Change]]], now: float) -> None:
        """Appends the events' changes to the feed, then records their SNS MessageIds as applied; durable when it
        returns. A crash in between leaves changes appended and their events not recorded: the redelivery
        appends them again (readers drop repeats by key). Changes written over a day ago are dropped."""
        ...

    def reader(self) -> FeedReader:
        """A new reader of the feed (one per process, started before use)."""
        ...


class Table(Protocol):
    """The connection a backend's stores of one table share: probed and closed once."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class OutboundStores:
    """Every protocol over WhatsAppOutboundTable, sharing one table."""

    messages: MessageStore
    queue: SendQueue
    coordination: CoordinationStore
    templates: TemplateStore
    media_ids: MediaIdStore
    suppressions: SuppressionStore
    outbox: DeadLetterOutbox
    portfolio: PortfolioStore
    caps: MarketingCapStore
    pairs: PairLogStore
    table: Table
    holds: HoldStore

    async def ping(self) -> None:
        await self.table.ping()

    async def close(self) -> None:
        await self.table.close()


@dataclass(frozen=True)
class InboundStores:
    """Every protocol over WhatsAppInboundTable, sharing one table."""

    messages: InboundMessageStore
    windows: WindowStore
    conversations: ConversationStore
    voice_calls: VoiceCallStore
    feed: EventFeedStore
    table: Table

    async def ping(self) -> None:
        await self.table.ping()

    async def close(self) -> None:
        await self.table.close()
