"""The dispatcher on virtual time (tests/support/virtual_time.py): the real Dispatcher and the real SQLite stores,
run on the event loop's thread, with a provider that takes each call somewhere inside it. Time jumps from timer to
timer, so a minute of scheduling runs in a moment, and a run is repeatable to the nanosecond.

Covered here as the live tests cover them, but exactly: pacing under any latency (a window that would overflow if
calls were counted when they start), the account limit shared by phones, a lease that lapses (calls stop before
it can, and the phone changes hands only after the hold), a call handed off as the lease lapses, the hand-off
(withdrawn meanwhile, a mark that fails), a call that hangs past its deadline, and a graceful hand-over."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from pathlib import Path

from localrun.sandbox import log as sandbox_log
from runtime import ids
from services.messaging.adapters import sqlite_store
from services.messaging.adapters.providers import CallOutcome
from services.messaging.adapters.sqlite_store.inbound_table import INBOUND_SCHEMA
from services.messaging.adapters.sqlite_store.outbound_table import OUTBOUND_SCHEMA
from services.messaging.adapters.store import OutboundStores, WindowStore
from services.messaging.dispatch.config import DispatchConfig
from services.messaging.dispatch.dispatcher import Dispatcher
from services.messaging.domain.coordination import Timing
from services.messaging.domain.model import (
    Category,
    Channel,
    Lane,
    MessageError,
    OutboundMessage,
    Status,
    StatusEvent,
)
from tests.messaging.support import phone_ids
from tests.support.virtual_time import EPOCH, InlineDatabase, VirtualClock, run, until

PHONES = phone_ids(4)
TIMING = Timing()  # lease 6 s, calls at most 2 s, margin 0.5 s, window 1 s: fence 2.5 s, hold 3.5 s


class FakeWhatsApp:
    """EUM Social on virtual time. A call takes `latency(n)` seconds and is taken by the provider at a point inside
    it (`accept_at(n)`, a fraction); what was taken is logged as the sandbox logs it. A message in `hang` is taken
    but never answered, whatever the client's own timeouts: only the dispatcher's deadline ends the call."""

    channel = Channel.WHATSAPP

    def __init__(
        self,
        clock: VirtualClock,
        latency: Callable[[int], float] = lambda n: 0.05,
        accept_at: Callable[[int], float] = lambda n: 0.5,
        log: list[sandbox_log.Call] | None = None,
    ):
        self.clock = clock
        self.latency = latency
        self.accept_at = accept_at
        self.accepted = log if log is not None else []
        self.calls: list[tuple[float, float, str, str]] = []  # (start, end, origination, message id), wall time
        self.hang: set[str] = set()
        self.throttle_next = 0
        self.started = 0
        self.media_latency = 0.05

    async def send(self, message: OutboundMessage, media_ids: dict[str, str]) -> CallOutcome:
        n = self.started
        self.started += 1
        start = self.clock.wall()
        latency = self.latency(n)
        before = latency * self.accept_at(n)
        try:
            await asyncio.sleep(before)
            if self.throttle_next:
                self.throttle_next -= 1
                outcome = CallOutcome("throttled", error=MessageError("ThrottledRequestException"))
            else:
                wamid = f"wamid.{message.id}"
                self.accepted.append(
                    sandbox_log.Call(
                        round(self.clock.wall() * 1e9),
                        "WHATSAPP",
                        message.origination,
                        message.recipient,
                        wamid,
                        message.callback_data,
                    )
                )
                if message.id in self.hang:
                    await asyncio.sleep(3600)  # no answer, ever: only the caller's deadline ends the call
                outcome = CallOutcome("sent", provider_message_id=wamid)
            await asyncio.sleep(max(0.0, latency - (self.clock.wall() - start)))
            return outcome
        finally:  # answered, or given up by the caller
            self.calls.append((start, self.clock.wall(), message.origination, message.id))

    async def post_media(self, origination: str, media_key: str) -> tuple[str | None, CallOutcome | None]:
        await asyncio.sleep(self.media_latency)  # registering a media object with the phone
        return f"media-{media_key[-6:]}", None


class Outage:
    """A store part that can be made unreachable (every call raises while `down`)."""

    def __init__(self, inner):
        self._inner = inner
        self.down = False

    def __getattr__(self, name: str):
        inner = getattr(self._inner, name)

        async def call(*args, **kwargs):
            if self.down:
                raise ConnectionError("store unreachable (test)")
            return await inner(*args, **kwargs)

        return call


class MarkHook:
    """The send queue, with something done just before the next hand-off marks (or the marks slowed down). A
    write that has begun lands even when its caller stops waiting for it, as production's do (SQLite's runs on a
    thread of its own; a DynamoDB request on the wire is not taken back)."""

    def __init__(self, inner):
        self._inner = inner
        self.before_next_mark: Callable | None = None
        self.mark_delay = 0.0
        self.fail_after_marking: int | None = None  # the next group: mark this many, then fail the rest

    async def hand_off(self, message_ids: list[str], now: float) -> list[str]:
        hook, self.before_next_mark = self.before_next_mark, None
        if hook is not None:
            await hook(message_ids)

        async def write() -> list[str]:
            if self.mark_delay:
                await asyncio.sleep(self.mark_delay)
            if self.fail_after_marking is not None:
                some, self.fail_after_marking = message_ids[: self.fail_after_marking], None
                await self._inner.hand_off(some, now)
                raise OSError("the store failed part way through the group (test)")
            return await self._inner.hand_off(message_ids, now)

        return await asyncio.shield(asyncio.ensure_future(write()))

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


def tables(root: Path) -> tuple[OutboundStores, WindowStore]:
    """Both tables on the embedded engine, run inline (one process's handle; call again for another's)."""
    root.mkdir(parents=True, exist_ok=True)
    outbound = sqlite_store.outbound_stores(InlineDatabase(root / "out.sqlite3", OUTBOUND_SCHEMA))
    inbound = sqlite_store.inbound_stores(InlineDatabase(root / "in.sqlite3", INBOUND_SCHEMA))
    return outbound, inbound.windows


def dispatcher(
    stores: OutboundStores,
    windows: WindowStore,
    provider: FakeWhatsApp,
    phones: dict[str, float],
    member: str = "a",
    **config,
) -> Dispatcher:
    return Dispatcher(
        stores,
        windows,
        {Channel.WHATSAPP: provider},
        provider,
        None,
        DispatchConfig(phone_rates=phones, pair_gap=0.0, timing=TIMING, **config),
        member_id=member,
        clock=provider.clock,
        rng=random.Random(member),
    )


def backlog(n: int, phone: str, batch: str = "", tag: int = 0) -> list[OutboundMessage]:
    """n template-less utility texts from one phone, due now, in acceptance order."""
    return [
        OutboundMessage(
            id=ids.new_id(),
            channel=Channel.WHATSAPP,
            category=Category.UTILITY,
            origination=phone,
            recipient=f"+9198{tag:02d}{PHONES.index(phone)}{i:05d}",
            content={"text": {"body": "hi"}},
            create_time=EPOCH - 10 + i * 1e-3,
            lane=Lane.BULK,
            batch_id=batch,
            due_time=EPOCH - 10,
            update_time=EPOCH - 10,
        )
        for i in range(n)
    ]


async def statuses(stores: OutboundStores, messages: list[OutboundMessage]) -> list[Status]:
    return [m.status for m in await stores.messages.get_many([m.id for m in messages])]


async def all_sent(stores: OutboundStores, messages: list[OutboundMessage]) -> bool:
    return all(s == Status.SENT for s in await statuses(stores, messages))


async def has_status(stores: OutboundStores, message: OutboundMessage, status: Status) -> bool:
    return await statuses(stores, [message]) == [status]


async def stop(*tasks: asyncio.Task) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def windows_of(calls: list[tuple[float, float, str, str]], pick: Callable[[float, float], float]) -> dict:
    """The worst one-second window per phone, if the provider took each call at pick(start, end)."""
    logged = [sandbox_log.Call(round(pick(s, e) * 1e9), "WHATSAPP", o, m, m, m) for s, e, o, m in calls]
    return sandbox_log.report(logged).per_phone


# --- scheduling and pacing ----------------------------------------------------------------------------------


def test_a_backlog_is_paced_under_its_limit_whatever_the_latency_and_repeats_exactly(tmp_path):
    """Slow calls (0.9 s) and fast ones (5 ms) in turns: counted when they start, the slow ones' acceptances would
    land in the same second as the fast ones' (a window that would overflow). Counted by completion, no second
    holds more than the limit wherever in the call the provider takes it; and the run repeats exactly."""

    def scenario(root: Path):
        async def main():
            clock = VirtualClock()
            mix = random.Random(5)
            points = [mix.random() for _ in range(1000)]
            provider = FakeWhatsApp(
                clock, latency=lambda n: 0.9 if (n // 10) % 2 == 0 else 0.005, accept_at=lambda n: points[n]
            )
            stores, windows = tables(root)
            messages = backlog(120, PHONES[0])
            await stores.messages.accept(messages)
            task = asyncio.create_task(dispatcher(stores, windows, provider, {PHONES[0]: 10.0}).run())
            took = await until(lambda: all_sent(stores, messages), within=120)
            await stop(task)
            return provider, took

        return run(main())

    provider, took = scenario(tmp_path / "first")
    report = sandbox_log.report(provider.accepted)
    assert report.counts == {"WHATSAPP": 120} and report.duplicate_refs == []
    assert report.max_per_phone <= 10
    for pick in (lambda s, e: s, lambda s, e: e):  # taken the moment a call starts, or as it ends
        assert max(windows_of(provider.calls, pick).values()) <= 10
    # Never faster than the limit; never slower than the completion rule makes it (1 / (1 + latency) of it).
    assert (120 - 10) / 10 <= took <= 120 / (10 * 0.99 / 1.9) + 2, took
    again, took_again = scenario(tmp_path / "second")
    assert took_again == took
    assert [(c.t_ns, c.to) for c in again.accepted] == [(c.t_ns, c.to) for c in provider.accepted]


def test_phones_share_a_binding_account_limit_and_finish_together(tmp_path):
    """Four phones of 10/s under a 20/s account limit, 30 messages each (the live test's case, exactly)."""

    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock, latency=lambda n: 0.05 + 0.1 * (n % 3))
        stores, windows = tables(tmp_path)
        messages = [m for p in PHONES for m in backlog(30, p)]
        await stores.messages.accept(messages)
        d = dispatcher(stores, windows, provider, {p: 10.0 for p in PHONES}, account_rate=20.0)
        task = asyncio.create_task(d.run())
        took = await until(lambda: all_sent(stores, messages), within=60)
        await stop(task)
        return provider, took

    provider, took = run(main())
    report = sandbox_log.report(provider.accepted)
    assert report.counts == {"WHATSAPP": 120} and report.account <= 20 and report.max_per_phone <= 10
    assert took >= (120 - 20) / 20
    last = {p: max(c.t_ns for c in provider.accepted if c.origin == p) for p in PHONES}
    assert (max(last.values()) - min(last.values())) / 1e9 < 1.0, last


