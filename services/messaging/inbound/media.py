"""Copying a customer's media into `whatsapp-media/whatsapp-media-incoming/` promptly (Meta keeps inbound
media about 7 days): GetWhatsAppMessageMedia under the account's media-get limit, retried with backoff while
the failure is worth retrying, then the caller sends it to inbound-dlq with the reason. Idempotent: media
already copied (the message has its key, or an earlier try's object is in the bucket) is not fetched again."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from services.messaging.adapters.incoming_media import IncomingMedia
from services.messaging.adapters.providers import classify
from services.messaging.adapters.store import InboundMessageStore
from services.messaging.domain.model import InboundMessage

log = logging.getLogger("wecare.messaging.inbound.media")


class MediaSource(Protocol):
    async def get_media(self, origination: str, media_id: str, destination_prefix: str) -> dict[str, object]:
        """GetWhatsAppMessageMedia into the bucket under the prefix; raises the SDK's errors."""
        ...


MediaSlot = Callable[[], contextlib.AbstractAsyncContextManager[None]]
"""Held around one GetWhatsAppMessageMedia call: admits it under this process's share of the account's
media-get limit (dispatch.budgets.AccountBudgets.media_slot(MEDIA_GET))."""


class MediaCopyFailed(Exception):
    """Out of retries, or refused for good; `str()` is the reason inbound-dlq keeps."""


def media_of(message: InboundMessage) -> dict[str, Any] | None:
    media = message.content.get("media")
    return media if isinstance(media, dict) and media.get("provider_media_id") else None


class MediaCopy:
    def __init__(
        self,
        source: MediaSource,
        incoming: IncomingMedia,
        store: InboundMessageStore,
        prefix: str,
        slot: MediaSlot,
        attempts: int = 4,
        backoff: float = 0.25,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        slot_wait: float = 10.0,
    ):
        self._source = source
        self._incoming = incoming
        self._store = store
        self._prefix = prefix
        self._slot = slot
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._slot_wait = slot_wait

    def needed(self, message: InboundMessage) -> bool:
        media = media_of(message)
        return media is not None and not media.get("media_key")

    async def copy(self, message: InboundMessage) -> InboundMessage:
        """The message with its media's key and size, stored; raises MediaCopyFailed."""
        media = media_of(message)
        if media is None or media.get("media_key"):
            return message
        media_id = str(media["provider_media_id"])
        found, why, reply = await self._find(media_id), "", {}
        attempt = 0
        while found is None and attempt < self._attempts:
            if attempt:
                await self._sleep(self._backoff * 2 ** (attempt - 1))
            attempt += 1
            try:
                async with contextlib.AsyncExitStack() as stack:
                    async with asyncio.timeout(self._slot_wait):
                        await stack.enter_async_context(self._slot())
                    reply = await self._source.get_media(message.origination, media_id, self._prefix)
            except TimeoutError:
                why = f"no media-get slot within {self._slot_wait:g}s (the dispatcher holds no share)"
                continue
            except Exception as exc:
                outcome = classify(exc)
                error = outcome.error
                why = f"{error.code}: {error.detail}" if error else type(exc).__name__
                if outcome.kind == "failed":  # refused for good (unknown or expired media, access): no retry
                    break
                continue
            found = await self._find(media_id)
            if found is None:
                why = f"GetWhatsAppMessageMedia answered but nothing landed under {self._prefix}{media_id}"
        if found is None:
            raise MediaCopyFailed(f"media {media_id} not copied after {attempt} attempt(s): {why}")
        copied = dict(media, media_key=found.key, size_bytes=found.size)
        if not copied.get("mime_type") and reply.get("mimeType"):
            copied["mime_type"] = str(reply["mimeType"])
        updated = dataclasses.replace(message, content={**message.content, "media": copied})
        await self._store.update_message(updated)
        log.info("media copied", extra={"inbound_message": message.name, "key": found.key, "attempts": attempt})
        return updated

    async def _find(self, media_id: str):
        try:
            return await self._incoming.find(media_id)
        except Exception as exc:  # the bucket unreachable: counts as not there, the copy is tried (and retried)
            log.warning("media lookup failed", extra={"media_id": media_id, "error": str(exc)})
            return None
