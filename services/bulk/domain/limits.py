"""The limits a job's sends meet (docs/DESIGN.md, "Limits the dispatcher enforces"), no I/O: the binding rate for a
channel and its originations, the ETA it gives, and the rate a job reaches its outcomes at."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from services.bulk.domain.model import Channel


@dataclass(frozen=True)
class Limits:
    phone_rates: dict[str, float]  # WhatsApp phone number id -> messages/s
    default_phone_rate: float = 80.0
    account_rate: float = 1000.0  # SendWhatsAppMessage per account
    sms_rate: float = 20.0  # per origination identity
    email_rate: float = 14.0  # the SES account

    @classmethod
    def from_settings(cls, settings) -> Limits:
        overrides = dict(item.split("=", 1) for item in settings.whatsapp_phone_rates)
        return cls(
            phone_rates={p: float(v) for p, v in overrides.items()},
            default_phone_rate=settings.whatsapp_phone_rate,
            account_rate=settings.whatsapp_account_rate,
            sms_rate=settings.sms_rate,
            email_rate=settings.email_rate,
        )

    def binding_rate(self, channel: Channel, originations: tuple[str, ...]) -> float:
        """Messages a second the job can reach at most: the sum of its senders' limits, capped by the
        account's where there is one."""
        if channel == Channel.WHATSAPP:
            phones = sum(self.phone_rates.get(p, self.default_phone_rate) for p in originations)
            return min(phones, self.account_rate)
        if channel == Channel.SMS:
            return self.sms_rate * len(originations)
        return self.email_rate


def eta_seconds(remaining: int, rate: float) -> float:
    return remaining / rate if rate > 0 else 0.0


@dataclass
class RateWindow:
    """Outcomes a second over the last `span` seconds, from samples of a running total."""

    span: float = 3.0
    clock: object = time.monotonic
    _samples: deque[tuple[float, int]] = field(default_factory=deque)

    def observe(self, total: int) -> float:
        now = self.clock()  # type: ignore[operator]
        self._samples.append((now, total))
        while len(self._samples) > 2 and self._samples[1][0] <= now - self.span:
            self._samples.popleft()
        first_t, first_n = self._samples[0]
        return (total - first_n) / (now - first_t) if now > first_t else 0.0
