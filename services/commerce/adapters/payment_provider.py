"""The payment provider's interface: payment links, refunds, the provider's own list of payments (for the
reconciliation report) and what its webhooks say. One implementation: adapters/razorpay.py (Razorpay's Payment
Links, Refunds and Payments APIs); locally the sandbox plays it (localrun/sandbox/payments.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from services.commerce.domain.payments import Observation, ProviderPayment, Refund


class ProviderError(Exception):
    """The provider refused the request (4xx): `code` and `field` as it said; retrying the same will not help."""

    def __init__(self, message: str, code: str = "", field: str = ""):
        super().__init__(message)
        self.code = code
        self.field = field


class ProviderUnavailable(Exception):
    """The provider did not answer, or answered 5xx / 429: the request may be retried."""


@dataclass(frozen=True)
class LinkRequest:
    invoice_id: str
    reference_id: str  # unique at the provider
    amount: int
    description: str
    customer_name: str = ""
    customer_phone: str = ""
    customer_email: str = ""
    expire_by: int | None = None  # epoch seconds


@dataclass(frozen=True)
class ProviderLink:
    id: str
    url: str
    amount: int
    status: str


@dataclass(frozen=True)
class WebhookEvent:
    """What one webhook says: its kind and what it tells of each payment it carries (none: nothing to apply)."""

    kind: str
    observations: list[Observation] = field(default_factory=list)


class PaymentProvider(Protocol):
    name: str

    async def create_link(self, request: LinkRequest) -> ProviderLink: ...

    async def refund(self, payment_id: str, amount: int, idempotency_key: str, reason: str) -> Refund: ...

    async def payments_created(self, start: float, end: float) -> list[ProviderPayment]:
        """Every payment the provider created in [start, end)."""
        ...

    def parse_webhook(self, body: bytes) -> WebhookEvent:
        """ValueError when the body is not an event of this provider."""
        ...

    async def close(self) -> None: ...
