"""The PayStore interface (PayTable). Implementations: pay_sqlite (embedded default), pay_dynamodb (AWS). Both
pass tests/commerce/test_pay_store_contract.py.

record() is the one way a payment changes from events: it keeps the event's key and merges what the event says
into the payment (services/commerce/domain/payments.merge) in one atomic write, so an event applies once
whatever the repeats and races; a key seen before changes nothing."""

from __future__ import annotations

from typing import Protocol

from services.commerce.domain.payments import Observation, Payment, PaymentLink, Recorded


class PayStore(Protocol):
    async def record(self, event_key: str, seen: Observation, now: float) -> Recorded: ...

    async def get(self, payment_id: str) -> Payment | None: ...

    async def list(self, after_id: str | None, limit: int) -> list[Payment]:
        """In id order, ids strictly after after_id."""
        ...

    async def of_invoice(self, invoice_id: str) -> list[Payment]: ...

    async def created_on(self, day: str) -> list[Payment]:
        """Payments the provider created on a day (`YYYY-MM-DD`, India time); ones with no creation time are
        filed under the day we first heard of them."""
        ...

    async def annotate(self, payment_id: str, *, already_paid: bool | None = None, receipt: str | None = None) -> None:
        """Sets the flag and the receipt's state (read, change, write on condition of the version read)."""
        ...

    async def receipts_due(self, limit: int) -> list[Payment]:
        """Captured payments of known invoices whose receipt is not sent yet (receipt DUE)."""
        ...

    async def save_link(self, link: PaymentLink) -> None: ...

    async def links_of(self, invoice_id: str) -> list[PaymentLink]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
