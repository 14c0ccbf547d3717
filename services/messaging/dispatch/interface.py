"""What the rest of messaging knows of the dispatcher: a sender's state (paused, as of the last heartbeat) and a
nudge (new work was accepted for a sender). Accepting sends and the outbound-dlq replay reach it only through
this; ingest reaches it through dispatch.reactions (what a failure code means) and dispatch.budgets (a media-get
slot), each its own small object."""

from __future__ import annotations

from typing import Protocol

from services.messaging.domain.model import Channel, Lane


class SenderState(Protocol):
    def paused_until(self, channel: Channel, origination: str) -> float:
        """Wall time until which the sender is paused (131048); 0 when it is not."""
        ...


class Nudge(Protocol):
    def notify(self, channel: Channel, origination: str, lane: Lane | None = None) -> None:
        """New work for the sender was accepted (in `lane`, or any): read its queue when that helps."""
        ...


class Senders(SenderState, Nudge, Protocol):
    """Both: what acceptance needs."""
