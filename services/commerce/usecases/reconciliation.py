"""The reconciliation report of a range of days (services/commerce/domain/reconciliation.py): our invoices and
payments of those days, the provider's payments of the same days, every mismatch between them. An invoice whose
stored paid amount differs from its payments is listed and settled on the spot. The provider being unreachable
does not stop the report: our own checks still run and the report says the provider was not read."""

from __future__ import annotations

import logging
from datetime import timedelta

from runtime.errors import InvalidArgument
from services.commerce.adapters.invoice_store import InvoiceStore
from services.commerce.adapters.pay_store import PayStore
from services.commerce.adapters.payment_provider import PaymentProvider, ProviderError, ProviderUnavailable
from services.commerce.domain import gst, payments
from services.commerce.domain import reconciliation as books
from services.commerce.domain.invoices import Invoice, Kind
from services.commerce.usecases.invoices import Invoices

log = logging.getLogger("wecare.commerce.reconciliation")
MAX_DAYS = 31


class Reconciliation:
    def __init__(self, store: InvoiceStore, pay: PayStore, invoices: Invoices, provider: PaymentProvider, clock):
        self._store = store
        self._pay = pay
        self._invoices = invoices
        self._provider = provider
        self._clock = clock

    async def report(self, start_text: str, end_text: str) -> books.Report:
        try:
            start = gst.parse_date(start_text)
        except ValueError:
            raise InvalidArgument("start_date", "a date, `YYYY-MM-DD`") from None
        try:
            end = gst.parse_date(end_text) if end_text else start
        except ValueError:
            raise InvalidArgument("end_date", "a date, `YYYY-MM-DD`") from None
        if end < start or (end - start).days >= MAX_DAYS:
            raise InvalidArgument("end_date", f"on or after start_date, at most {MAX_DAYS} days in all")
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        issued: list[Invoice] = []
        ours: list[payments.Payment] = []
        for day in days:
            issued += await self._store.issued_on(day.isoformat())
            ours += await self._pay.created_on(day.isoformat())
        involved = {i.id for i in issued if i.kind is Kind.INVOICE}
        involved |= {i.credited_invoice for i in issued if i.kind is Kind.CREDIT_NOTE}
        involved |= {p.invoice for p in ours if p.invoice}
        now = self._clock()
        lines, settled = [], {}
        for invoice_id in sorted(involved):
            invoice = await self._store.get(invoice_id)
            if invoice is None:
                continue
            its = await self._pay.of_invoice(invoice_id)
            settled[invoice_id] = payments.settle(invoice.totals.total - invoice.credited, its)[0]
            lines.append(books.InvoiceLine(invoice, books.per_invoice(invoice, its), invoice.status(now)))
        report = books.Report(
            days=books.per_day(days, issued, ours),
            invoices=lines,
            totals=sum((a for _, a in books.per_day(days, issued, ours)), books.Amounts()),
            mismatches=books.checks(ours, lines, settled),
        )
        try:
            start_at, _ = gst.day_bounds(start)
            _, end_at = gst.day_bounds(end)
            theirs = await self._provider.payments_created(start_at, end_at)
            report.mismatches += books.compare(ours, theirs)
            report.provider_checked = True
        except (ProviderError, ProviderUnavailable) as exc:
            report.provider_error = str(exc)
            log.warning("reconciliation without the provider's records", extra={"error": str(exc)})
        for mismatch in report.mismatches:
            if mismatch.kind is books.MismatchKind.INVOICE_UNSETTLED:
                await self._invoices.settle(mismatch.invoice)
        return report
