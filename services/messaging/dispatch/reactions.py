"""What a failed status event's Meta code means for later sends (ingest tells it, from whichever process took
the event): 131048 pauses the sender, 130429 slows it down (both as marks its owner acts on), 131050 suppresses
marketing to the recipient, 131049 sends the message again after 24 hours; 131026 and the rest: nothing more
(no retry)."""

from __future__ import annotations

from services.messaging.adapters.store import HoldStore, SendQueue, SuppressionStore
from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.config import DispatchConfig, sender_key
from services.messaging.dispatch.leases import SenderMarks
from services.messaging.domain import holds
from services.messaging.domain.model import OutboundMessage

SUPPRESSION_SECONDS = 10 * 365 * 86400  # 131050: until the customer opts in again, in effect
RETRY_LATER_SECONDS = 24 * 3600  # 131049: Meta's per-user marketing cap counts a rolling day


class Reactions:
    def __init__(
        self,
        marks: SenderMarks,
        suppressions: SuppressionStore,
        queue: SendQueue,
        config: DispatchConfig,
        clock: Clock,
        held: HoldStore,
    ):
        self._marks = marks
        self._suppressions = suppressions
        self._queue = queue
        self._config = config
        self._clock = clock
        self._held = held

    async def react_to_failure(self, message: OutboundMessage, code: str) -> None:
        now = self._clock.wall()
        key = sender_key(message.channel, message.origination)
        if code == "131048":
            await self._marks.pause(key, now + self._config.sender_pause_seconds)
        elif code == "130429":
            await self._marks.slowed(key, now)
        elif code == "131050":
            await self._suppressions.suppress(message.recipient, "marketing", now + SUPPRESSION_SECONDS, "131050")
            # And marketing already accepted for them is stopped at its call (dispatch.holds).
            await self._held.note_holds([holds.suppressed(message.recipient, now, "131050")])
        elif code == "131049":
            await self._queue.retry_later(message.id, now + RETRY_LATER_SECONDS, now)
