"""The InvoiceStore interface (InvoiceTable). Implementations: invoice_sqlite (embedded default), invoice_dynamodb
(AWS). Both pass tests/commerce/test_invoice_store_contract.py.

Numbering is the store's: issue() and credit() take the next number of the document's series (invoices, credit
notes) in the financial year of `now` in the same atomic write that issues it, so numbers are consecutive with no
gap and no repeat whatever the number of processes (a write that fails takes no number). Every other change is
a whole-document write conditioned on the version read (Aborted when someone else changed it first)."""

from __future__ import annotations

from typing import Protocol

from services.commerce.domain.invoices import Invoice


class InvoiceStore(Protocol):
    async def create(self, invoice: Invoice) -> None: ...

    async def get(self, invoice_id: str) -> Invoice | None: ...

    async def list(self, after_id: str | None, limit: int, contact: str = "") -> list[Invoice]:
        """In id (creation) order, ids strictly after after_id; only the contact's when given."""
        ...

    async def replace(self, invoice: Invoice, expected_version: int) -> Invoice:
        """Writes the invoice (its version is expected_version + 1) if the stored one is at expected_version;
        Aborted otherwise, NotFound when there is none."""
        ...

    async def delete_draft(self, invoice_id: str, expected_version: int | None) -> Invoice | None:
        """Removes a draft; FailedPrecondition for an issued one, Aborted for a stale version, None if absent."""
        ...

    async def issue(self, invoice: Invoice, now: float) -> Invoice:
        """Issues the draft as read (Aborted if it changed since): the next number of its series and year."""
        ...

    async def credit(self, note: Invoice, invoice: Invoice, now: float) -> tuple[Invoice, Invoice]:
        """Issues the credit note with the next credit note number and adds its total to the invoice as read
        (Aborted if it changed since): (the note, the invoice) as stored."""
        ...

    async def issued_on(self, day: str) -> list[Invoice]:
        """Invoices and credit notes issued on a day (`YYYY-MM-DD`, India time)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
