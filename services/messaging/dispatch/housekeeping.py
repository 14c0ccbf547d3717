"""The dispatcher's housekeeping, each a loop of its own: in-doubt messages past dispatch_reconcile_seconds are
reported UNKNOWN (never re-sent; a status event that comes later still applies); failed messages in the store's
outbox go to outbound-dlq with their reason (an outbox entry is cleared only once SQS took the letter); and the
inbound rate observed on each owned phone is reserved from its limit (Meta counts it against the phone)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from services.messaging.adapters.store import DeadLetterOutbox, SendQueue, WindowStore
from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.config import DispatchConfig
from services.messaging.dispatch.senders import SenderLane
from services.messaging.domain.model import Channel, OutboundMessage

log = logging.getLogger("wecare.messaging.dispatcher")
RECONCILE_BATCH = 500
LETTERS_BATCH = 10  # an SQS batch
LETTERS_EVERY = 1.0
INBOUND_RATE_EVERY = 2.0
INBOUND_RATE_SPAN = 10.0  # seconds of inbound traffic the rate is observed over


class LetterSender(Protocol):
    async def send_batch(self, bodies: list[tuple[str, dict[str, Any], str]]) -> list[str]:
        """(entry id, body, reason) each; returns the entry ids that failed (adapters.queues.SqsQueue)."""
        ...


class Housekeeping:
    def __init__(
        self,
        queue: SendQueue,
        outbox: DeadLetterOutbox,
        letters: LetterSender | None,
        windows: WindowStore,
        lanes: Mapping[str, SenderLane],
        config: DispatchConfig,
        clock: Clock,
    ):
        self._queue = queue
        self._outbox = outbox
        self._letters = letters
        self._windows = windows
        self._lanes = lanes
        self._config = config
        self._clock = clock

    async def reconcile(self) -> None:
        interval = max(0.5, min(10.0, self._config.reconcile_seconds / 4))
        while True:
            await self._clock.sleep(interval)
            try:
                before = self._clock.wall() - self._config.reconcile_seconds
                doubtful = await self._queue.in_doubt(before, RECONCILE_BATCH)
                if doubtful:
                    changed = await self._queue.mark_unknown([m.id for m in doubtful], self._clock.wall())
                    if changed:
                        log.warning("in-doubt messages reported unknown", extra={"count": len(changed)})
            except Exception:
                log.exception("reconciliation failed")

    async def dead_letters(self) -> None:
        while True:
            await self._clock.sleep(LETTERS_EVERY)
            if self._letters is None:
                continue
            try:
                pending = await self._outbox.dead_letters_pending(LETTERS_BATCH)
                while pending:
                    failed = await self._letters.send_batch(
                        [(m.id, dead_letter_body(m), m.error.code if m.error else "unknown") for m in pending]
                    )
                    await self._outbox.dead_letters_sent([m.id for m in pending if m.id not in failed])
                    if failed:
                        break
                    pending = await self._outbox.dead_letters_pending(LETTERS_BATCH)
            except Exception:
                log.exception("outbound-dlq unreachable; the failed messages stay pending for it")

    async def inbound_rate(self) -> None:
        """Meta counts inbound traffic against the phone's limit: reserve the rate observed over 10 s."""
        while True:
            await self._clock.sleep(INBOUND_RATE_EVERY)
            for lane in list(self._lanes.values()):
                if lane.owned and lane.channel == Channel.WHATSAPP:
                    try:
                        since = self._clock.wall() - INBOUND_RATE_SPAN
                        count = await self._windows.inbound_count(lane.origination, since)
                    except Exception:
                        log.exception("inbound rate unknown", extra={"sender": lane.key})
                        continue
                    lane.rate.observe_inbound(count / INBOUND_RATE_SPAN)


def dead_letter_body(m: OutboundMessage) -> dict:
    return {
        "kind": "outbound",
        "message": m.name,
        "channel": m.channel.value,
        "origination": m.origination,
        "recipient": m.recipient,
        "idempotency_key": m.idempotency_key,
        "attempts": m.attempts,
        "error": m.error.to_dict() if m.error else None,
        "reason": f"{m.error.code}: {m.error.detail or m.error.title}" if m.error else "unknown",
    }
