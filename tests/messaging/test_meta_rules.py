"""Meta's rules at the call and the account events behind them: EUM Social's account fields read into events
(template status and category, the tier, phone quality; 131049 as LIMITED), applied forward only to the template
lifecycle and the tier's ledger; the tier admitted exactly across two processes sharing one store (never past the
limit less the reserve for marketing, the reserve kept for utility, the rest deferred to the window's next
release); and the group check's verdicts (a paused template defers, a disabled one fails, marketing from a phone at
the lowest quality fails, the frequency cap, a 131049 re-attempt to someone who opted out meanwhile fails)."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from services.messaging.adapters import sqlite_store
from services.messaging.adapters.consent import Recipient
from services.messaging.dispatch.batch_checks import GroupChecks
from services.messaging.dispatch.clock import SystemClock
from services.messaging.dispatch.holds import HoldsCheck
from services.messaging.dispatch.meta_checks import CapRule, MetaChecks
from services.messaging.dispatch.tier import TierBudget
from services.messaging.domain import holds, meta_events, tier
from services.messaging.domain.inbound import parse_event
from services.messaging.domain.meta_events import QualityEvent, TemplateEvent, TierEvent
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage, Status, Template
from services.messaging.inbound.account import AccountEvents
from tests.support.sns import PHONE_ID, load

NOW = 1_795_619_000.0
WINDOW = 960.0  # a compressed day: buckets of 10 s
ids = (f"ID{n:024d}" for n in itertools.count())


def account_event(field: str, value: dict, *, phones: bool = True) -> str:
    """The status-failed fixture's notification with one change of an account field (WABA-wide: no phones)."""
    event = json.loads(load("status-failed")["Message"])
    entry = json.loads(event["whatsAppWebhookEntry"])
    entry["changes"] = [{"field": field, "value": value}]
    entry["time"] = NOW - 5
    event["whatsAppWebhookEntry"] = json.dumps(entry)
    if not phones:
        del event["context"]["MetaPhoneNumberIds"]
    return json.dumps(event)


def test_account_fields_are_read_into_events():
    rejected = parse_event(
        account_event(
            meta_events.TEMPLATE_STATUS,
            {
                "event": "REJECTED",
                "message_template_id": 1689556908129832,
                "message_template_name": "spring_sale",
                "message_template_language": "en-US",
                "reason": "INVALID_FORMAT",
                "rejection_info": {"reason": "variables at the start", "recommendation": "add text first"},
            },
            phones=False,
        ),
        lambda: next(ids),
        NOW,
    )
    [e] = rejected.account
    assert e == TemplateEvent(
        "waba-7d2e91c04b5a4f3e9c81a6d05b2f4e73",
        "1689556908129832",
        "spring_sale",
        "en_US",
        NOW - 5,
        event="REJECTED",
        reason="INVALID_FORMAT: variables at the start",
    )
    moved = parse_event(
        account_event(
            meta_events.TEMPLATE_CATEGORY,
            {
                "message_template_id": 1,
                "message_template_name": "x",
                "message_template_language": "en_US",
                "previous_category": "UTILITY",
                "new_category": "MARKETING",
            },
            phones=False,
        ),
        lambda: next(ids),
        NOW,
    ).account
    assert (moved[0].previous_category, moved[0].new_category) == ("UTILITY", "MARKETING")
    quality = parse_event(
        account_event(
            meta_events.PHONE_QUALITY,
            {"display_phone_number": "919330994400", "event": "FLAGGED", "current_limit": "TIER_2K"},
        ),
        lambda: next(ids),
        NOW,
    ).account
    assert quality == [TierEvent(2000, NOW - 5), QualityEvent(PHONE_ID, "FLAGGED", "RED", NOW - 5)]
    capability = parse_event(
        account_event(meta_events.CAPABILITY, {"max_daily_conversation_per_phone": -1}, phones=False),
        lambda: next(ids),
        NOW,
    ).account
    assert capability == [TierEvent(meta_events.UNLIMITED, NOW - 5)]