def test_a_throttled_phone_slows_down_and_its_messages_are_retried(tmp_path):
    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock)
        provider.throttle_next = 2
        stores, windows = tables(tmp_path)
        d = dispatcher(stores, windows, provider, {PHONES[0]: 10.0}, max_attempts=3)
        task = asyncio.create_task(d.run())
        await until(lambda: d.heartbeats > 0, within=5)
        [message] = backlog(1, PHONES[0])
        await stores.messages.accept([message])
        d.notify(Channel.WHATSAPP, PHONES[0])
        await until(lambda: all_sent(stores, [message]), within=30)
        factor = d.lane(Channel.WHATSAPP, PHONES[0]).rate.factor
        sent = await stores.messages.get(message.id)
        await stop(task)
        return provider, d, factor, sent

    provider, d, factor, sent = run(main())
    assert sent.attempts == 3 and d.outcomes["throttled:ThrottledRequestException"] == 2
    assert factor < 1.0
    assert [c.ref for c in provider.accepted] == [sent.callback_data]
    # Backed off between attempts: 0.5 s then 1 s, each within 20%.
    starts = [s for s, _, _, _ in provider.calls]
    assert 0.4 <= starts[1] - starts[0] and 0.8 <= starts[2] - starts[1]


# --- leases -------------------------------------------------------------------------------------------------


