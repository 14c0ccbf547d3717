"""Per-sender state out of the coordination document, and a send share that follows demand, on virtual time (see
test_dispatch_virtual_time). A storm of 130429 and 131048 signals, noted by other processes as fast as status
events come, on a store whose every request takes a few milliseconds, never contends with the heartbeats: the
leases are renewed every second, no call is refused for a lapsing lease, and the owner acts on the marks
(before, each mark was a compare-and-swap of the one document: the heartbeats lost their races, failed, and the
fence closed every process's calls). A lone busy phone gets the whole account limit across processes."""

from __future__ import annotations

import asyncio
import dataclasses
import random

from localrun.sandbox import log as sandbox_log
from services.messaging.dispatch.leases import SenderMarks
from services.messaging.domain.model import Channel
from tests.messaging.test_dispatch_virtual_time import (
    PHONES,
    TIMING,
    FakeWhatsApp,
    all_sent,
    backlog,
    dispatcher,
    stop,
    tables,
)
from tests.support.virtual_time import VirtualClock, run, until


class Slow:
    """A store part whose every request takes `delay` seconds (a store across the network)."""

    def __init__(self, inner, delay: float):
        self._inner = inner
        self._delay = delay

    def __getattr__(self, name: str):
        inner = getattr(self._inner, name)

        async def call(*args, **kwargs):
            await asyncio.sleep(self._delay / 2)
            result = await inner(*args, **kwargs)
            await asyncio.sleep(self._delay / 2)
            return result

        return call


def test_a_storm_of_slow_down_signals_never_fences_the_senders(tmp_path):
    async def main():
        clock = VirtualClock()
        provider = FakeWhatsApp(clock, latency=lambda n: 0.05)
        stores, windows = tables(tmp_path)
        stores = dataclasses.replace(stores, coordination=Slow(stores.coordination, 0.004))
        d = dispatcher(stores, windows, provider, {PHONES[0]: 20.0, PHONES[1]: 20.0})
        task = asyncio.create_task(d.run())
        await until(lambda: len(d.owned()) == 2, within=30)
        messages = backlog(200, PHONES[0]) + backlog(200, PHONES[1])
        await stores.messages.accept(messages)
        marks = SenderMarks(stores.coordination, clock, random.Random(1))
        storming = True

        async def storm(phone: str) -> None:  # ingest in other processes, a status event every 2 ms
            while storming:
                await marks.slowed(f"WHATSAPP:{phone}", clock.wall())
                await asyncio.sleep(0.002)

        storms = [asyncio.create_task(storm(p)) for p in PHONES[:2] for _ in range(4)]
        beats = d.heartbeats
        started = clock.monotonic()
        await until(lambda: all_sent(stores, messages), within=300)
        took = clock.monotonic() - started
        storming = False
        await asyncio.gather(*storms)
        pause_at = clock.wall()
        await marks.pause(f"WHATSAPP:{PHONES[0]}", pause_at + 600)
        await until(
            lambda: _true(d.paused_until(Channel.WHATSAPP, PHONES[0]) > pause_at), within=5
        )  # the owner acts on it
        heartbeats = d.heartbeats - beats
        await stop(task)
        return d.outcomes, heartbeats, took

    outcomes, heartbeats, took = run(main())
    assert outcomes["retry:LeaseExpired"] == 0, outcomes  # no call refused for a lease about to lapse
    assert heartbeats >= int(took) - 1  # renewed about every second throughout the storm
    assert outcomes["sent:"] == 400


async def _true(value: bool) -> bool:
    return value


def test_a_lone_busy_phone_gets_the_whole_account_limit_across_processes(tmp_path):
    """Two processes own a 20/s phone each under a 20/s account limit; only one phone has work (240 messages).
    Its owner's send share grows to the whole account once the idle owner's part is no longer committed (a hold
    after its next heartbeat): the backlog goes at about 20/s, not 10/s (before: shares followed the owned phones'
    limits, half each, busy or not). No second ever holds more than the account limit across both."""

    async def main():
        clock = VirtualClock()
        log: list = []
        provider_a = FakeWhatsApp(clock, latency=lambda n: 0.05, log=log)
        provider_b = FakeWhatsApp(clock, latency=lambda n: 0.05, log=log)
        stores_a, windows_a = tables(tmp_path)
        stores_b, windows_b = tables(tmp_path)
        phones = {PHONES[0]: 20.0, PHONES[1]: 20.0}
        a = dispatcher(stores_a, windows_a, provider_a, phones, member="a", account_rate=20.0)
        b = dispatcher(stores_b, windows_b, provider_b, phones, member="b", account_rate=20.0)
        tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
        await until(lambda: len(a.owned()) == 1 and len(b.owned()) == 1, within=30)
        await clock.sleep(5)  # both idle: half the account each
        busy_phone = PHONES[0]
        messages = backlog(240, busy_phone)
        await stores_a.messages.accept(messages)
        for d in (a, b):
            d.notify(Channel.WHATSAPP, busy_phone)
        took = await until(lambda: all_sent(stores_a, messages), within=120)
        await stop(*tasks)
        return took, log

    took, log = run(main())
    report = sandbox_log.report(log)
    assert report.counts == {"WHATSAPP": 240} and report.duplicate_refs == []
    assert report.account <= 20
    # 240 at 20/s is 12 s; the share moves within a hold and two heartbeats (at 10/s it took 24 s).
    assert took <= 240 / 20 + TIMING.hold + 2 + 1, took
