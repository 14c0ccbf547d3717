"""Planning a WhatsApp campaign against the messaging tier (bulk.domain.tier_plan): the budget now, and the finish
when the job must wait for the rolling window, its own sends leaving the window one window after they went."""

from __future__ import annotations

import math

import pytest

from services.bulk.domain.tier_plan import Tier, plan

NOW = 1_000.0


def test_unlimited_or_within_the_budget_is_the_rate_alone():
    p = plan(500, 50.0, Tier(-1, (), 86_400, 900), NOW)
    assert (p.budget, p.finish, p.waits) == (500, NOW + 10, 0)
    p = plan(500, 50.0, Tier(800, (), 86_400, 900), NOW)
    assert (p.budget, p.finish, p.waits) == (500, NOW + 10, 0)


def test_a_campaign_over_the_tier_waits_for_its_own_sends_to_leave_the_window():
    # 5,000 recipients, a tier of 2,000 less a reserve of 200, nothing counted yet; a compressed day of 960 s.
    window, bucket = 960.0, 10.0
    p = plan(5_000, 100.0, Tier(1_800, (), window, bucket), NOW)
    assert p.budget == 1_800 and p.waits == 2
    # 1,800 in 18 s; they free at NOW + window + bucket: 1,800 more in 18 s; again; then the last 1,400 in 14 s.
    assert p.finish == pytest.approx(NOW + 2 * (window + bucket) + 14.0)


def test_releases_already_due_are_used_in_order():
    p = plan(300, 100.0, Tier(100, ((NOW + 50, 150), (NOW + 20, 100)), 960, 10), NOW)
    # 100 now (1 s), wait to NOW+20 for 100 (1 s), to NOW+50 for the last 100 (1 s).
    assert (p.budget, p.waits) == (100, 2) and p.finish == pytest.approx(NOW + 51)


def test_a_tier_that_never_frees_never_finishes():
    assert math.isinf(plan(10, 100.0, Tier(0, (), 960, 10), NOW).finish)
