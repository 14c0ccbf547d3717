"""The inbound half of the messaging process, built from the parts main.py made: ingest (with its media copy,
consent changes and inbound-dlq), the inbox feed, the dead-letter replays, and what the inbound RPCs read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import grpc

from runtime.aws import AwsClients
from runtime.pagination import PageTokens
from runtime.settings import Settings
from services.messaging.adapters.consent import ConsentReader, ContactsConsent
from services.messaging.adapters.consent_changes import ContactsConsentRecorder
from services.messaging.adapters.incoming_media import S3IncomingMedia
from services.messaging.adapters.media import MediaBucket
from services.messaging.adapters.providers import WhatsAppProvider
from services.messaging.adapters.queues import SqsQueue
from services.messaging.adapters.store import InboundStore, OutboundStore
from services.messaging.domain.coordination import MEDIA_GET
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
from services.messaging.inbound.media import MediaCopy


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
    settings: Settings
    inbound_store: InboundStore
    outbound_store: OutboundStore
    ingest: Ingest
    feed: ConversationFeed
    dead_letters: DeadLetters
    media: MediaBucket
    contacts: ConsentReader
    tokens: PageTokens

    async def close(self) -> None:
        await self.feed.close()


def inbound_parts(
    settings: Settings,
    aws: AwsClients,
    *,
    outbound_store: OutboundStore,
    inbound_store: InboundStore,
    whatsapp: WhatsAppProvider,
    dispatcher: Any,  # services.messaging.dispatcher.Dispatcher: media_slot, react_to_failure, notify
    contacts: grpc.aio.Channel,
    media: MediaBucket,
    tokens: PageTokens,
) -> InboundParts:
    feed = ConversationFeed(inbound_store, settings.inbound_watch_poll_seconds)
    reader = ContactsConsent(contacts)
    copy = MediaCopy(
        whatsapp,
        S3IncomingMedia(aws, settings.media_bucket, settings.media_incoming_prefix),
        inbound_store,
        settings.media_incoming_prefix,
        lambda: dispatcher.media_slot(MEDIA_GET),
        attempts=settings.inbound_media_attempts,
        backoff=settings.inbound_media_backoff_seconds,
    )
    ingest = Ingest(
        inbound_store,
        outbound_store,
        ContactsConsentRecorder(contacts),
        reader,
        copy,
        QueueLetters(SqsQueue(aws, settings.inbound_dlq)),
        on_failed=dispatcher.react_to_failure,
        on_change=feed.poke,
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
        message = await outbound_store.requeue(message_id, time.time())
        if message is None:  # sent meanwhile, withdrawn, or gone: nothing to send again
            return False
        dispatcher.notify(message.channel, message.origination)
        return True

    dead_letters = DeadLetters(
        {
            WHATSAPP_INBOUND: SqsQueue(aws, settings.whatsapp_inbound_dlq),
            INBOUND: SqsQueue(aws, settings.inbound_dlq),
            OUTBOUND: SqsQueue(aws, settings.outbound_dlq),
        },
        {WHATSAPP_INBOUND: reingest, INBOUND: finish, OUTBOUND: redispatch},
    )
    return InboundParts(settings, inbound_store, outbound_store, ingest, feed, dead_letters, media, reader, tokens)
