"""The inbound half of the messaging process, built from the parts main.py made: ingest (with its media copy,
consent changes and inbound-dlq), the topic's queue when events come that way (WECARE_INBOUND_DELIVERY=sqs), the
inbox feed, and the dead-letter replays of the three queues. It reaches
the dispatcher only through what it is given: what a failure code means (dispatch.reactions), a media-get slot
(dispatch.budgets) and a nudge (dispatch.interface)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters.commerce import CommerceEvents
from services.messaging.adapters.consent import ContactsConsent
from services.messaging.adapters.consent_changes import ContactsConsentRecorder
from services.messaging.adapters.incoming_media import S3IncomingMedia
from services.messaging.adapters.queues import SqsQueue
from services.messaging.adapters.store import InboundStores, OutboundStores
from services.messaging.dispatch.interface import Nudge
from services.messaging.domain.model import Channel, OutboundMessage
from services.messaging.inbound.account import AccountEvents
from services.messaging.inbound.commerce_events import CommerceHandoff
from services.messaging.inbound.dead_letters import (
    INBOUND,
    OUTBOUND,
    WHATSAPP_INBOUND,
    DeadLetters,
    Letter,
    ReplayFailed,
    sns_notification,
)
from services.messaging.inbound.feed import ConversationFeed
from services.messaging.inbound.ingest import DUPLICATE, REJECTED, InboundEvent, Ingest, UnfinishedTask
from services.messaging.inbound.media import MediaCopy, MediaSlot, MediaSource
from services.messaging.inbound.queue_ingest import QueueIngest


class QueueLetters:
    """inbound-dlq as Ingest writes to it."""

    def __init__(self, queue: SqsQueue):
        self._queue = queue

    async def send(self, body: dict[str, Any], reason: str) -> None:
        failed = await self._queue.send_batch([("0", {**body, "reason": reason}, reason)])
        if failed:
            raise RuntimeError(f"{self._queue.name} did not take the letter")


@dataclass
class InboundParts:
    ingest: Ingest
    feed: ConversationFeed
    dead_letters: DeadLetters
    queue: QueueIngest | None  # the pollers of the topic's queue, to run in the background; None: HTTPS

    async def close(self) -> None:
        await self.feed.close()


def inbound_parts(
    settings: Settings,
    aws: AwsClients,
    *,
    outbound: OutboundStores,
    inbound: InboundStores,
    source: MediaSource,
    media_slot: MediaSlot,
    on_failed: Callable[[OutboundMessage, str], Awaitable[None]],
    on_consent: Callable[[Channel, str, bool, str], Awaitable[object]],
    nudge: Nudge,
    contacts: grpc.aio.Channel,
    commerce: CommerceEvents | None = None,
    account: AccountEvents | None = None,
) -> InboundParts:
    feed = ConversationFeed(inbound.feed, settings.inbound_watch_poll_seconds)
    copy = MediaCopy(
        source,
        S3IncomingMedia(aws, settings.media_bucket, settings.media_incoming_prefix),
        inbound.messages,
        settings.media_incoming_prefix,
        media_slot,
        attempts=settings.inbound_media_attempts,
        backoff=settings.inbound_media_backoff_seconds,
    )
    ingest = Ingest(
        inbound.messages,
        inbound.voice_calls,
        inbound.feed,
        outbound.messages,
        ContactsConsentRecorder(contacts),
        ContactsConsent(contacts),
        copy,
        QueueLetters(SqsQueue(aws, settings.inbound_dlq)),
        on_failed=on_failed,
        on_change=feed.poke,
        commerce=CommerceHandoff(commerce, inbound.messages),
        on_consent=on_consent,
        account=account,
    )

    async def reingest(letter: Letter) -> bool:
        sns_message_id, payload = sns_notification(letter.body)
        try:
            [result] = await ingest.ingest([InboundEvent(sns_message_id, payload, "replay:whatsapp-inbound-dlq")])
        except Exception as exc:
            raise ReplayFailed(f"ingest failed: {exc}") from exc
        if result.outcome == REJECTED:
            raise ReplayFailed(result.detail)
        return result.outcome != DUPLICATE

    async def finish(letter: Letter) -> bool:
        try:
            return await ingest.finish(letter.body)
        except UnfinishedTask as exc:
            raise ReplayFailed(str(exc)) from None

    async def redispatch(letter: Letter) -> bool:
        message_id = letter.message.removeprefix("messages/")
        if not message_id:
            raise ReplayFailed("the letter names no message")
        message = await outbound.queue.requeue(message_id, time.time())
        if message is None:  # sent meanwhile, withdrawn, or gone: nothing to send again
            return False
        nudge.notify(message.channel, message.origination)
        return True

    dead_letters = DeadLetters(
        {
            WHATSAPP_INBOUND: SqsQueue(aws, settings.whatsapp_inbound_dlq),
            INBOUND: SqsQueue(aws, settings.inbound_dlq),
            OUTBOUND: SqsQueue(aws, settings.outbound_dlq),
        },
        {WHATSAPP_INBOUND: reingest, INBOUND: finish, OUTBOUND: redispatch},
    )
    queue = None
    if settings.inbound_delivery == "sqs":
        topic_queue = SqsQueue(aws, settings.whatsapp_inbound_queue)
        queue = QueueIngest(topic_queue, ingest, settings.sns_topic_arns, settings.inbound_queue_pollers)
    return InboundParts(ingest, feed, dead_letters, queue)