def test_a_lease_that_lapses_stops_calls_in_time_and_the_phone_changes_hands_after_the_hold(tmp_path):
    """Two processes own a phone each. One loses the store's coordination document (it can no longer renew): it
    stops calling before its lease could lapse, and the other takes its phone only after the lease and the hold.
    Nothing is sent twice and no second holds more than the phone's limit, across both."""

    async def main():
        clock = VirtualClock()
        log: list[sandbox_log.Call] = []
        provider_a = FakeWhatsApp(clock, latency=lambda n: 0.3, log=log)
        provider_b = FakeWhatsApp(clock, latency=lambda n: 0.3, log=log)
        stores_a, windows_a = tables(tmp_path)
        stores_b, windows_b = tables(tmp_path)  # another process's handle on the same tables
        coordination = Outage(stores_a.coordination)
        stores_a = dataclasses.replace(stores_a, coordination=coordination)
        phones = {PHONES[0]: 10.0, PHONES[1]: 10.0}
        a = dispatcher(stores_a, windows_a, provider_a, phones, member="a")
        b = dispatcher(stores_b, windows_b, provider_b, phones, member="b")
        tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
        await until(lambda: len(a.owned()) == 1 and len(b.owned()) == 1, within=30)
        [a_phone] = [p for p in PHONES[:2] if f"WHATSAPP:{p}" in a.owned()]
        messages = backlog(150, PHONES[0]) + backlog(150, PHONES[1])
        await stores_b.messages.accept(messages)
        for p in PHONES[:2]:
            a.notify(Channel.WHATSAPP, p)
            b.notify(Channel.WHATSAPP, p)
        await until(lambda: len(log) >= 40, within=30)
        coordination.down = True
        down_at = clock.wall()
        lease = a.view
        await until(lambda: all_sent(stores_b, messages), within=120)
        await stop(*tasks)
        return a_phone, down_at, lease, provider_a, provider_b, log

    a_phone, down_at, lease, provider_a, provider_b, log = run(main())
    assert lease.expires_at - TIMING.ttl <= down_at  # the last renewal came before the outage
    a_starts = [s for s, _, o, _ in provider_a.calls]
    assert a_starts and max(a_starts) < lease.may_call_until()  # stopped before its lease could lapse
    assert max(e for _, e, _, _ in provider_a.calls) <= lease.expires_at  # and every call had ended by then
    b_on_a_phone = [s for s, _, o, _ in provider_b.calls if o == a_phone]
    assert b_on_a_phone and min(b_on_a_phone) >= lease.expires_at + TIMING.hold
    report = sandbox_log.report(log)
    assert report.counts == {"WHATSAPP": 300} and report.duplicate_refs == []
    assert report.max_per_phone <= 10


