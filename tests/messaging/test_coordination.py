"""domain.coordination: several members heartbeating on one document (joins, graceful leaves, crashes) never
let two owners of a sender call within one window of each other, and never hold more than the whole account
budget between them in any window. A member's calls may complete up to call_timeout after they start, and
count for one window after that, so that is what the checks allow for."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from services.messaging.domain import coordination
from services.messaging.domain.coordination import SEND, Timing, View

TIMING = Timing()
PHONES = {f"WHATSAPP:phone-{i:02d}": 80.0 for i in range(13)}


@dataclass
class Member:
    name: str
    offset: float  # heartbeat phase
    views: list[tuple[float, View]] = field(default_factory=list)
    alive_until: float = float("inf")  # crash (kill -9) time
    leaves_at: float = float("inf")  # graceful stop

    def calling(self, sender: str, t: float) -> bool:
        """Whether this member may start a call for `sender` at t, per its latest view before t."""
        view = self._view(t)
        if view is None or t >= view.may_call_until() or t >= min(self.alive_until, self.leaves_at):
            return False
        sv = view.senders.get(sender)
        return sv is not None and t >= sv.start_at

    def share(self, t: float) -> float:
        view = self._view(t)
        if view is None or t >= view.may_call_until() or t >= min(self.alive_until, self.leaves_at):
            return 0.0
        return view.shares.get(SEND, 0.0)

    def _view(self, t: float) -> View | None:
        latest = None
        for at, view in self.views:
            if at <= t:
                latest = view
        return latest


def run(members: list[Member], until: float, senders=PHONES) -> dict:
    doc: dict = {}
    events = []
    for m in members:
        t = m.offset
        while t < until:
            events.append((t, m.name))
            t += 1.0
    by_name = {m.name: m for m in members}
    for t, name in sorted(events):
        m = by_name[name]
        if t >= m.alive_until:
            continue
        if t >= m.leaves_at:
            if not getattr(m, "left", False):
                doc = coordination.leave(doc, m.name, t, TIMING)
                m.left = True  # type: ignore[attr-defined]
            continue
        doc, view = coordination.heartbeat(doc, m.name, t, senders, TIMING)
        m.views.append((t, view))
    return doc


def check(members: list[Member], until: float, senders=PHONES, step: float = 0.05) -> None:
    span = TIMING.call_timeout + TIMING.window  # how long a call started at t can weigh on windows
    times = [i * step for i in range(int(until / step))]
    for sender in senders:
        last_caller, last_call = None, -1e9
        for t in times:
            callers = [m.name for m in members if m.calling(sender, t)]
            assert len(callers) <= 1, f"{sender} has two callers at {t}: {callers}"
            if callers:
                if last_caller is not None and callers[0] != last_caller:
                    assert t - last_call >= span - step, f"{sender}: {last_caller} -> {callers[0]} too close at {t}"
                last_caller, last_call = callers[0], t
    for t in times:
        # Every member's largest share over the last call_timeout + window counts at t.
        held = sum(max(m.share(t - d * step) for d in range(int(span / step) + 1)) for m in members)
        assert held <= 1.0 + 1e-9, f"shares sum to {held} at {t}"


def test_one_member_owns_everything():
    m = Member("a", 0.0)
    run([m], 5.0)
    view = m.views[-1][1]
    assert set(view.senders) == set(PHONES) and view.shares == {"send": 1.0, "media_post": 1.0, "media_get": 1.0}


def test_members_joining_split_senders_and_budget_safely():
    a, b, c = Member("a", 0.0), Member("b", 0.37), Member("c", 0.71)
    b.views = []
    members = [a, b, c]
    # b and c join later: emulate by starting their heartbeats late.
    b.offset, c.offset = 10.37, 20.71
    run(members, 60.0)
    check(members, 60.0)
    final = {m.name: m.views[-1][1] for m in members}
    assert sorted(len(v.senders) for v in final.values()) == [4, 4, 5]
    owned = [s for v in final.values() for s in v.senders]
    assert sorted(owned) == sorted(PHONES)  # each phone exactly once
    shares = {name: v.shares[SEND] for name, v in final.items()}
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
    for name, v in final.items():  # the send share follows the phones owned
        assert shares[name] == pytest.approx(len(v.senders) / 13, abs=1e-6)


def test_a_crashed_member_is_replaced_only_after_its_lease_and_a_hold():
    a, b = Member("a", 0.0), Member("b", 0.5)
    a.alive_until = 20.2  # kill -9
    run([a, b], 45.0)
    check([a, b], 45.0)
    final = b.views[-1][1]
    assert set(final.senders) == set(PHONES) and final.shares[SEND] == pytest.approx(1.0)
    held_by_a = set(a.views[-1][1].senders)
    assert held_by_a  # a held its part when it died
    a_expiry = a.views[-1][1].expires_at
    for key in held_by_a:
        assert final.senders[key].start_at >= a_expiry + TIMING.hold


def test_graceful_leave_hands_over_after_a_hold():
    a, b = Member("a", 0.0), Member("b", 0.5)
    a.leaves_at = 15.0
    run([a, b], 30.0)
    check([a, b], 30.0)
    assert set(b.views[-1][1].senders) == set(PHONES)


@pytest.mark.parametrize("seed", range(6))
def test_random_membership_changes_keep_both_invariants(seed):
    rng = random.Random(seed)
    members = []
    for i in range(4):
        m = Member(f"m{i}", rng.uniform(0, 30) + rng.random())
        if rng.random() < 0.4:
            m.alive_until = m.offset + rng.uniform(3, 30)
        elif rng.random() < 0.4:
            m.leaves_at = m.offset + rng.uniform(3, 30)
        members.append(m)
    members.sort(key=lambda m: m.offset)
    run(members, 70.0)
    check(members, 70.0)


def test_pause_and_rate_limit_marks_reach_the_owner():
    doc, _ = coordination.heartbeat({}, "a", 0.0, PHONES, TIMING)
    doc = coordination.pause_sender(doc, "WHATSAPP:phone-03", 900.0)
    doc = coordination.note_rate_limited(doc, "WHATSAPP:phone-04", 1.5)
    _, view = coordination.heartbeat(doc, "a", 1.0, PHONES, TIMING)
    assert view.senders["WHATSAPP:phone-03"].paused_until == 900.0
    assert view.senders["WHATSAPP:phone-04"].slow_seen == 1.5


def test_marks_kept_beside_the_document_reach_the_owner_and_the_later_one_wins():
    doc, _ = coordination.heartbeat({}, "a", 0.0, PHONES, TIMING)
    doc = coordination.pause_sender(doc, "WHATSAPP:phone-03", 900.0)  # as an older process wrote it
    marks = {"WHATSAPP:phone-03": {"paused_until": 600.0}, "WHATSAPP:phone-04": {"slow_seen": 1.5}}
    new_doc, view = coordination.heartbeat(doc, "a", 1.0, PHONES, TIMING, marks)
    assert view.senders["WHATSAPP:phone-03"].paused_until == 900.0
    assert view.senders["WHATSAPP:phone-04"].slow_seen == 1.5
    assert new_doc["senders"]["WHATSAPP:phone-04"]["slow_seen"] == 0.0  # the marks are not copied into it


def test_the_send_share_follows_demand_and_stays_safe_as_it_moves():
    """Two members, 13 phones: while only a phone of a's has work, a's send share grows to the whole account
    limit once b's part is no longer committed (a hold after b gave it up); when b's phones get work too, the
    shares move back by the owned busy phones' limits. The shares never sum above one in any window."""
    a, b = Member("a", 0.0), Member("b", 0.5)
    doc: dict = {}
    for i in range(40):
        for m in (a, b):
            t = i + m.offset
            owned = [k for k, e in doc.get("senders", {}).items() if e["owner"] == m.name]
            if m is a:
                busy = owned[:1]
            else:
                busy = owned if t >= 20 else []
            doc, view = coordination.heartbeat(doc, m.name, t, PHONES, TIMING, busy=busy)
            m.views.append((t, view))
    assert a.share(19.9) == 1.0 and b.share(19.9) == 0.0  # a lone busy phone: the whole account limit
    # b busy from 20: a's share comes down at once, b's goes up once a's old part is no longer committed.
    assert b.share(20 + TIMING.hold + 2.5) == pytest.approx(6 / 7, abs=1e-6)
    assert a.share(39.9) == pytest.approx(1 / 7, abs=1e-6)
    check([a, b], 40.0)
    # Nobody busy: the owned phones' limits, as before (a owns 7 of the 13, b 6).
    for i in range(40, 50):
        for m in (a, b):
            doc, view = coordination.heartbeat(doc, m.name, i + m.offset, PHONES, TIMING, busy=[])
            m.views.append((i + m.offset, view))
    assert a.share(49.9) == pytest.approx(7 / 13, abs=1e-6) and b.share(49.9) == pytest.approx(6 / 13, abs=1e-6)
    check([a, b], 50.0)
