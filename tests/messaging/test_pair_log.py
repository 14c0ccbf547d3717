"""The pair limit kept when a sender changes hands (dispatch.pair_log): the owner saves its sender's recent pairs
as wall times, once more when it loses the sender; the next owner, whose monotonic clock reads differently, seeds
its own pair rule from them, so a recipient reached just before the hand-over is not reached again within the
gap; pairs past the gap are not carried."""

from __future__ import annotations

import pytest

from services.messaging.adapters import sqlite_store
from services.messaging.dispatch.pair_log import PairHandOver
from services.messaging.dispatch.senders import SenderLane
from services.messaging.domain.pacing import PairGuard

KEY = "WHATSAPP:phone-number-id-" + "a" * 32
WALL = 1_795_619_000.0


class Clock:
    def __init__(self, mono: float, wall: float):
        self.mono, self.wall_ = mono, wall

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> float:
        return self.wall_

    async def sleep(self, seconds: float) -> None:
        self.mono += seconds
        self.wall_ += seconds

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall_ += seconds


@pytest.fixture
async def out(tmp_path):
    stores = sqlite_store.open_outbound(tmp_path / "out.sqlite3")
    yield stores
    await stores.close()


def lane(owned: bool) -> SenderLane:
    made = SenderLane(KEY, 80.0, 0.1, 6.0)
    made.owned = owned
    return made


async def test_the_next_owner_keeps_the_pair_limit(out):
    first_clock, next_clock = Clock(100.0, WALL), Clock(90_000.0, WALL)  # the two processes' monotonic clocks differ
    first, following = lane(True), lane(False)
    one = PairHandOver(out.pairs, {KEY: first}, first_clock)
    two = PairHandOver(out.pairs, {KEY: following}, next_clock)
    await one.sync()  # owned: nothing to seed (no previous owner)
    first.pair.finish("+911", first_clock.monotonic())
    first_clock.advance(2.0), next_clock.advance(2.0)
    first.pair.finish("+912", first_clock.monotonic())
    first.pair.start("+913")  # in flight as the lease lapses: counts as completing now
    first.owned = False  # the lease lapsed
    await one.sync()  # saved a last time
    assert await out.pairs.load_pairs(KEY) == {"+911": WALL, "+912": WALL + 2.0, "+913": WALL + 2.0}

    first_clock.advance(1.0), next_clock.advance(1.0)
    following.owned = True
    await two.sync()
    now = next_clock.monotonic()
    assert following.pair.wait("+911", now) == pytest.approx(3.0)  # 6 s after its call 3 s ago
    assert following.pair.wait("+912", now) == pytest.approx(5.0)
    assert following.pair.wait("+914", now) == 0.0  # nobody called them
    next_clock.advance(3.0)
    await two.sync()  # the new owner saves what it holds now: +911 has left the gap
    assert set(await out.pairs.load_pairs(KEY)) == {"+912", "+913"}


def test_recent_pairs_and_seeding():
    guard = PairGuard(6.0)
    guard.finish("+911", 10.0)
    guard.start("+912")
    assert guard.recent(12.0) == {"+911": 10.0, "+912": 12.0}
    assert guard.recent(16.0) == {"+912": 16.0}  # +911 is past the gap
    guard.seed({"+911": 15.0, "+913": 1.0})
    assert guard.wait("+911", 16.0) == pytest.approx(5.0)  # the later completion wins