def test_a_call_handed_off_as_the_lease_lapses_is_not_made_and_goes_out_once_the_lease_is_back(tmp_path):
    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock)
        stores, windows = tables(tmp_path)
        coordination = Outage(stores.coordination)
        queue = MarkHook(stores.queue)
        stores = dataclasses.replace(stores, coordination=coordination, queue=queue)
        d = dispatcher(stores, windows, provider, {PHONES[0]: 10.0})
        task = asyncio.create_task(d.run())
        await until(lambda: d.heartbeats > 0, within=5)
        messages = backlog(40, PHONES[0])
        await stores.messages.accept(messages)
        d.notify(Channel.WHATSAPP, PHONES[0])
        await until(lambda: len(provider.accepted) >= 5, within=10)
        coordination.down = True  # the lease can no longer be renewed...
        queue.mark_delay = TIMING.ttl  # ...and the next marks take longer than it has left
        fence = d.view.may_call_until()
        await until(lambda: d.outcomes["retry:LeaseExpired"] > 0, within=30)
        await asyncio.sleep(5)
        during = [s for s, _, _, _ in provider.calls if s >= fence]
        coordination.down, queue.mark_delay = False, 0.0
        back = clock.wall()
        await until(lambda: all_sent(stores, messages), within=60)
        again = await stores.messages.get_many([m.id for m in messages])
        await stop(task)
        return provider, during, back, again

    provider, during, back, again = run(main())
    assert during == []  # not one call between the lapse and the renewal
    report = sandbox_log.report(provider.accepted)
    assert report.counts == {"WHATSAPP": 40} and report.duplicate_refs == []
    retried = [m for m in again if m.attempts > 1]
    assert retried and all(m.status == Status.SENT for m in again)  # held back, then sent once
    assert all(m.send_time >= back for m in retried)


