"""The dispatcher's limits, judged from outside: real processes (sandbox, contacts, one or three messaging
processes on one embedded store), a streamed send of many WhatsApp messages, and the sandbox log read back.
No sliding one-second window may hold more than 80 calls of one phone or 1,000 of the account, and the
sustained rate must clear a loose floor (the benchmark measures the real ratio; this machine is shared)."""

from __future__ import annotations

import pytest

from tests.messaging.scenarios import run_dispatch

pytestmark = pytest.mark.process


@pytest.mark.parametrize(
    ("messages", "phones", "process_count", "floor"),
    [
        (2000, 2, 1, 0.9),
        (2000, 2, 3, 0.9),
        (20_000, 13, 1, 0.5),
        (20_000, 13, 3, 0.5),
    ],
    ids=["2phones-1proc", "2phones-3procs", "13phones-1proc", "13phones-3procs"],
)
def test_no_window_over_the_limits(tmp_path, messages, phones, process_count, floor):
    outcome = run_dispatch(
        tmp_path, name=f"{phones}x{process_count}", messages=messages, phones=phones, process_count=process_count
    )
    print(outcome.summary())
    assert outcome.totals.accepted == messages and outcome.totals.sent == messages
    assert len(outcome.calls) == messages  # each accepted message reached the provider exactly once
    assert outcome.report.violations(phone_limit=80, account_limit=1000) == []
    assert outcome.report.max_per_phone <= 80 and outcome.report.account <= 1000
    assert len(outcome.report.per_phone) == phones
    assert outcome.ratio >= floor, outcome.summary()
