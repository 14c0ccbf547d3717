"""The media ids a WhatsApp message needs for its media (a header or the message itself): an object is registered
with a phone once (PostWhatsAppMessageMedia, inside this process's media-post share) and its id kept until Meta
forgets it. Registering is an interface of its own (a MediaRegistrar), not a kind of provider."""

from __future__ import annotations

from services.messaging.adapters.providers import CallOutcome, MediaRegistrar
from services.messaging.adapters.store import MediaIdStore
from services.messaging.dispatch.budgets import AccountBudgets
from services.messaging.dispatch.clock import Clock
from services.messaging.domain import meta
from services.messaging.domain.coordination import MEDIA_POST
from services.messaging.domain.model import OutboundMessage

MEDIA_ID_LIFETIME = 29 * 24 * 3600  # Meta keeps an uploaded media id 30 days; renew a day early


class MediaIds:
    def __init__(self, store: MediaIdStore, registrar: MediaRegistrar, budgets: AccountBudgets, clock: Clock):
        self._store = store
        self._registrar = registrar
        self._budgets = budgets
        self._clock = clock

    async def for_message(self, origination: str, m: OutboundMessage) -> tuple[dict[str, str], CallOutcome | None]:
        """{media key: media id} for every object the message names, or why the send cannot be made."""
        out: dict[str, str] = {}
        for key in meta.media_keys(m):
            known = await self._store.media_id(origination, key, self._clock.wall())
            if known is None:
                async with self._budgets.media_slot(MEDIA_POST):
                    known, problem = await self._registrar.post_media(origination, key)
                if problem is not None:
                    if problem.kind == "in_doubt":  # the send itself was never made: trying again is safe
                        problem = CallOutcome("retry", error=problem.error)
                    return {}, problem
                assert known is not None
                await self._store.put_media_id(origination, key, known, self._clock.wall() + MEDIA_ID_LIFETIME)
            out[key] = known
        return out, None
