"""The benchmark's CPU accounting on real processes (a small send through sandbox, contacts and messaging, status
events on, then the floors against the same sandbox): every process is accounted, the floors make exactly their
calls, and none of theirs is counted as the send's. Figures are not asserted: the benchmark reports them."""

from __future__ import annotations

import pytest

from bench.cpu_floors import KINDS, measure_floors
from localrun.sandbox import log as sandbox_log
from tests.messaging.scenarios import run_dispatch

pytestmark = pytest.mark.process


def test_cpu_per_send_and_the_floors(tmp_path):
    outcome = run_dispatch(
        tmp_path,
        name="cpu",
        messages=300,
        phones=2,
        process_count=1,
        phone_rate=1000.0,
        account_rate=100_000.0,
        sandbox_config={"statuses": ["sent", "delivered", "read"]},
        measure_cpu=True,
        after=lambda ps: measure_floors(ps, calls=50, concurrency=4, warmup=10),
    )
    assert outcome.totals.sent == 300 and len(outcome.calls) == 300  # the floors' calls are not the send's
    cpu = outcome.cpu
    assert set(cpu.cpu) == {"client", "sandbox", "contacts", "messaging"}
    assert cpu.cpu["messaging"] > 0 and cpu.cpu["sandbox"] > 0  # each did real work in the window
    assert cpu.seconds >= outcome.elapsed  # the window runs on past the stream, until the events are ingested
    assert set(outcome.idle.cpu) == set(cpu.cpu)
    floors = outcome.after
    assert [f.kind for f in floors] == list(KINDS)
    assert all(f.calls == 50 and f.client_cpu_s > 0 and f.wall_s > 0 for f in floors)
    assert floors[0].body_bytes > 0  # the aiohttp floor posts the body the SDK sent
    every = [c for c in sandbox_log.read(outcome.log_path.with_name("sandbox-sent.jsonl")) if c.channel == "WHATSAPP"]
    assert len(every) == 300 + len(KINDS) * (50 + 10) + 1  # the send, each floor's calls, one SDK call to copy
