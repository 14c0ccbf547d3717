"""Planning a WhatsApp campaign against the messaging tier (bulk.domain.tier_plan): the budget now, and the finish
when the job must wait for the rolling window, its own sends leaving the window one window after they went."""

from __future__ import annotations

import math

import pytest

from services.bulk.domain.tier_plan import Tier, plan
from services.messaging.domain import tier as ledger

NOW = 1_000.0


def test_unlimited_or_within_the_budget_is_the_rate_alone():
    p = plan(500, 50.0, Tier(-1, (), 86_400, 900), NOW)
    assert (p.budget, p.finish, p.waits) == (500, NOW + 10, 0)
    p = plan(500, 50.0, Tier(800, (), 86_400, 900), NOW)
    assert (p.budget, p.finish, p.waits) == (500, NOW + 10, 0)


def test_a_campaign_over_the_tier_waits_for_its_own_sends_to_leave_the_window():
    # 5,000 recipients, a tier of 2,000 less a reserve of 200, nothing counted yet; a compressed day of 960 s.
    window, lag = 960.0, 10.0
    p = plan(5_000, 100.0, Tier(1_800, (), window, lag), NOW)
    assert p.budget == 1_800 and p.waits == 2
    # 1,800 in 18 s; they free at NOW + window + lag: 1,800 more in 18 s; again; then the last 1,400 in 14 s.
    assert p.finish == pytest.approx(NOW + 2 * (window + lag) + 14.0)


def test_releases_already_due_are_used_in_order():
    p = plan(300, 100.0, Tier(100, ((NOW + 50, 150), (NOW + 20, 100)), 960, 10), NOW)
    # 100 now (1 s), wait to NOW+20 for 100 (1 s), to NOW+50 for the last 100 (1 s).
    assert (p.budget, p.waits) == (100, 2) and p.finish == pytest.approx(NOW + 51)


def test_a_tier_that_never_frees_never_finishes():
    assert math.isinf(plan(10, 100.0, Tier(0, (), 960, 10), NOW).finish)


def _ledger_finish(recipients: int, rate: float, lim: ledger.Limits, window: float, now: float) -> float:
    """When messaging's own ledger lets the campaign's last recipient go: one place claimed a send at the rate, and
    with none left the next send waits for the window's next release."""
    doc: dict = {}
    t, left, last = now, recipients, now
    while left:
        doc, got = ledger.claim(doc, t, window, 1, lim, marketing=True)
        if got:
            left, last, t = left - 1, t, t + 1 / rate
        else:
            t = max(t, ledger.next_release(doc, t, window))
    return last


@pytest.mark.parametrize("into_the_bucket", [0.0, 0.37, 0.99])
def test_the_plan_never_finishes_before_the_ledger_lets_the_campaign_and_at_most_a_bucket_a_wait_after(
    into_the_bucket,
):
    """The process test's campaign (500 recipients, a tier of 200 less 20, 160 a second, Meta's day in 30 s) against
    messaging's ledger, started anywhere in a counting bucket. With the lag messaging reports (the rest of the
    bucket and the admission's grace) the plan is never early and late by at most a bucket a wait; with the bucket
    alone (what GetMessagingTier gave before) it was early by the grace at every wait."""
    window = 30.0
    width = ledger.width(window)
    now = 1_000 * width + into_the_bucket * width
    lim = ledger.Limits(limit=200, reserve=20, source="setting")
    actual = _ledger_finish(500, 160.0, lim, window, now)

    p = plan(500, 160.0, Tier(180, (), window, ledger.lag(window)), now)
    assert p.waits == 2
    assert actual <= p.finish <= actual + p.waits * width + 1e-6, (p.finish - now, actual - now)

    early = plan(500, 160.0, Tier(180, (), window, width), now)
    assert early.finish < actual - ledger.ADMISSION_GRACE
