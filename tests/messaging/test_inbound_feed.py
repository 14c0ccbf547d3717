"""The inbox's poller (services/messaging/inbound/feed.py) over a store reader that repeats a change, as the
at-least-once feed may (a redelivered event appended again): each watcher gets the change once."""

from __future__ import annotations

import asyncio

import pytest

from services.messaging.domain.inbound import Change, ChangeKind
from services.messaging.inbound.feed import ConversationFeed, Recent


class RepeatingReader:
    def __init__(self, batches: list[list[Change]]):
        self._batches = batches
        self.started = 0

    async def start(self) -> None:
        self.started += 1

    async def read(self, limit: int) -> list[Change]:
        return self._batches.pop(0) if self._batches else []


class Store:
    def __init__(self, reader):
        self._reader = reader

    def reader(self):
        return self._reader


def change(key: str) -> Change:
    return Change(key, ChangeKind.MESSAGE_RECEIVED, "whatsapp-911", 1.0, {"id": key})


async def test_a_repeated_change_reaches_a_watcher_once():
    reader = RepeatingReader([[change("a"), change("b")], [change("a"), change("c")], [change("b")]])
    feed = ConversationFeed(Store(reader), poll_seconds=0.01)
    async with feed.watch() as changes:
        stream = aiter(changes)
        got = [(await asyncio.wait_for(anext(stream), 2)).key for _ in range(3)]
        with pytest.raises(TimeoutError):  # the repeats of a and b never come
            await asyncio.wait_for(anext(stream), 0.2)
    assert got == ["a", "b", "c"] and reader.started == 1 and not reader._batches
    await feed.close()


def test_recent_forgets_the_oldest_keys():
    recent = Recent(2)
    assert recent.first("a") and recent.first("b") and not recent.first("a")
    assert recent.first("c")  # a is forgotten now
    assert recent.first("a") and not recent.first("c")