def test_131049_is_limited_not_failed():
    def limited(entry):
        entry["changes"][0]["value"]["statuses"][0]["errors"][0]["code"] = 131049

    event = json.loads(load("status-failed")["Message"])
    entry = json.loads(event["whatsAppWebhookEntry"])
    limited(entry)
    event["whatsAppWebhookEntry"] = json.dumps(entry)
    [s] = parse_event(json.dumps(event), lambda: next(ids), NOW).statuses
    assert s.status == Status.LIMITED and s.error.code == "131049"


class Lifecycle:
    def __init__(self):
        self.applied: list[TemplateEvent] = []

    async def apply(self, changes):
        self.applied += changes
        return [object()] if changes else []


@pytest.fixture
async def out(tmp_path):
    stores = sqlite_store.open_outbound(tmp_path / "out.sqlite3")
    yield stores
    await stores.close()


async def test_account_events_move_the_ledger_forward_only(out):
    lifecycle = Lifecycle()
    account = AccountEvents(lifecycle, out.portfolio, holds=out.holds)
    t = TemplateEvent("w", "1", "spring_sale", "en_US", NOW, event="PAUSED")
    assert await account.apply([t, TierEvent(2000, NOW), QualityEvent("p1", "FLAGGED", "RED", NOW)])
    assert lifecycle.applied == [t]
    # The template's move is noted as a hold, stamped when noted: a dispatcher's next read of the holds takes it
    # in and tells its watcher (the template catalogue forgets its cache).
    check = HoldsCheck(out.holds, SystemClock())
    moved: list[int] = []
    check.on_template_moved(lambda: moved.append(1))
    await check.read()
    assert moved == [1]
    [hold] = await out.holds.holds_since(time.time() - 5, time.time())
    assert hold == holds.template_moved("spring_sale.en_US", hold.time, "PAUSED")
    await check.read()
    assert moved == [1]  # read again: nothing new
    category = TemplateEvent("w", "1", "spring_sale", "en_US", NOW, new_category="UTILITY")
    await account.apply([category])
    assert len(await out.holds.holds_since(time.time() - 5, time.time())) == 1  # a category change: no hold
    doc, _ = await out.portfolio.load_ledger()
    assert tier.limits(doc, 250, 0.1) == tier.Limits(2000, 200, "event")
    assert tier.qualities(doc) == {"p1": ("RED", NOW)}
    # The same events again, and older ones: nothing changes.
    assert not await account.apply([TierEvent(2000, NOW), QualityEvent("p1", "FLAGGED", "RED", NOW)])
    assert not await account.apply([TierEvent(250, NOW - 1), QualityEvent("p1", "UNFLAGGED", "GREEN", NOW - 1)])
    assert tier.limits((await out.portfolio.load_ledger())[0], 250, 0.1).limit == 2000


