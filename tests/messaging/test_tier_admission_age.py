"""The tier's admission holds for a call that starts soon after it (dispatch.tier.AdmissionAge): later, the message
goes back to be admitted again, in the bucket of its call, so no customer leaves the window less than a day after
Meta took the call (a call waiting past its bucket's end was seen in the process tests: 11-40 ms late)."""

from __future__ import annotations

from services.messaging.dispatch.tier import AdmissionAge, TierBudget
from services.messaging.domain import tier
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage


class Clock:
    def __init__(self, now: float):
        self.now = now

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


def _message(i: str) -> OutboundMessage:
    return OutboundMessage(
        id=i,
        channel=Channel.WHATSAPP,
        category=Category.MARKETING,
        origination="phone-1",
        recipient="+919800000001",
        content={"template": {"template_name": "sale", "language": "en_US"}},
        create_time=0.0,
        lane=Lane.BULK,
    )


async def test_a_call_soon_after_its_admission_goes_a_late_one_is_admitted_again():
    clock = Clock(1_000.0)
    budget = TierBudget(store=None, setting=200, reserve_share=0.1, window=30.0, clock=clock)  # type: ignore[arg-type]
    check = AdmissionAge(budget, clock)
    budget.note_admitted(["soon", "late"], at=1_000.0)

    clock.now = 1_000.0 + tier.ADMISSION_GRACE * 0.5
    assert await check.check(_message("soon")) is None
    clock.now = 1_000.0 + tier.ADMISSION_GRACE + 0.01
    verdict = await check.check(_message("late"))
    assert verdict is not None and (verdict.kind, verdict.error.code) == ("deferred", "TIER_LIMIT")
    assert verdict.retry_at == clock.now  # at once: the next hand-off group admits it again
    assert await check.check(_message("never-admitted")) is None  # not the tier's (a reply, no limit)
    assert budget.admitted_at == {}  # each admission is asked once


def test_a_place_outlasts_its_bucket_by_the_grace():
    window = 30.0
    b = tier.bucket_of(1_000.0, window)
    end_of_bucket = (b + 1) * tier.width(window)
    # a call started within the grace of an admission made before the bucket ended leaves the window after it
    latest_call = end_of_bucket + tier.ADMISSION_GRACE
    assert tier.release_time(b, window) >= latest_call + window