def test_a_graceful_stop_finishes_calls_in_flight_and_hands_the_phones_over_after_the_hold(tmp_path):
    async def main():
        clock = VirtualClock()
        log: list[sandbox_log.Call] = []
        provider_a = FakeWhatsApp(clock, latency=lambda n: 0.4, log=log)
        provider_b = FakeWhatsApp(clock, latency=lambda n: 0.4, log=log)
        stores_a, windows_a = tables(tmp_path)
        stores_b, windows_b = tables(tmp_path)
        phones = {PHONES[0]: 10.0, PHONES[1]: 10.0}
        a = dispatcher(stores_a, windows_a, provider_a, phones, member="a")
        b = dispatcher(stores_b, windows_b, provider_b, phones, member="b")
        task_a, task_b = asyncio.create_task(a.run()), asyncio.create_task(b.run())
        await until(lambda: len(a.owned()) == 1 and len(b.owned()) == 1, within=30)
        [a_phone] = [p for p in PHONES[:2] if f"WHATSAPP:{p}" in a.owned()]
        messages = backlog(100, PHONES[0]) + backlog(100, PHONES[1])
        await stores_b.messages.accept(messages)
        for p in PHONES[:2]:
            a.notify(Channel.WHATSAPP, p)
            b.notify(Channel.WHATSAPP, p)
        await until(lambda: len(log) >= 30, within=30)
        await stop(task_a)
        left_at = clock.wall()
        after_stop = await stores_b.messages.get_many([m.id for m in messages if m.origination == a_phone])
        await until(lambda: all_sent(stores_b, messages), within=120)
        await stop(task_b)
        return a_phone, left_at, after_stop, provider_a, provider_b, log

    a_phone, left_at, after_stop, provider_a, provider_b, log = run(main())
    called = {message_id for _, _, _, message_id in provider_a.calls}  # every call the stopped process made
    assert len(after_stop) == 100 and called
    for m in after_stop:
        if m.id in called:
            assert m.status == Status.SENT  # taken by the provider: answered and recorded before the stop returned
        else:
            assert m.queued  # never handed over: still queued for whoever owns the phone next
    b_on_a_phone = [s for s, _, o, _ in provider_b.calls if o == a_phone]
    assert min(b_on_a_phone) >= left_at + TIMING.hold - 1.0  # freed at the stop (less the heartbeat's phase)
    report = sandbox_log.report(log)
    assert report.counts == {"WHATSAPP": 200} and report.duplicate_refs == [] and report.max_per_phone <= 10


# --- the hand-off -------------------------------------------------------------------------------------------


def test_messages_withdrawn_before_their_mark_are_never_called_and_give_their_pace_back(tmp_path):
    """A paused job's messages are withdrawn while their calls are being handed off: none is called, and the
    resumed job's messages go at once instead of waiting while the withdrawn ones are walked through the pace."""

    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock)
        stores, windows = tables(tmp_path)
        queue = MarkHook(stores.queue)
        stores = dataclasses.replace(stores, queue=queue)
        d = dispatcher(stores, windows, provider, {PHONES[0]: 10.0})
        task = asyncio.create_task(d.run())
        await until(lambda: d.heartbeats > 0, within=5)
        paused = backlog(300, PHONES[0], batch="job-1")
        await stores.messages.accept(paused)
        d.notify(Channel.WHATSAPP, PHONES[0], Lane.BULK)
        await until(lambda: len(provider.accepted) >= 3, within=10)

        async def withdraw(_ids):
            withdrawn.extend((await stores.messages.withdraw_batch("job-1", clock.wall())).withdrawn)

        withdrawn: list[OutboundMessage] = []
        queue.before_next_mark = withdraw
        await until(lambda: bool(withdrawn), within=5)
        resumed = backlog(3, PHONES[0], batch="job-1b", tag=1)
        await stores.messages.accept(resumed)
        d.notify(Channel.WHATSAPP, PHONES[0], Lane.BULK)
        took = await until(lambda: all_sent(stores, resumed), within=30)
        await stop(task)
        return provider, withdrawn, took

    provider, withdrawn, took = run(main())
    assert len(withdrawn) > 250
    assert not {c.ref for c in provider.accepted} & {m.callback_data for m in withdrawn}
    assert took < 1.0  # three calls at 10/s, not behind the withdrawn ones


