"""The sandbox log (docs/DESIGN.md "Sandbox log"): one JSON line per provider call the sandbox accepted, and the
checks anyone can run on it from outside: the most calls in any sliding one-second window per limit, the pair
gaps, refs seen twice, and the sustained rate. Written once, used by the sandbox, the tests and the benchmark.

A line: {"t_ns": <time.time_ns() at acceptance>, "channel": "WHATSAPP|SMS|MEDIA_POST|MEDIA_GET",
         "origin": "<phone number id or sender>", "to": "<recipient>", "id": "<provider message id>",
         "ref": "<biz_opaque_callback_data, or the SMS call's context reference, whole>"}"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from localrun import jsonl

SECOND_NS = 1_000_000_000
CHANNELS = ("WHATSAPP", "SMS", "MEDIA_POST", "MEDIA_GET")


@dataclass(frozen=True)
class Call:
    t_ns: int
    channel: str
    origin: str
    to: str
    id: str
    ref: str

    def line(self) -> bytes:
        return (
            json.dumps(
                {
                    "t_ns": self.t_ns,
                    "channel": self.channel,
                    "origin": self.origin,
                    "to": self.to,
                    "id": self.id,
                    "ref": self.ref,
                },
                separators=(",", ":"),
                ensure_ascii=False,
            )
            + "\n"
        ).encode()


class LogWriter:
    """Appends lines with one write(2) each on an O_APPEND descriptor, so lines never interleave."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, call: Call) -> None:
        os.write(self._fd, call.line())

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read(path: Path) -> list[Call]:
    """Every complete line (localrun.jsonl: a line still being written waits for the next read)."""
    return [Call(int(d["t_ns"]), d["channel"], d["origin"], d["to"], d["id"], d["ref"]) for d in jsonl.records(path)]


def max_in_window(times_ns: Iterable[int], width_ns: int = SECOND_NS) -> int:
    """The most events in any half-open window [t, t + width) (the worst window starts at an event)."""
    times = sorted(times_ns)
    best = 0
    j = 0
    for i, t in enumerate(times):
        if j < i:
            j = i
        while j < len(times) and times[j] < t + width_ns:
            j += 1
        best = max(best, j - i)
    return best


def sustained_rate(times_ns: Iterable[int]) -> float:
    """Calls a second between the first and the last call: (n - 1) / span."""
    times = sorted(times_ns)
    if len(times) < 2 or times[-1] == times[0]:
        return 0.0
    return (len(times) - 1) * SECOND_NS / (times[-1] - times[0])


@dataclass
class WindowReport:
    """The worst one-second window per limit, and what else the contract lets one check from the log."""

    per_phone: dict[str, int] = field(default_factory=dict)  # WhatsApp messages per origination phone
    account: int = 0  # SendWhatsAppMessage, all phones
    media_post: int = 0
    media_get: int = 0
    per_sms_sender: dict[str, int] = field(default_factory=dict)
    min_pair_gap_s: float | None = None  # the closest two WhatsApp messages from one phone to one recipient
    duplicate_refs: list[str] = field(default_factory=list)  # WHATSAPP/SMS refs accepted more than once
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def max_per_phone(self) -> int:
        return max(self.per_phone.values(), default=0)

    def violations(
        self,
        phone_limit: float | dict[str, float] = 80,
        account_limit: float = 1000,
        media_limit: float = 100,
        pair_gap_s: float | None = None,
    ) -> list[str]:
        out = []
        for phone, worst in self.per_phone.items():
            limit = phone_limit.get(phone, 80) if isinstance(phone_limit, dict) else phone_limit
            if worst > limit:
                out.append(f"{phone}: {worst} calls in one second (limit {limit:g})")
        if self.account > account_limit:
            out.append(f"account: {self.account} SendWhatsAppMessage calls in one second (limit {account_limit:g})")
        if self.media_post > media_limit:
            out.append(f"media post: {self.media_post} in one second (limit {media_limit:g})")
        if self.media_get > media_limit:
            out.append(f"media get: {self.media_get} in one second (limit {media_limit:g})")
        if pair_gap_s is not None and self.min_pair_gap_s is not None and self.min_pair_gap_s < pair_gap_s:
            out.append(f"pair: two messages {self.min_pair_gap_s:.3f}s apart (at least {pair_gap_s:g}s)")
        if self.duplicate_refs:
            out.append(f"{len(self.duplicate_refs)} refs accepted twice, e.g. {self.duplicate_refs[:3]}")
        return out


def report(calls: list[Call]) -> WindowReport:
    by_phone: dict[str, list[int]] = defaultdict(list)
    by_sms: dict[str, list[int]] = defaultdict(list)
    by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
    media_post: list[int] = []
    media_get: list[int] = []
    refs: Counter[str] = Counter()
    for c in calls:
        if c.channel == "WHATSAPP":
            by_phone[c.origin].append(c.t_ns)
            by_pair[(c.origin, c.to)].append(c.t_ns)
            refs[c.ref] += 1
        elif c.channel == "SMS":
            by_sms[c.origin].append(c.t_ns)
            refs[c.ref] += 1
        elif c.channel == "MEDIA_POST":
            media_post.append(c.t_ns)
        elif c.channel == "MEDIA_GET":
            media_get.append(c.t_ns)
    gaps = []
    for times in by_pair.values():
        if len(times) > 1:
            times.sort()
            gaps.append(min(b - a for a, b in itertools.pairwise(times)) / SECOND_NS)
    return WindowReport(
        per_phone={phone: max_in_window(times) for phone, times in by_phone.items()},
        account=max_in_window(t for times in by_phone.values() for t in times),
        media_post=max_in_window(media_post),
        media_get=max_in_window(media_get),
        per_sms_sender={sender: max_in_window(times) for sender, times in by_sms.items()},
        min_pair_gap_s=min(gaps) if gaps else None,
        duplicate_refs=sorted(ref for ref, n in refs.items() if n > 1),
        counts=dict(Counter(c.channel for c in calls)),
    )


def steady_rate(times_ns: Iterable[int], trim_s: float = 1.0) -> float:
    """Calls a second between the first and the last call, leaving out the first and last `trim_s` seconds
    (the ramp up and the tail): the sustained rate under backlog."""
    times = sorted(times_ns)
    if len(times) < 2:
        return 0.0
    start, end = times[0] + int(trim_s * SECOND_NS), times[-1] - int(trim_s * SECOND_NS)
    if end <= start:
        return sustained_rate(times)
    inside = [t for t in times if start <= t < end]
    return len(inside) * SECOND_NS / (end - start)
