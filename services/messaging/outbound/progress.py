"""Send progress: the messages of one streamed send followed from their store changes until each is sent, failed,
withdrawn or unknown, and the totals over the whole request. Work per step is proportional to what changed,
not to the size of the send (a 25,000-message send steps every half second)."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.errors import DomainError
from services.messaging.domain.model import SETTLED, MessageState, Status

OVERLAP = 1.0  # seconds a streamed send re-reads of its changes


@dataclass
class Item:
    """One message of a streamed send: its index, then its acceptance or refusal, then its state."""

    index: int
    message: MessageState | None = None
    refusal: DomainError | None = None
    duplicate: bool = False
    reported: tuple | None = None  # what the stream last said about it


@dataclass
class Progress:
    """One step of a streamed send: the items that changed, and totals over the whole request."""

    changed: list[Item]
    totals: dict[str, float] = field(default_factory=dict)
    done: bool = False


_TOTAL_OF = {
    Status.SENT: "sent",
    Status.DELIVERED: "sent",
    Status.READ: "sent",
    Status.FAILED: "failed",
    Status.WITHDRAWN: "withdrawn",
    Status.UNKNOWN: "unknown",
    Status.LIMITED: "limited",
}


class Tracker:
    def __init__(self, items: list[Item], wall: Callable[[], float]):
        self.items = items
        self._wall = wall
        self._by_id: dict[str, Item] = {}
        self._accepted_through = -1
        self._seen_until = wall()
        self._last_step = 0.0
        self._sends: deque[float] = deque()
        self._counts: Counter[str] = Counter()
        self._counted: dict[int, str] = {}  # item index -> the total it is counted in
        self._dirty: set[int] = set()
        self._duplicates: list[Item] = []

    def accepted_through(self, index: int) -> None:
        for item in self.items[self._accepted_through + 1 : index + 1]:
            if item.message is not None:
                self._by_id.setdefault(item.message.id, item)
                if item.duplicate:
                    self._duplicates.append(item)
            self._recount(item)
        self._accepted_through = max(self._accepted_through, index)

    def _recount(self, item: Item) -> None:
        key = "refused" if item.refusal is not None else _TOTAL_OF.get(item.message.status, "pending")  # type: ignore[union-attr]
        before = self._counted.get(item.index)
        if before != key:
            if before is not None:
                self._counts[before] -= 1
            self._counts[key] += 1
            self._counted[item.index] = key
        self._dirty.add(item.index)

    def since(self) -> float:
        # Overlap what was seen: writes stamped before they committed, and several writers' clocks.
        return self._seen_until - OVERLAP

    def foreign_pending(self) -> list[str]:
        """Duplicates of messages from other sends that are not settled yet (their changes are not ours)."""
        return [i.message.id for i in self._duplicates if i.message is not None and i.message.status not in SETTLED]

    def unsettled(self) -> list[str]:
        return [i.message.id for i in self.items if i.message is not None and i.message.status not in SETTLED]

    def observe(self, messages: list[MessageState]) -> None:
        now = time.monotonic()
        for m in messages:
            self._seen_until = max(self._seen_until, m.update_time)
            item = self._by_id.get(m.id)
            if item is None or item.message is None:
                continue
            if item.message.status not in SETTLED and m.status in SETTLED and m.status != Status.WITHDRAWN:
                self._sends.append(now)
            if m.update_time >= item.message.update_time:
                item.message = m
                self._recount(item)

    def settled(self) -> bool:
        return self._accepted_through == len(self.items) - 1 and not self._counts["pending"]

    def due(self, interval: float) -> bool:
        return time.monotonic() - self._last_step >= interval

    def step(self, done: bool) -> Progress:
        self._last_step = now = time.monotonic()
        while self._sends and self._sends[0] < now - 1.0:
            self._sends.popleft()
        changed = []
        for index in sorted(self._dirty):
            item = self.items[index]
            if item.refusal is not None:
                state: tuple = ("refused",)
            else:
                assert item.message is not None
                state = (item.message.status, item.message.provider_message_id)
            if item.reported != state:
                item.reported = state
                changed.append(item)
        self._dirty.clear()
        totals: dict[str, float] = {"requested": len(self.items)}
        totals["accepted"] = self._accepted_through + 1 - self._counts["refused"]
        for key in ("refused", "sent", "failed", "withdrawn", "unknown", "limited", "pending"):
            totals[key] = self._counts[key]
        totals["current_rate"] = float(len(self._sends))
        return Progress(changed, totals, done)
