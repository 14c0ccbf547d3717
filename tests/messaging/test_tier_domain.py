"""The messaging tier's ledger (domain.tier): places claimed per bucket within the cap, the reserve kept for
utility and authentication, buckets leaving the window whole, places given back, and the limit and phone quality
moved forward by Meta's events only."""

from __future__ import annotations

from services.messaging.domain import tier

WINDOW = 960.0  # a compressed day: buckets of 10 s
LIM = tier.Limits(limit=100, reserve=10, source="setting")


def test_claims_stop_at_the_cap_marketing_below_the_reserve():
    doc, got = tier.claim({}, 5.0, WINDOW, 60, LIM, marketing=True)
    assert got == 60 and tier.used(doc, 5.0, WINDOW) == 60
    doc, got = tier.claim(doc, 15.0, WINDOW, 60, LIM, marketing=True)
    assert got == 30  # 90 = the limit less the reserve
    doc, got = tier.claim(doc, 16.0, WINDOW, 5, LIM, marketing=True)
    assert got == 0
    doc, got = tier.claim(doc, 17.0, WINDOW, 20, LIM, marketing=False)
    assert got == 10  # utility takes the reserve
    assert tier.available(doc, 18.0, WINDOW, LIM, marketing=False) == 0
    assert doc["buckets"] == {"0": 60, "1": 40}


def test_a_bucket_leaves_the_window_whole_at_its_end_plus_the_window():
    g = tier.ADMISSION_GRACE  # a call may start that long after its admission (dispatch.tier.AdmissionAge)
    doc, _ = tier.claim({}, 5.0, WINDOW, 60, LIM, marketing=True)
    doc, _ = tier.claim(doc, 15.0, WINDOW, 30, LIM, marketing=True)
    assert tier.releases(doc, 20.0, WINDOW) == [(10.0 + WINDOW + g, 60), (20.0 + WINDOW + g, 30)]
    assert tier.next_release(doc, 20.0, WINDOW) == 10.0 + WINDOW + g
    assert tier.used(doc, 10.0 + WINDOW + g - 0.001, WINDOW) == 90
    assert tier.used(doc, 10.0 + WINDOW + g, WINDOW) == 30  # the first bucket left, never earlier
    later, got = tier.claim(doc, 10.0 + WINDOW + g, WINDOW, 100, LIM, marketing=True)
    assert got == 60 and "0" not in later["buckets"]


def test_places_not_used_are_given_back_to_their_bucket():
    doc, _ = tier.claim({}, 5.0, WINDOW, 50, LIM, marketing=True)
    doc = tier.give_back(doc, tier.bucket_of(5.0, WINDOW), 20)
    assert tier.used(doc, 6.0, WINDOW) == 30
    assert tier.give_back(doc, 0, 99)["buckets"] == {}


def test_unlimited_grants_everything_and_the_limit_comes_from_events():
    unlimited = tier.limits({}, 0, 0.1)
    assert unlimited.unlimited and tier.claim({}, 1.0, WINDOW, 10**6, unlimited, True)[1] == 10**6
    assert tier.limits({}, 2000, 0.1) == tier.Limits(2000, 200, "setting")
    doc = tier.set_limit({}, 10_000, at=50.0)
    assert tier.limits(doc, 2000, 0.1) == tier.Limits(10_000, 1000, "event")
    assert tier.set_limit(doc, 250, at=40.0) is None  # older than what the ledger holds
    assert tier.set_limit(doc, 10_000, at=60.0) is None  # no change
    assert tier.limits(tier.set_limit(doc, 0, at=60.0), 2000, 0.1).unlimited


def test_phone_quality_moves_forward():
    doc = tier.set_quality({}, "p1", "RED", at=10.0)
    assert tier.qualities(doc) == {"p1": ("RED", 10.0)}
    assert tier.set_quality(doc, "p1", "GREEN", at=5.0) is None
    assert tier.qualities(tier.set_quality(doc, "p1", "GREEN", at=11.0)) == {"p1": ("GREEN", 11.0)}
