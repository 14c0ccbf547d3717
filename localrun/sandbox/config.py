"""How the sandbox behaves (status delays, injected faults, Meta's and the customer's ways), changed at run time
with POST /sandbox/config or at start with WECARE_SANDBOX_CONFIG."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Config:
    """How the sandbox behaves; changed at run time with POST /sandbox/config (a partial JSON object)."""

    statuses: list[str] = field(default_factory=lambda: ["sent", "delivered", "read"])
    sent_after: float = 0.05  # seconds after acceptance
    delivered_after: float = 0.3
    read_after: float = 1.0
    accept_delay_ms: float = 0.0  # before acceptance
    response_delay_ms: float = 0.0  # after acceptance, before the answer
    throttle_next: int = 0  # the next N sends get ThrottledRequestException (not accepted, not logged)
    rate_limit_next: int = 0  # the next N sends are accepted, then fail with 130429
    error_next: int = 0  # the next N sends get InternalServiceException (not accepted)
    fail_recipients: dict[str, str] = field(default_factory=dict)  # recipient -> Meta error code
    account_limit: float = 0.0  # >0: sends over this in a sliding second are throttled (like EUM's quota)
    ingest_batch: int = 200  # events per IngestEvents call
    ingest_interval: float = 0.2  # seconds between flushes
    # The payment provider (localrun.sandbox.payments): each webhook delivered this many times (same event id),
    # each delivery after a delay drawn from [min, max] seconds (so they overtake one another), and the next N
    # payments fail.
    payment_webhook_copies: int = 1
    payment_webhook_delay: tuple[float, float] = (0.0, 0.0)
    payment_fail_next: int = 0
    # The customer (localrun.sandbox.customer): this share of recipients opens the short links they get (after
    # WhatsApp's preview fetch, which every recipient's link gets).
    open_links_share: float = 0.0
    template_review_seconds: float = 2.0  # Meta's review of a created or updated template (localrun.sandbox.meta)
    limited_share: float = 0.0  # this share of marketing template messages fails with 131049
    pair_gap: float = 0.0  # >0: a second message from a phone to a recipient within this many seconds fails (131056)

    def update(self, changes: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown sandbox settings: {sorted(unknown)}")
        for key, value in changes.items():
            setattr(self, key, value)
