"""Peeking at and replaying messaging's three dead-letter queues (docs/DESIGN.md "AWS resources"):
- whatsapp-inbound-dlq: SNS notifications the gateway could not take -> re-ingested (IngestEvents' work);
- inbound-dlq: inbound work messaging took but could not finish (media copy, consent) -> finished again;
- outbound-dlq: outbound messages out of retries -> queued again for the dispatcher.

A replay takes letters one at a time, at most `max_count`, at most `per_second` a second; a letter whose
effect happened (now or before) is deleted, one that fails again is left in the queue. No duplicate effects:
each handler is idempotent (ingest dedups by SNS MessageId, wamid and (wamid, status); a finished task is not
redone; a message is queued again only while it is FAILED and was never sent), and a letter is invisible to
other readers while it is worked on. A dry run (and a peek) receives, looks, and makes the letters visible
again, changing nothing but SQS's receive count."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("wecare.messaging.dead_letters")

WHATSAPP_INBOUND, INBOUND, OUTBOUND = "whatsapp-inbound", "inbound", "outbound"
REPLAYED, WOULD_REPLAY, ALREADY_DONE, FAILED = "REPLAYED", "WOULD_REPLAY", "ALREADY_DONE", "FAILED"
MAX_BATCH = 10


class LetterQueue(Protocol):
    name: str

    async def receive(self, max_count: int = 10, visibility_timeout: int = 30) -> list[dict[str, Any]]:
        """SQS messages as receive_message gives them (with their system and message attributes)."""
        ...

    async def delete(self, receipt_handle: str) -> None: ...

    async def release(self, receipt_handles: list[str]) -> None:
        """Makes received messages visible again at once."""
        ...

    async def approximate_count(self) -> int: ...


@dataclass(frozen=True)
class Letter:
    id: str
    receipt: str
    body: str
    reason: str
    message: str  # `messages/{id}` it concerns, when it says
    receive_count: int
    sent_time: float


class ReplayFailed(Exception):
    """The letter's effect could not be had this time; it stays in the queue. `str()` says why."""


Handler = Callable[[Letter], Awaitable[bool]]  # True: replayed now; False: its effect had happened already


def letter_of(raw: dict[str, Any]) -> Letter:
    body = raw.get("Body", "")
    system = raw.get("Attributes", {})
    attributes = raw.get("MessageAttributes", {})
    reason = (attributes.get("reason") or attributes.get("ErrorMessage") or {}).get("StringValue", "")
    message = ""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        reason = reason or str(parsed.get("reason") or "")
        named = parsed.get("message") or parsed.get("message_id") or ""
        if isinstance(named, str) and named:
            message = named if named.startswith("messages/") else f"messages/{named}"
    return Letter(
        id=raw.get("MessageId", ""),
        receipt=raw.get("ReceiptHandle", ""),
        body=body,
        reason=reason,
        message=message,
        receive_count=int(system.get("ApproximateReceiveCount", 0) or 0),
        sent_time=int(system.get("SentTimestamp", 0) or 0) / 1000,
    )


@dataclass(frozen=True)
class ReplayStep:
    letter: Letter
    outcome: str
    detail: str = ""


class DeadLetters:
    def __init__(
        self,
        queues: dict[str, LetterQueue],
        handlers: dict[str, Handler],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self._queues = queues
        self._handlers = handlers
        self._clock = clock
        self._sleep = sleep

    async def peek(self, queue: str, limit: int) -> tuple[list[Letter], int]:
        """Up to `limit` letters (left in the queue) and the queue's approximate size."""
        q = self._queues[queue]
        letters, seen = await self._receive_distinct(q, limit, visibility=30)
        await q.release([letter.receipt for letter in seen])
        return letters, await q.approximate_count()  # counted once they are visible again

    async def _receive_distinct(self, q: LetterQueue, limit: int, visibility: int) -> tuple[list[Letter], list]:
        letters: list[Letter] = []
        held: list[Letter] = []
        ids: set[str] = set()
        while len(letters) < limit:
            batch = [letter_of(m) for m in await q.receive(min(MAX_BATCH, limit - len(letters)), visibility)]
            if not batch:
                break
            for letter in batch:
                held.append(letter)
                if letter.id not in ids and len(letters) < limit:
                    ids.add(letter.id)
                    letters.append(letter)
        return letters, held

    async def replay(
        self, queue: str, *, dry_run: bool, max_count: int, per_second: float
    ) -> AsyncIterator[ReplayStep]:
        q = self._queues[queue]
        handler = self._handlers[queue]
        interval = 1.0 / per_second
        # Letters stay invisible to other readers for the whole run (a failed one must not come back into
        # this run, nor be replayed by another one meanwhile); the ones left are made visible at the end.
        visibility = int(min(43_200, max(60, max_count * interval * 2 + 60)))
        held: dict[str, Letter] = {}  # received and not deleted: made visible again at the end, whatever happens
        seen: set[str] = set()
        handled = 0
        next_at = self._clock()
        try:
            while handled < max_count:
                batch = [letter_of(m) for m in await q.receive(min(MAX_BATCH, max_count - handled), visibility)]
                if not batch:
                    break
                held.update((letter.receipt, letter) for letter in batch)
                for letter in batch:
                    if letter.id in seen or handled >= max_count:
                        continue  # a copy SQS handed out twice, or past the maximum: left alone
                    seen.add(letter.id)
                    handled += 1
                    if dry_run:
                        yield ReplayStep(letter, WOULD_REPLAY)
                        continue
                    wait = next_at - self._clock()
                    if wait > 0:
                        await self._sleep(wait)
                    next_at = max(next_at, self._clock()) + interval
                    step = await self._replay_one(q, handler, letter)
                    if step.outcome != FAILED:
                        del held[letter.receipt]
                    yield step
        finally:
            if held:
                await q.release(list(held))

    async def _replay_one(self, q: LetterQueue, handler: Handler, letter: Letter) -> ReplayStep:
        try:
            done_now = await handler(letter)
        except ReplayFailed as exc:
            log.warning("replay failed", extra={"queue": q.name, "letter": letter.id, "why": str(exc)})
            return ReplayStep(letter, FAILED, str(exc))
        except Exception as exc:  # e.g. the store unreachable: this letter stays, the next one is tried
            log.exception("replay failed", extra={"queue": q.name, "letter": letter.id})
            return ReplayStep(letter, FAILED, f"{type(exc).__name__}: {exc}")
        await q.delete(letter.receipt)
        return ReplayStep(letter, REPLAYED if done_now else ALREADY_DONE)


def sns_notification(body: str) -> tuple[str, str]:
    """A whatsapp-inbound-dlq letter -> (SNS MessageId, the EUM Social event). SNS keeps the notification as it
    would have delivered it; a raw event (raw message delivery) is keyed by the event's own messageId."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise ReplayFailed("the letter is not JSON") from None
    if isinstance(parsed, dict) and isinstance(parsed.get("Message"), str) and parsed.get("MessageId"):
        return str(parsed["MessageId"]), parsed["Message"]
    if isinstance(parsed, dict) and "whatsAppWebhookEntry" in parsed and parsed.get("messageId"):
        return f"eum:{parsed['messageId']}", body
    raise ReplayFailed("neither an SNS notification nor an EUM Social event")