def test_a_hand_off_mark_that_fails_leaves_the_messages_queued_and_they_go_once(tmp_path):
    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock)
        stores, windows = tables(tmp_path)
        queue = MarkHook(stores.queue)
        stores = dataclasses.replace(stores, queue=queue)

        async def fail(_ids):
            raise OSError("disk I/O error (test)")

        queue.before_next_mark = fail
        d = dispatcher(stores, windows, provider, {PHONES[0]: 10.0})
        messages = backlog(20, PHONES[0])
        await stores.messages.accept(messages)
        task = asyncio.create_task(d.run())
        await until(lambda: all_sent(stores, messages), within=30)
        final = await stores.messages.get_many([m.id for m in messages])
        await stop(task)
        return provider, final

    provider, final = run(main())
    report = sandbox_log.report(provider.accepted)
    assert report.counts == {"WHATSAPP": 20} and report.duplicate_refs == []
    assert all(m.attempts == 1 for m in final)  # a failed mark is no attempt: nothing was marked


# --- a call that hangs past its deadline --------------------------------------------------------------------


def test_a_call_that_hangs_past_its_deadline_is_in_doubt_then_unknown_never_sent_again(tmp_path):
    """The provider takes the message but never answers: the call's total deadline (call_timeout, which the lease
    arithmetic assumes) ends it, the message is in doubt, holds its place in the window while the call lasts, is
    reported UNKNOWN after reconcile_seconds and is never sent again; the phone's other messages go on meanwhile.
    A status event that comes later still applies."""

    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock, latency=lambda n: 0.1)
        stores, windows = tables(tmp_path)
        d = dispatcher(stores, windows, provider, {PHONES[0]: 2.0}, reconcile_seconds=4.0)
        messages = backlog(12, PHONES[0])
        hung = messages[1]
        provider.hang.add(hung.id)
        await stores.messages.accept(messages)
        task = asyncio.create_task(d.run())
        await until(lambda: all_sent(stores, [m for m in messages if m is not hung]), within=60)
        await until(lambda: has_status(stores, hung, Status.UNKNOWN), within=30)
        doubted = await stores.messages.get(hung.id)
        await asyncio.sleep(10)  # long after: still not sent again
        late = StatusEvent(f"wamid.{hung.id}", Status.DELIVERED, clock.wall(), hung.callback_data)
        applied = await stores.messages.apply_status(late)
        await stop(task)
        return provider, doubted, applied, hung

    provider, doubted, applied, hung = run(main())
    assert doubted.error.code == "OUTCOME_UNKNOWN" and doubted.attempts == 1
    assert [m for _, _, _, m in provider.calls].count(hung.id) == 1
    [(start, end)] = [(s, e) for s, e, _, m in provider.calls if m == hung.id]
    assert end - start == TIMING.call_timeout  # ended by the deadline, and held its place all that time
    report = sandbox_log.report(provider.accepted)
    assert report.counts == {"WHATSAPP": 12} and report.duplicate_refs == [] and report.max_per_phone <= 2
    assert applied.changed and applied.message.status == Status.DELIVERED  # reconciled by the late event


# --- fences on every path ----------------------------------------------------------------------------------


