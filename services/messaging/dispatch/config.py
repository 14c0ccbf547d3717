"""What the dispatcher is configured with: every sender and its limit, the account's limits, pacing, retries,
reconciliation and the lease timing, read from Settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.timescale import TimeScale
from services.messaging.domain.coordination import Timing
from services.messaging.domain.model import Channel


@dataclass(frozen=True)
class DispatchConfig:
    phone_rates: dict[str, float]
    sms_senders: tuple[str, ...] = ()
    sms_rate: float = 20.0
    email_sender: str = ""
    email_rate: float = 14.0
    account_rate: float = 1000.0
    media_post_rate: float = 100.0
    media_get_rate: float = 100.0
    pair_gap: float = 6.0
    pace: float = 0.99
    max_attempts: int = 5
    reconcile_seconds: float = 60.0
    timing: Timing = field(default_factory=Timing)
    heartbeat_interval: float = 1.0
    sender_pause_seconds: float = 900.0  # 131048
    limited_retry_seconds: float = 24 * 3600.0  # 131049: real seconds (Meta's day on the time scale)
    limited_reattempts: int = 1
    tier: int = 0  # the messaging tier until Meta's events say otherwise; 0 unlimited
    tier_reserve: float = 0.1
    tier_window: float = 24 * 3600.0  # real seconds (Meta's day on the time scale)
    marketing_cap: int = 0
    marketing_cap_seconds: float = 7 * 24 * 3600.0  # real seconds

    @classmethod
    def from_settings(cls, settings) -> DispatchConfig:
        scale = TimeScale.of(settings)
        overrides = dict(item.split("=", 1) for item in settings.whatsapp_phone_rates)
        rates = {p: float(overrides.get(p, settings.whatsapp_phone_rate)) for p in settings.whatsapp_phone_number_ids}
        return cls(
            phone_rates=rates,
            sms_senders=settings.sms_origination_identities,
            sms_rate=settings.sms_rate,
            email_sender=settings.email_sender,
            email_rate=settings.email_rate,
            account_rate=settings.whatsapp_account_rate,
            media_post_rate=settings.whatsapp_media_post_rate,
            media_get_rate=settings.whatsapp_media_get_rate,
            pair_gap=settings.whatsapp_pair_interval_seconds,
            pace=settings.dispatch_pace,
            max_attempts=settings.dispatch_max_attempts,
            reconcile_seconds=settings.dispatch_reconcile_seconds,
            timing=Timing(call_timeout=settings.dispatch_call_timeout_seconds),
            limited_retry_seconds=scale.seconds(settings.whatsapp_limited_retry_seconds),
            limited_reattempts=settings.whatsapp_limited_reattempts,
            tier=settings.whatsapp_messaging_tier,
            tier_reserve=settings.whatsapp_tier_reserve,
            tier_window=scale.day,
            marketing_cap=settings.whatsapp_marketing_cap,
            marketing_cap_seconds=scale.seconds(settings.whatsapp_marketing_cap_seconds),
        )

    def senders(self) -> dict[str, float]:
        """Every configured sender's key and its limit (messages a second)."""
        out = {f"WHATSAPP:{p}": rate for p, rate in self.phone_rates.items()}
        out.update({f"SMS:{s}": self.sms_rate for s in self.sms_senders})
        if self.email_sender:
            out[f"EMAIL:{self.email_sender}"] = self.email_rate
        return out


def sender_key(channel: Channel, origination: str) -> str:
    return f"{channel.value}:{origination}"
