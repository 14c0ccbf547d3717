"""dispatch.gate on virtual time: an admitted call takes its places in its windows only at the call; when the
account is full the calls wait first come first served, a call whose own sender is full does not hold the others
up, a wait given up takes nothing, and a place given back lets the next one in at once."""

from __future__ import annotations

import asyncio

from services.messaging.dispatch.gate import RECHECK, CallGate
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
            assert await gate.begin((phones[i], account), within=2.0)
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
            assert await gate.begin((own, account), within=2.0)
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
        assert await gate.begin((phone, account), within=2.0)  # the only place
        waiter = asyncio.create_task(gate.begin((phone, account), within=2.0))
        await asyncio.sleep(0.1)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert (account.in_flight, account.admitted) == (1, 2)  # the cancelled wait took nothing
        next_one = asyncio.create_task(gate.begin((phone, account), within=2.0))
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


def full_account() -> tuple[CallWindow, CallWindow]:
    account = admitted(CallWindow(2, pace=1.0), 1)
    account.start(0.0)  # both places taken by calls in flight (that never end, here)
    account.start(0.0)
    return admitted(CallWindow(80, pace=1.0), 1), account


def test_a_call_whose_limit_shrank_under_it_gives_up_in_time_and_takes_nothing():
    """Admitted under a share that then went to another process: no place will come; the call gives up after its
    bound (the caller puts it back in the queue) and has taken nothing."""

    async def main():
        loop = asyncio.get_running_loop()
        gate = CallGate(loop.time)
        phone, account = full_account()
        account.set_limit(0)  # the share is gone
        began = await gate.begin((phone, account), within=2.0)
        return began, loop.time(), account.in_flight, phone.in_flight, gate._waiting

    began, at, account_in_flight, phone_in_flight, waiting = run(main())
    assert began is False
    assert round(at, 6) == 2.0
    assert (account_in_flight, phone_in_flight, waiting) == (2, 0, [])


def test_a_limit_that_grows_lets_a_waiting_call_in_within_a_recheck():
    async def main():
        loop = asyncio.get_running_loop()
        gate = CallGate(loop.time)
        phone, account = full_account()
        waiter = asyncio.create_task(gate.begin((phone, account), within=2.0))
        await asyncio.sleep(0.5)
        account.set_limit(3)  # a bigger share: one place free (nothing else tells the gate)
        began = await waiter
        return began, loop.time(), account.in_flight

    began, at, in_flight = run(main())
    assert began is True
    assert 0.5 <= at <= 0.5 + RECHECK + 1e-6
    assert in_flight == 3