class Clock:
    def __init__(self, t: float):
        self.t = t

    def wall(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


async def test_the_tier_holds_across_processes_and_keeps_the_reserve(out):
    clock = Clock(NOW)
    one, two = (TierBudget(out.portfolio, 100, 0.1, WINDOW, clock) for _ in range(2))
    admitted: set[str] = set()
    deferred_until: set[float] = set()
    for i in range(0, 300, 10):  # 300 new marketing customers, in groups, alternating processes
        budget = one if i % 20 else two
        group = {f"+91{n:08d}": True for n in range(i, i + 10)}
        a = await budget.admit(group)
        admitted |= a.admitted
        if len(a.admitted) < len(group):
            deferred_until.add(a.retry_at)
        clock.t += 0.01
    assert len(admitted) == 90  # the limit less the reserve
    # The first bucket leaves the window at its end plus the window.
    assert deferred_until == {tier.release_time(tier.bucket_of(NOW, WINDOW), WINDOW)}
    # A customer counted in this bucket needs no new place.
    again = await one.admit({sorted(admitted)[0]: True})
    assert again.admitted == {sorted(admitted)[0]}
    # Utility and authentication take the reserve, not more.
    utility = await two.admit({f"+92{n:08d}": False for n in range(20)})
    assert len(utility.admitted) == 10
    await one.close()
    await two.close()
    doc, _ = await out.portfolio.load_ledger()
    assert tier.used(doc, clock.t, WINDOW) == 100  # what was claimed and not used was given back
    clock.t = deferred_until.pop()  # the window frees: marketing reaches new customers again
    later = await one.admit({f"+93{n:08d}": True for n in range(5)})
    assert len(later.admitted) == 5


class Consent:
    def __init__(self, consent: dict[str, str]):
        self.consent = consent

    async def by_address(self, channel: str, address: str) -> Recipient:
        return Recipient("", self.consent.get(address, "OPTED_IN"), address)


def wa(recipient: str, category=Category.MARKETING, template: str = "spring_sale", **extra) -> OutboundMessage:
    return OutboundMessage(
        id=next(ids),
        channel=Channel.WHATSAPP,
        category=category,
        origination=extra.pop("origination", "p1"),
        recipient=recipient,
        content={"template": {"template_name": template, "language": "en_US"}},
        create_time=NOW,
        lane=Lane.BULK,
        due_time=NOW,
        update_time=NOW,
        extra=extra,
    )


async def test_the_group_check_verdicts(out):
    statuses = {"spring_sale": "APPROVED", "paused_one": "PAUSED", "gone": "DISABLED", "draft": "PENDING"}

    async def template(name: str, language: str) -> Template:
        return Template(name, language, Category.MARKETING, statuses[name], "w", status_reason="low quality")

    clock = Clock(NOW)
    budget = TierBudget(out.portfolio, 0, 0.1, WINDOW, clock)  # no tier: unlimited
    ledger, version = await out.portfolio.load_ledger()
    await out.portfolio.save_ledger(tier.set_quality(ledger, "p2", "RED", NOW), version)
    await out.suppressions.suppress("+913", "marketing", NOW + 1000, "131050")
    checks = GroupChecks(
        [MetaChecks(template, budget, out.caps, CapRule(2, 3600.0), Consent({"+912": "OPTED_OUT"}), out.suppressions)]
    )
    ok = wa("+911")
    paused = wa("+911", template="paused_one")
    paused_keyed = wa("+911", template="paused_one").replace(idempotency_key="bulkJobs/J1/+911")
    disabled = wa("+911", template="gone")
    pending = wa("+911", template="draft")
    red = wa("+911", origination="p2")
    red_utility = wa("+911", Category.UTILITY, origination="p2")
    opted_out = wa("+912", reattempt_of="first")
    suppressed = wa("+913", reattempt_of="first")
    first_try = wa("+912")  # not a re-attempt: consent was checked at acceptance
    capped = [wa("+914"), wa("+914"), wa("+914")]
    verdicts = await checks.check(
        [ok, paused, paused_keyed, disabled, pending, red, red_utility, opted_out, suppressed, first_try, *capped], NOW
    )
    kinds = {m: (v.kind, v.error.code) for m, v in verdicts.items()}
    assert kinds == {
        paused.id: ("deferred", "TEMPLATE_PAUSED"),
        paused_keyed.id: ("withdrawn", "TEMPLATE_PAUSED"),  # its sender sends it again under its key
        disabled.id: ("failed", "TEMPLATE_DISABLED"),
        pending.id: ("failed", "TEMPLATE_NOT_APPROVED"),
        red.id: ("failed", "PHONE_QUALITY_LOW"),
        opted_out.id: ("failed", "CONSENT_OPTED_OUT"),
        suppressed.id: ("failed", "MARKETING_SUPPRESSED"),
        capped[2].id: ("failed", "MARKETING_FREQUENCY_CAP"),
    }
    assert verdicts[paused.id].retry_at > NOW and "low quality" in verdicts[paused.id].error.title
    # The cap counts the marketing messages that went: ok (+911), first_try (+912), two of +914's.
    assert await out.caps.counts(["+911", "+912", "+914"], NOW - 3600) == {"+911": 1, "+912": 1, "+914": 2}
    # The same messages checked again (a deferred one comes back): each is counted once.
    again = await checks.check([capped[0], capped[1]], NOW + 1)
    assert again == {}


class Broken:
    async def check(self, messages, now):
        raise RuntimeError("store down")


async def test_a_check_that_fails_defers_its_messages_a_moment():
    m = wa("+911")
    verdicts = await GroupChecks([Broken()]).check([m], NOW)
    assert verdicts[m.id].kind == "deferred" and verdicts[m.id].retry_at > NOW
    assert verdicts[m.id].error.code == "CHECK_FAILED"
