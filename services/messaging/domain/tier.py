"""The messaging tier as a ledger, no I/O: how many unique customers the business portfolio reached with
business-initiated messages in the rolling window (Meta's 24 hours, all phones together), and how many more it may
reach now, marketing stopping a reserve below the limit so utility and authentication keep room.

Customers are counted in time buckets (the window in BUCKETS parts): a customer first reached in bucket b counts
until b's end plus the window, when the whole bucket leaves the window at once. Counting by a bucket's end never
lets a customer leave early, so no rolling window over the actual sends exceeds the limit; the cost is that a
customer may count up to one bucket longer than Meta counts them. A customer reached again in a later bucket takes a
new place there (counted twice until the earlier bucket leaves, never too few).

The ledger (limit, buckets, the phones' quality) is one small document changed by compare-and-swap. Processes do
not write it per send: each claims places in blocks for the current bucket (dispatch.tier) and gives back what it
did not use when the bucket ends, so the document is written a few times a second whatever the send rate."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

BUCKETS = 96  # parts of the window (15 minutes of Meta's day)
# Real seconds a customer's place outlasts its bucket: an admission holds for a call that starts within this of it
# (dispatch.tier's pre-call check defers a later one to be admitted again), so a call made just after its bucket
# ended still leaves the window no earlier than a day after it was made (Meta counts the call, not the admission).
ADMISSION_GRACE = 1.0


@dataclass(frozen=True)
class Limits:
    """The tier's limit as it applies now: from Meta's events (the ledger), else the setting."""

    limit: int  # customers in the window; 0: unlimited
    reserve: int  # kept for utility and authentication
    source: str  # "event" | "setting"

    @property
    def unlimited(self) -> bool:
        return self.limit <= 0

    def cap(self, marketing: bool) -> float:
        if self.unlimited:
            return math.inf
        return self.limit - self.reserve if marketing else self.limit


def limits(doc: dict[str, Any], setting: int, reserve_share: float) -> Limits:
    tier = doc.get("tier") or {}
    limit, source = (int(tier["limit"]), "event") if "limit" in tier else (setting, "setting")
    reserve = math.floor(limit * reserve_share) if limit > 0 else 0
    return Limits(limit, reserve, source)


def width(window: float) -> float:
    return window / BUCKETS


def bucket_of(t: float, window: float) -> int:
    return math.floor(t / width(window))


def lag(window: float) -> float:
    """The most a customer counts past a day after their call: the rest of the call's bucket, and the grace its
    admission held for it (release_time). A plan of the window's turns must add it to every turn."""
    return width(window) + ADMISSION_GRACE


def release_time(bucket: int, window: float) -> float:
    """When a bucket's customers leave the window: a day after the last call its admissions allow."""
    return (bucket + 1) * width(window) + window + ADMISSION_GRACE


def live(doc: dict[str, Any], now: float, window: float) -> dict[int, int]:
    """Buckets still in the window at `now` -> their customers."""
    return {
        int(b): int(n) for b, n in (doc.get("buckets") or {}).items() if n > 0 and release_time(int(b), window) > now
    }


def used(doc: dict[str, Any], now: float, window: float) -> int:
    return sum(live(doc, now, window).values())


def available(doc: dict[str, Any], now: float, window: float, lim: Limits, marketing: bool) -> float:
    return max(0.0, lim.cap(marketing) - used(doc, now, window))


def releases(doc: dict[str, Any], now: float, window: float) -> list[tuple[float, int]]:
    """(time, customers) leaving the window, earliest first."""
    return sorted((release_time(b, window), n) for b, n in live(doc, now, window).items())


def next_release(doc: dict[str, Any], now: float, window: float) -> float | None:
    found = releases(doc, now, window)
    return found[0][0] if found else None


def claim(
    doc: dict[str, Any], now: float, window: float, want: int, lim: Limits, marketing: bool
) -> tuple[dict[str, Any], int]:
    """Takes up to `want` places in the current bucket within the cap; (the new document, places granted).
    Buckets out of the window are dropped as it goes."""
    doc = copy.deepcopy(doc) if doc else {}
    kept = live(doc, now, window)
    room = lim.cap(marketing) - sum(kept.values())
    granted = int(max(0, min(want, room))) if not lim.unlimited else want
    b = bucket_of(now, window)
    if granted:
        kept[b] = kept.get(b, 0) + granted
    doc["buckets"] = {str(k): v for k, v in sorted(kept.items())}
    return doc, granted


def give_back(doc: dict[str, Any], bucket: int, count: int) -> dict[str, Any]:
    """Places claimed in `bucket` and not used: the bucket counts them no more."""
    doc = copy.deepcopy(doc) if doc else {}
    buckets = doc.setdefault("buckets", {})
    left = max(0, int(buckets.get(str(bucket), 0)) - count)
    if left:
        buckets[str(bucket)] = left
    else:
        buckets.pop(str(bucket), None)
    return doc


def set_limit(doc: dict[str, Any], limit: int, at: float) -> dict[str, Any] | None:
    """Meta said the portfolio's limit is `limit` at `at` (0: unlimited); None when it is older or no change."""
    tier = (doc or {}).get("tier") or {}
    if tier and (at < tier.get("time", 0.0) or tier.get("limit") == limit):
        return None
    doc = copy.deepcopy(doc) if doc else {}
    doc["tier"] = {"limit": int(limit), "time": at}
    return doc


def set_quality(doc: dict[str, Any], phone: str, quality: str, at: float) -> dict[str, Any] | None:
    """Meta said the phone's quality is `quality` at `at`; None when older or no change."""
    held = ((doc or {}).get("quality") or {}).get(phone) or {}
    if held and (at < held.get("time", 0.0) or held.get("quality") == quality):
        return None
    doc = copy.deepcopy(doc) if doc else {}
    doc.setdefault("quality", {})[phone] = {"quality": quality, "time": at}
    return doc


def qualities(doc: dict[str, Any]) -> dict[str, tuple[str, float]]:
    return {p: (q.get("quality", ""), q.get("time", 0.0)) for p, q in ((doc or {}).get("quality") or {}).items()}
