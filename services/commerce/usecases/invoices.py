"""Invoices: drafts (create, change, delete), issuing with the year's next number and the PDF, credit notes, and
keeping each invoice's paid amount equal to what its payments add up to (settle).

An issued invoice never changes again except its payment summary: paid (recomputed from all its payments, never
incremented, so a payment cannot count twice) and credited (its credit notes, added in the transaction that
numbers the note). Its PDF is rendered when it is issued and again on demand if the object is missing (an
issue whose PDF upload failed is still issued: the number is taken, the document follows)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from runtime import ids
from runtime.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from services.commerce.adapters.documents import InvoiceDocuments
from services.commerce.adapters.invoice_pdf import Business, filename, render
from services.commerce.adapters.invoice_store import InvoiceStore
from services.commerce.adapters.pay_store import PayStore
from services.commerce.domain import payments as paying
from services.commerce.domain.invoices import (
    Invoice,
    InvoiceRequest,
    Kind,
    LineRequest,
    new_credit_note,
    new_draft,
    request_of,
)

log = logging.getLogger("wecare.commerce.invoices")
UPDATABLE = {
    "contact": "contact",
    "customer": "customer",
    "line_items": "lines",
    "discount_paise": "discount",
    "due_date": "due_date",
    "notes": "notes",
    "currency_code": "currency",
}
SETTLE_ATTEMPTS = 8


def issued_refusal(invoice: Invoice) -> FailedPrecondition:
    return FailedPrecondition(
        f"{invoice.name} is issued ({invoice.number}) and cannot change: correct it with a credit note",
        reason="INVOICE_ISSUED",
        metadata={"subject": invoice.name, "field": "invoice"},
    )


def check_etag(invoice: Invoice, etag: str) -> None:
    if etag and etag != invoice.etag:
        raise Aborted(f"{invoice.name} changed since etag {etag} (now {invoice.etag}); read it again")


class Invoices:
    def __init__(
        self,
        store: InvoiceStore,
        pay: PayStore,
        documents: InvoiceDocuments,
        business: Business,
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._pay = pay
        self._documents = documents
        self.business = business
        self._clock = clock

    async def create(self, asked: InvoiceRequest, creator: str) -> Invoice:
        draft = new_draft(
            asked, invoice_id=ids.new_id(), now=self._clock(), creator=creator, business_state=self.business.state_code
        )
        await self._store.create(draft)
        return draft

    async def get(self, invoice_id: str) -> Invoice:
        invoice = await self._store.get(invoice_id)
        if invoice is None:
            raise NotFound(f"invoices/{invoice_id} does not exist")
        return invoice

    async def list(self, after_id: str | None, limit: int, contact: str = "") -> list[Invoice]:
        return await self._store.list(after_id, limit, contact)

    async def update(
        self, invoice_id: str, asked: InvoiceRequest, mask: list[str], etag: str
    ) -> tuple[Invoice, Invoice]:
        unknown = [path for path in mask if path not in UPDATABLE]
        if unknown:
            raise InvalidArgument("update_mask", f"cannot change {', '.join(unknown)}; paths: {', '.join(UPDATABLE)}")
        current = await self.get(invoice_id)
        if current.issued:
            raise issued_refusal(current)
        check_etag(current, etag)
        chosen = {UPDATABLE[path] for path in (mask or UPDATABLE)}
        merged = dataclasses.replace(
            request_of(current),
            **{attribute: getattr(asked, attribute) for attribute in chosen},
            extras=asked.extras,
        )
        changed = new_draft(
            merged,
            invoice_id=current.id,
            now=self._clock(),
            creator=current.creator,
            business_state=self.business.state_code,
        )
        changed = dataclasses.replace(changed, create_time=current.create_time, version=current.version + 1)
        return current, await self._store.replace(changed, current.version)

    async def delete(self, invoice_id: str, etag: str) -> Invoice:
        current = await self.get(invoice_id)
        if current.issued:
            raise issued_refusal(current)
        check_etag(current, etag)
        removed = await self._store.delete_draft(invoice_id, current.version)
        if removed is None:
            raise NotFound(f"invoices/{invoice_id} does not exist")
        return removed

    async def issue(self, invoice_id: str, etag: str) -> Invoice:
        current = await self.get(invoice_id)
        if current.issued:
            raise issued_refusal(current)
        check_etag(current, etag)
        issued = await self._store.issue(current, self._clock())
        await self._render_quietly(issued)
        return issued

    async def credit(
        self, invoice_id: str, lines: tuple[LineRequest, ...], reason: str, creator: str
    ) -> tuple[Invoice, Invoice, Invoice]:
        """(the note, the invoice before, the invoice after)."""
        invoice = await self.get(invoice_id)
        if not invoice.issued or invoice.kind is not Kind.INVOICE:
            raise FailedPrecondition(
                f"{invoice.name} is not an issued invoice: only those take credit notes",
                reason="NOT_AN_ISSUED_INVOICE",
                metadata={"subject": invoice.name, "field": "name"},
            )
        now = self._clock()
        note = new_credit_note(invoice, lines, reason, note_id=ids.new_id(), now=now, creator=creator)
        issued, credited = await self._store.credit(note, invoice, now)
        await self._render_quietly(issued, invoice.number)
        return issued, invoice, await self.settle(credited.id) or credited

    async def render(self, invoice: Invoice, credited_number: str = "") -> tuple[str, int]:
        """Renders and stores the PDF: (its key, its size)."""
        if invoice.kind is Kind.CREDIT_NOTE and not credited_number:
            credited = await self._store.get(invoice.credited_invoice)
            credited_number = credited.number if credited else ""
        pdf = render(invoice, self.business, credited_number)
        return await self._documents.put(invoice.id, pdf, filename(invoice)), len(pdf)

    async def _render_quietly(self, invoice: Invoice, credited_number: str = "") -> None:
        try:
            await self.render(invoice, credited_number)
        except Exception as exc:  # the invoice is issued; its document is made again when asked for
            log.error(
                "invoice PDF not stored; it is rendered again on demand",
                extra={"invoice": invoice.name, "error": repr(exc)},
            )

    async def document(self, invoice: Invoice) -> tuple[str, int]:
        """The issued invoice's PDF: (key, size), rendered now if it is missing."""
        if not invoice.issued:
            raise FailedPrecondition(f"{invoice.name} is a draft: it has no document yet", reason="INVOICE_DRAFT")
        size = await self._documents.size(invoice.id)
        if size is None:
            return await self.render(invoice)
        return self._documents.key_of(invoice.id), size

    async def document_url(self, invoice: Invoice) -> str:
        await self.document(invoice)
        return await self._documents.url(invoice.id)

    def document_key(self, invoice: Invoice) -> str:
        return self._documents.key_of(invoice.id) if invoice.issued else ""

    async def settle(self, invoice_id: str) -> Invoice | None:
        """Makes the invoice's paid amount what its payments add up to, and flags the payments captured after it
        was paid in full. None when there is no such invoice."""
        for _ in range(SETTLE_ATTEMPTS):
            invoice = await self._store.get(invoice_id)
            if invoice is None or not invoice.issued or invoice.kind is not Kind.INVOICE:
                return invoice
            found = await self._pay.of_invoice(invoice_id)
            paid, extra = paying.settle(invoice.totals.total - invoice.credited, found)
            for payment in found:
                if payment.already_paid != (payment.id in extra):
                    await self._pay.annotate(payment.id, already_paid=payment.id in extra)
            if paid == invoice.paid:
                return invoice
            settled = dataclasses.replace(invoice, paid=paid, update_time=self._clock(), version=invoice.version + 1)
            try:
                return await self._store.replace(settled, invoice.version)
            except Aborted:
                continue  # changed meanwhile (another payment, a credit note): add up again
        raise Aborted(f"invoices/{invoice_id} kept changing while its payments were added up; retry")
