"""dispatch.gate on virtual time: an admitted call takes its places in its windows only at the call; when the
account is full the calls wait first come first served, a call whose own sender is full does not hold the others
up, a wait given up takes nothing, and a place given back lets the next one in at once."""

from __future__ import annotations

import asyncio

from services.messaging.dispatch.gate import CallGate
from services.messaging.domain.pacing import CallWindow
from tests.support.virtual_time import run


def admitted(window: CallWindow, n: int, now: float = 0.0) -> CallWindow:
    for _ in range(n):
        window.admit(now)
    return window


def test_calls_begin_at_once_while_there_is_room_and_then_in_order():
    async def main():
        loop = asyncio.get_running_loop()
        gate = CallGate(loop.time)
        account = admitted(CallWindow(3, pace=1.0), 5)
        phones = [admitted(CallWindow(80, pace=1.0), 1) for _ in range(5)]
        began: list[tuple[int, float]] = []

        async def call(i: int) -> None:
            await gate.begin((phones[i], account))
            began.append((i, loop.time()))
            await asyncio.sleep(0.01)  # the call
            for w in (phones[i], account):
                w.finish(loop.time())

        await asyncio.gather(*(call(i) for i in range(5)))
        return began

    began = run(main())
    assert [i for i, _ in began] == [0, 1, 2, 3, 4]  # first come first served on the account
    assert all(t == 0.0 for _, t in began[:3])
    # The 4th and 5th wait for the first completions (at 0.01) to leave the window: 1.01.
    assert [round(t, 6) for _, t in began[3:]] == [1.01, 1.01]


def test_a_sender_that_is_full_does_not_hold_up_the_others():
    async def main():
        loop = asyncio.get_running_loop()
        gate = CallGate(loop.time)
        account = admitted(CallWindow(100, pace=1.0), 3)
        busy = CallWindow(1, pace=1.0)
        busy.start(0.0)  # its one place taken by a call in flight
        busy.finish(0.0)
        admitted(busy, 1)
        other = admitted(CallWindow(10, pace=1.0), 1)
        order: list[str] = []

        async def call(name: str, own: CallWindow) -> None:
            await gate.begin((own, account))
            order.append(f"{name}@{loop.time():.2f}")

        await asyncio.gather(call("busy", busy), call("other", other))
        return order, account.in_flight

    order, in_flight = run(main())
    assert order == ["other@0.00", "busy@1.00"]
    assert in_flight == 2


def test_a_wait_given_up_takes_nothing_and_a_place_given_back_lets_the_next_in():
    async def main():
        loop = asyncio.get_running_loop()
        gate = CallGate(loop.time)
        account = admitted(CallWindow(1, pace=1.0), 3)
        phone = admitted(CallWindow(10, pace=1.0), 3)
        await gate.begin((phone, account))  # the only place
        waiter = asyncio.create_task(gate.begin((phone, account)))
        await asyncio.sleep(0.1)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert (account.in_flight, account.admitted) == (1, 2)  # the cancelled wait took nothing
        next_one = asyncio.create_task(gate.begin((phone, account)))
        await asyncio.sleep(0.1)
        assert not next_one.done()
        account.cancel()  # the first call was never made: its place is given back
        phone.cancel()
        gate.opened()
        await asyncio.wait_for(next_one, 0.01)
        return loop.time(), account.in_flight

    at, in_flight = run(main())
    assert round(at, 6) == 0.2
    assert in_flight == 1
