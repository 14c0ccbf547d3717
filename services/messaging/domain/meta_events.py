"""Meta's account-level webhook fields, as EUM Social delivers them to the WABA's event destination (the same SNS
event as messages: `whatsAppWebhookEntry` holds Meta's entry, whose `id` is the WABA's Meta id), read into the
domain's records. No I/O. docs/DESIGN.md "Meta's rules beyond the per-second limits" gives the formats and sources.

- message_template_status_update: `event` (APPROVED, REJECTED, PAUSED, DISABLED, REINSTATED, ...),
  `message_template_id`, `_name`, `_language`, `reason`, and for a rejection `rejection_info {reason,
  recommendation}`, for a pause `other_info {title, description}`;
- template_category_update: `previous_category` and `new_category` (made), or `correct_category` and
  `category_update_timestamp` (announced);
- phone_number_quality_update: `event` (FLAGGED, UNFLAGGED, DOWNGRADE, UPGRADE, ONBOARDING, ...), `current_limit`
  or `max_daily_conversations_per_business` (TIER_250, TIER_2K, ... TIER_UNLIMITED);
- business_capability_update: `max_daily_conversations_per_business` (TIER_2K, or a number) or the older
  `max_daily_conversation_per_phone` (2000; -1 unlimited)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEMPLATE_STATUS = "message_template_status_update"
TEMPLATE_CATEGORY = "template_category_update"
PHONE_QUALITY = "phone_number_quality_update"
CAPABILITY = "business_capability_update"
FIELDS = frozenset({TEMPLATE_STATUS, TEMPLATE_CATEGORY, PHONE_QUALITY, CAPABILITY})
UNLIMITED = 0
TIERS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1000,
    "TIER_2K": 2000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": UNLIMITED,
}
QUALITY_OF_EVENT = {"FLAGGED": "RED", "UNFLAGGED": "GREEN"}
LOWEST_QUALITY = "RED"


@dataclass(frozen=True)
class TemplateEvent:
    """A template's status moved (event) or its category was changed or announced (the category fields)."""

    waba: str  # ours (`waba-<hex>`), from the event's context; "" when it does not say
    meta_template_id: str
    template_name: str
    language: str
    time: float
    event: str = ""
    reason: str = ""
    new_category: str = ""
    previous_category: str = ""
    correct_category: str = ""


@dataclass(frozen=True)
class TierEvent:
    """The business portfolio's messaging limit: customers a rolling 24 hours, UNLIMITED (0) for none."""

    limit: int
    time: float


@dataclass(frozen=True)
class QualityEvent:
    origination: str  # our phone number id; "" when the event does not name one we can map
    event: str
    quality: str  # GREEN | YELLOW | RED | "" (the event says nothing of it)
    time: float


AccountEvent = TemplateEvent | TierEvent | QualityEvent


def tier_of(value: Any) -> int | None:
    """TIER_2K -> 2000, 2000 -> 2000, -1 or TIER_UNLIMITED -> UNLIMITED; None when it names no limit."""
    if isinstance(value, str) and value.strip().upper() in TIERS:
        return TIERS[value.strip().upper()]
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return UNLIMITED if number < 0 else number if number > 0 else None


def _reason(value: dict[str, Any]) -> str:
    reason = str(value.get("reason") or "")
    reason = "" if reason.upper() == "NONE" else reason
    info = value.get("rejection_info") if isinstance(value.get("rejection_info"), dict) else {}
    other = value.get("other_info") if isinstance(value.get("other_info"), dict) else {}
    detail = str(info.get("reason") or other.get("description") or "")
    title = str(other.get("title") or "")
    head = reason or title
    return f"{head}: {detail}" if head and detail else head or detail


def parse(field: str, value: dict[str, Any], at: float, waba: str, phones: list[str]) -> list[AccountEvent]:
    """One change of one of FIELDS. `phones`: our phone ids in the event's context (a quality event is applied
    to its phone only when there is exactly one)."""
    if field in (TEMPLATE_STATUS, TEMPLATE_CATEGORY):
        common = {
            "waba": waba,
            "meta_template_id": str(value.get("message_template_id", "")),
            "template_name": str(value.get("message_template_name", "")),
            "language": str(value.get("message_template_language", "")).replace("-", "_"),
            "time": at,
        }
        if field == TEMPLATE_STATUS:
            return [TemplateEvent(**common, event=str(value.get("event", "")).upper(), reason=_reason(value))]
        return [
            TemplateEvent(
                **common,
                new_category=str(value.get("new_category") or "").upper(),
                previous_category=str(value.get("previous_category") or "").upper(),
                correct_category=str(value.get("correct_category") or "").upper(),
            )
        ]
    out: list[AccountEvent] = []
    limit = tier_of(value.get("max_daily_conversations_per_business"))
    if limit is None:
        limit = tier_of(value.get("max_daily_conversation_per_phone" if field == CAPABILITY else "current_limit"))
    if limit is not None:
        out.append(TierEvent(limit, at))
    if field == PHONE_QUALITY:
        event = str(value.get("event", "")).upper()
        quality = str(value.get("quality_rating") or QUALITY_OF_EVENT.get(event, "")).upper()
        out.append(QualityEvent(phones[0] if len(phones) == 1 else "", event, quality, at))
    return out
