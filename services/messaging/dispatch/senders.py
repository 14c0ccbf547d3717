"""One owned sender (a WhatsApp phone, an SMS origination identity, the SES sender) as this process runs it: its
limit and pace, its pair rule, whether its lease lets it call now, and a buffer of its queued messages in lane
order (conversation replies, then one-off sends, then bulk)."""

from __future__ import annotations

from services.messaging.domain.model import Channel, OutboundMessage
from services.messaging.domain.pacing import CallWindow, PairGuard, SenderRate

PAIR_LOOKAHEAD = 64  # buffered messages looked at for one whose recipient the pair rule allows now


class SenderLane:
    def __init__(self, key: str, limit: float, pace: float, pair_gap: float | None):
        self.key = key
        channel, _, self.origination = key.partition(":")
        self.channel = Channel(channel)
        self.rate = SenderRate(limit)
        self.window = CallWindow(limit, pace=pace)
        self.pair = PairGuard(pair_gap) if pair_gap else None
        self.buffer: list[OutboundMessage] = []
        self.known: set[str] = set()  # buffered, being handed off or in flight here
        self.owned = False
        self.start_at = 0.0  # monotonic: when the lease lets this process call (after a hand-over's hold)
        self.paused_until = 0.0  # monotonic: 131048
        self.slow_seen = 0.0  # wall: the latest rate-limit signal already acted on
        self.refilling = False
        self.last_refill = -1e9
        self.more = True  # the store may hold more than the buffer
        self.wanted = True  # someone told us there is new work

    def add(self, messages: list[OutboundMessage]) -> None:
        fresh = [m for m in messages if m.id not in self.known]
        if not fresh:
            return
        self.known.update(m.id for m in fresh)
        self.buffer.extend(fresh)
        self.buffer.sort(key=lambda m: (int(m.lane), m.create_time, m.id))

    def pick(self, now: float) -> tuple[OutboundMessage | None, float]:
        """The first buffered message whose pair rule allows it now, or None and how long until one does."""
        if self.pair is None:
            return self.buffer.pop(0), 0.0
        soonest = 1.0
        for i, m in enumerate(self.buffer[:PAIR_LOOKAHEAD]):
            wait = self.pair.wait(m.recipient, now)
            if wait <= 0:
                return self.buffer.pop(i), 0.0
            soonest = min(soonest, wait)
        return None, soonest

    def drop_buffer(self) -> None:
        for m in self.buffer:
            self.known.discard(m.id)
        self.buffer.clear()
