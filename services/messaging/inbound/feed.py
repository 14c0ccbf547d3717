"""The inbox's live feed for WatchConversations: one poller per process reads the store's change feed (written
by whichever messaging process ingested the event, so every process's watchers see everything) and fans the
changes out to this process's watchers. It polls only while someone watches, and a local ingest wakes it at
once instead of waiting for the next poll. The store gives every change at least once (a redelivered event is
appended again); the poller drops a repeat of any of the last RECENT_KEYS change keys."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

from services.messaging.adapters.store import EventFeedStore
from services.messaging.domain.inbound import Change

log = logging.getLogger("wecare.messaging.inbound.feed")
READ_BATCH = 500
RECENT_KEYS = 65_536  # about 20 s of changes at 3,000 a second: what a redelivery or a re-append repeats


class WatcherFellBehind(Exception):
    """A watcher did not keep up (its buffer filled): its stream ends and it reconnects."""


class ConversationFeed:
    def __init__(self, store: EventFeedStore, poll_seconds: float = 0.5, buffer: int = 2000):
        self._store = store
        self._poll = poll_seconds
        self._buffer = buffer
        self._watchers: set[asyncio.Queue[Change | None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._started = asyncio.Event()
        self._reader = store.reader()
        self._recent = Recent(RECENT_KEYS)

    def poke(self) -> None:
        """Something was just ingested here: read the feed now."""
        self._wake.set()

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator[AsyncIterator[Change]]:
        """Changes committed after the watch began, until the caller leaves the context: every one, once (a repeat
        within RECENT_KEYS dropped), a conversation's in the order they were committed."""
        queue: asyncio.Queue[Change | None] = asyncio.Queue(self._buffer)
        if self._task is None or self._task.done():
            self._started = asyncio.Event()
            self._task = asyncio.create_task(self._run(self._started), name="conversation-feed")
        self._watchers.add(queue)
        try:
            await self._started.wait()  # the poller knows where the feed ends: the watch starts there
            yield self._drain(queue)
        finally:
            self._watchers.discard(queue)

    async def _drain(self, queue: asyncio.Queue[Change | None]) -> AsyncIterator[Change]:
        while True:
            change = await queue.get()
            if change is None:
                raise WatcherFellBehind("the inbox stream fell behind; reconnect")
            yield change

    async def _run(self, started: asyncio.Event) -> None:
        while not started.is_set() and self._watchers:
            try:
                await self._reader.start()
                started.set()
            except Exception:
                log.exception("reading the change feed's end failed; trying again")
                await asyncio.sleep(self._poll)
        while self._watchers:
            try:
                changes = await self._reader.read(READ_BATCH)
            except Exception:
                log.exception("reading the change feed failed; trying again")
                changes = []
            for change in changes:
                if not self._recent.first(change.key):
                    continue
                for queue in list(self._watchers):
                    try:
                        queue.put_nowait(change)
                    except asyncio.QueueFull:
                        self._watchers.discard(queue)
                        queue.get_nowait()  # room for the end marker
                        queue.put_nowait(None)
            if len(changes) >= READ_BATCH:
                continue  # more waiting
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Recent:
    """The last `size` keys seen, for dropping repeats."""

    def __init__(self, size: int):
        self._size = size
        self._order: deque[str] = deque()
        self._keys: set[str] = set()

    def first(self, key: str) -> bool:
        """True the first time a key is seen (among the last `size`)."""
        if key in self._keys:
            return False
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self._size:
            self._keys.discard(self._order.popleft())
        return True