def test_no_call_is_made_after_the_lease_lapsed_during_a_wait_for_a_media_id(tmp_path):
    """The fence is looked at again after every wait: a media message whose media registration outlasts what is
    left of the lease (the store unreachable meanwhile) is not called; it goes out once the lease is back."""

    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock)
        stores, windows = tables(tmp_path)
        coordination = Outage(stores.coordination)
        stores = dataclasses.replace(stores, coordination=coordination)
        d = dispatcher(stores, windows, provider, {PHONES[0]: 10.0})
        task = asyncio.create_task(d.run())
        await until(lambda: d.heartbeats > 0, within=5)
        coordination.down = True  # the lease can no longer be renewed...
        provider.media_latency = TIMING.ttl  # ...and the media id takes longer than it has left
        fence = d.view.may_call_until()
        [m] = backlog(1, PHONES[0])
        m = m.replace(content={"media": {"kind": "image", "media_key": "whatsapp-media/whatsapp-media-outgoing/a.jpg"}})
        await stores.messages.accept([m])
        d.notify(Channel.WHATSAPP, PHONES[0])
        await until(lambda: d.outcomes["retry:LeaseExpired"] > 0, within=30)
        during = [s for s, _, _, _ in provider.calls if s >= fence]
        coordination.down, provider.media_latency = False, 0.05
        back = clock.wall()
        await until(lambda: all_sent(stores, [m]), within=60)
        sent = await stores.messages.get(m.id)
        await stop(task)
        return provider, during, back, sent

    provider, during, back, sent = run(main())
    assert during == []  # not one call after the lease could lapse
    assert [c.ref for c in provider.accepted] == [sent.callback_data] and sent.send_time >= back


def test_a_group_whose_marks_partly_failed_strands_nothing(tmp_path):
    """A hand-off group's writes fail part way (DynamoDB writes each mark on its own): the marked ones are not left
    handed off but never called (reconciled as a false `unknown`); every message is sent, once."""

    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock)
        stores, windows = tables(tmp_path)
        queue = MarkHook(stores.queue)
        queue.fail_after_marking = 3
        stores = dataclasses.replace(stores, queue=queue)
        d = dispatcher(stores, windows, provider, {PHONES[0]: 10.0}, reconcile_seconds=2.0)
        messages = backlog(20, PHONES[0])
        await stores.messages.accept(messages)
        task = asyncio.create_task(d.run())
        await until(lambda: all_sent(stores, messages), within=30)
        await asyncio.sleep(5)  # past the reconcile window: nothing is in doubt
        final = await stores.messages.get_many([m.id for m in messages])
        await stop(task)
        return provider, final

    provider, final = run(main())
    report = sandbox_log.report(provider.accepted)
    assert report.counts == {"WHATSAPP": 20} and report.duplicate_refs == []
    assert {m.status for m in final} == {Status.SENT}


def test_a_rolling_restart_during_a_hand_off_strands_nothing(tmp_path):
    """A process is stopped while a group of marks is being written (the write lands after the stop began): what
    it marked is put back in the queue, and the next owner sends it; nothing ends unknown, nothing twice."""

    async def main():
        clock = VirtualClock()
        log: list[sandbox_log.Call] = []
        provider_a = FakeWhatsApp(clock, log=log)
        provider_b = FakeWhatsApp(clock, log=log)
        stores_a, windows_a = tables(tmp_path)
        stores_b, windows_b = tables(tmp_path)
        queue_a = MarkHook(stores_a.queue)
        stores_a = dataclasses.replace(stores_a, queue=queue_a)
        phones = {PHONES[0]: 10.0}
        a = dispatcher(stores_a, windows_a, provider_a, phones, member="a", reconcile_seconds=2.0)
        task_a = asyncio.create_task(a.run())
        await until(lambda: len(a.owned()) == 1, within=10)
        messages = backlog(60, PHONES[0])
        await stores_a.messages.accept(messages)
        a.notify(Channel.WHATSAPP, PHONES[0])
        await until(lambda: len(log) >= 10, within=30)
        queue_a.mark_delay = 0.5
        marking = asyncio.Event()
        queue_a.before_next_mark = lambda ids: _set(marking)
        await until(marking.is_set, within=10)
        await asyncio.sleep(0.1)  # the group's write is under way
        await stop(task_a)
        b = dispatcher(stores_b, windows_b, provider_b, phones, member="b", reconcile_seconds=2.0)
        task_b = asyncio.create_task(b.run())
        await until(lambda: all_sent(stores_b, messages), within=60)
        await asyncio.sleep(5)
        final = await stores_b.messages.get_many([m.id for m in messages])
        await stop(task_b)
        return log, final

    log, final = run(main())
    report = sandbox_log.report(log)
    assert report.counts == {"WHATSAPP": 60} and report.duplicate_refs == []
    assert {m.status for m in final} == {Status.SENT}


async def _set(event: asyncio.Event) -> None:
    event.set()
