"""What a failed status event's Meta code means for later sends (ingest tells it, from whichever process took
the event): 131048 pauses the sender, 130429 slows it down (both as marks its owner acts on), 131050 suppresses
marketing to the recipient; 131049 (Meta's per-user marketing limit: the message ended LIMITED) is re-attempted
as a message of its own, no sooner than a day later (`limited_retry_seconds`, on Meta's clock) and at most
`limited_reattempts` times, under the key `<the message's key>/reattempt-<n>` (so withdrawing a job's prefix
withdraws it too); the pre-call checks look at consent and suppression again before it goes. 131026 and the
rest: nothing more (no retry)."""

from __future__ import annotations

import logging

from runtime import ids
from services.messaging.adapters.store import HoldStore, MessageStore, SendQueue, SuppressionStore
from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.config import DispatchConfig, sender_key
from services.messaging.dispatch.leases import SenderMarks
from services.messaging.domain import holds
from services.messaging.domain.model import Lane, OutboundMessage, Status

log = logging.getLogger("wecare.messaging.dispatcher")
SUPPRESSION_SECONDS = 10 * 365 * 86400  # 131050: until the customer opts in again, in effect
LIMITED = "131049"


def reattempt_key(m: OutboundMessage, number: int) -> str:
    """The re-attempt's idempotency key: under the original's key (its scope withdraws both), else its name."""
    base = m.idempotency_key.rsplit("/reattempt-", 1)[0] if m.idempotency_key else f"messages/{m.id}"
    return f"{base}/reattempt-{number}"


class Reactions:
    def __init__(
        self,
        marks: SenderMarks,
        suppressions: SuppressionStore,
        messages: MessageStore,
        queue: SendQueue,
        config: DispatchConfig,
        clock: Clock,
        held: HoldStore,
    ):
        self._marks = marks
        self._suppressions = suppressions
        self._messages = messages
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
        elif code == LIMITED and message.status == Status.LIMITED:
            await self.reattempt(message, now)

    async def reattempt(self, m: OutboundMessage, now: float) -> OutboundMessage | None:
        """Queues the LIMITED message's next attempt (once: a repeated event finds its key taken)."""
        number = int(m.extra.get("reattempt_number", 0)) + 1
        if number > self._config.limited_reattempts:
            log.info("limited: no re-attempt left", extra={"outbound": m.name, "attempts": number - 1})
            return None
        due = now + self._config.limited_retry_seconds
        again = OutboundMessage(
            id=ids.new_id(),
            channel=m.channel,
            category=m.category,
            origination=m.origination,
            recipient=m.recipient,
            content=m.content,
            create_time=now,
            contact_id=m.contact_id,
            idempotency_key=reattempt_key(m, number),
            lane=m.lane if m.lane != Lane.CONVERSATION else Lane.SINGLE,
            due_time=due,
            update_time=now,
            extra={"reattempt_of": m.id, "reattempt_number": number},
        )
        accepted = (await self._messages.accept([again]))[0].message
        await self._queue.link_reattempt(m.id, accepted.id, accepted.idempotency_key, accepted.due_time, now)
        log.info("limited: re-attempt queued", extra={"outbound": m.name, "reattempt": accepted.name, "due": due})
        return accepted
