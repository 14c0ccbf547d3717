"""The topic's SQS queue (whatsapp-inbound) as the high-volume way in, beside the gateway's HTTPS subscription;
WECARE_INBOUND_DELIVERY chooses (docs/DESIGN.md "Inbound events"). Each poller long-polls up to 10
notifications, ingests them as one call of IngestEvents' use case (one read of SNS marks, one batch of status
writes, one commit) and deletes them with DeleteMessageBatch once the ingest has committed. What was not taken
(the ingest failed, the process stopped) becomes visible again after the queue's visibility timeout and comes
back: a repeat is a duplicate by SNS MessageId, as on HTTPS. After the queue's maxReceiveCount it moves to
whatsapp-inbound-dlq, replayed like the HTTPS subscription's dead letters.

Trust is IAM's: only the topic may send to the queue (its policy, on aws:SourceArn) and only messaging's role
may receive from it, whereas anyone can POST to the HTTPS endpoint, which is why that verifies signatures.
Raw message delivery stays off: the SNS envelope carries the MessageId that deduplication keys on (the same
as an HTTPS delivery or a whatsapp-inbound-dlq letter of the same event), so one reading serves all three. A
body that is not a Notification of an allowed topic is not ingested and not deleted: it goes to the
dead-letter queue, where an operator sees it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from services.messaging.inbound.ingest import InboundEvent, Ingest

log = logging.getLogger("wecare.messaging.inbound.queue")

BATCH = 10  # SQS's most per ReceiveMessage
WAIT_SECONDS = 20  # SQS's longest long poll
ERROR_PAUSE_SECONDS = 1.0


class NotOurs(ValueError):
    """Not a notification of an allowed topic; `str()` says why."""


class Notifications(Protocol):
    async def receive(
        self, max_count: int = 10, visibility_timeout: int | None = 30, wait_seconds: int = 0
    ) -> list[dict[str, Any]]: ...

    async def delete_batch(self, receipt_handles: list[str]) -> int: ...


def notification(body: str, topics: Iterable[str]) -> InboundEvent:
    """The event of an SNS Notification envelope (raw delivery off) from one of `topics`."""
    try:
        message = json.loads(body)
    except ValueError:
        raise NotOurs("not JSON") from None
    if not isinstance(message, dict) or message.get("Type") != "Notification":
        raise NotOurs("not an SNS Notification (is raw message delivery on?)")
    if message.get("TopicArn") not in set(topics):
        raise NotOurs(f"topic {message.get('TopicArn')!r} is not allowed (WECARE_SNS_TOPIC_ARNS)")
    sns_id, payload = message.get("MessageId"), message.get("Message")
    if not isinstance(sns_id, str) or not sns_id or not isinstance(payload, str) or not payload:
        raise NotOurs("MessageId or Message is missing")
    return InboundEvent(sns_id, payload, "sqs")


class QueueIngest:
    def __init__(self, queue: Notifications, ingest: Ingest, topics: Iterable[str], pollers: int):
        self._queue = queue
        self._ingest = ingest
        self._topics = frozenset(topics)
        self._pollers = pollers
        if not self._topics:
            log.warning("no SNS topic allowed (WECARE_SNS_TOPIC_ARNS): every queued event goes to the dead letters")

    async def run(self) -> None:
        """The pollers, until cancelled."""
        await asyncio.gather(*(self._poll() for _ in range(self._pollers)))

    async def _poll(self) -> None:
        while True:
            try:
                received = await self._queue.receive(BATCH, visibility_timeout=None, wait_seconds=WAIT_SECONDS)
                if received:
                    await self.take(received)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the inbound queue could not be read; trying again")
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    async def take(self, received: list[dict[str, Any]]) -> int:
        """Ingests one ReceiveMessage's notifications and deletes those taken; how many were deleted. Raises when
        the ingest failed (nothing deleted: they come back after the visibility timeout)."""
        events, handles = [], []
        for m in received:
            try:
                events.append(notification(m.get("Body", ""), self._topics))
            except NotOurs as exc:
                log.error("queued message refused; left for whatsapp-inbound-dlq", extra={"why": str(exc)})
                continue
            handles.append(m["ReceiptHandle"])
        if not events:
            return 0
        await self._ingest.ingest(events)  # raises: nothing deleted
        return await self._queue.delete_batch(handles)
