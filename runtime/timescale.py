"""Meta's clock, compressible: the rules WhatsApp counts in days (the 24-hour customer service window, the messaging
tier's rolling 24 hours, the per-user marketing limit's 24 hours, template review) run on durations divided by one
factor, `WECARE_TIME_SCALE`, read by messaging, bulk and the sandbox alike. 1 (the default, and the only value
production accepts) is real time; 2880 makes a Meta day last 30 seconds, so a 24-hour rule is testable in seconds.

Only day-long rules scale: per-second limits (80/s a phone, the pair limit's 6 s) stay real, since the sandbox
and Meta count them in real seconds."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 24 * 3600.0


@dataclass(frozen=True)
class TimeScale:
    factor: float = 1.0

    def __post_init__(self) -> None:
        if not self.factor > 0:
            raise ValueError(f"WECARE_TIME_SCALE must be above 0, not {self.factor}")

    def seconds(self, meta_seconds: float) -> float:
        """Real seconds that stand for `meta_seconds` of Meta's time."""
        return meta_seconds / self.factor

    @property
    def day(self) -> float:
        """Real seconds that stand for Meta's 24 hours."""
        return self.seconds(DAY)

    @classmethod
    def of(cls, settings) -> TimeScale:
        return cls(settings.time_scale)
