"""The reconciliation report: what was invoiced, captured, refunded and is outstanding, per day and per invoice,
and every disagreement between the provider's records and ours. No I/O; integer paise only.

Per day (India time): invoiced is the invoices issued that day less the credit notes issued that day; captured
the payments captured that day; refunded the refunds processed that day (by the day they were asked for);
outstanding = invoiced - captured + refunded. Per invoice, over its whole life: invoiced is its total less its
credit notes, captured and refunded its payments', outstanding what is still owed. Payments are those the
provider created in the range (its own list is filtered the same way), so both sides count the same set."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from services.commerce.domain import gst
from services.commerce.domain.invoices import Invoice, Kind, Status
from services.commerce.domain.payments import Payment, PaymentState, ProviderPayment, RefundState

PROVIDER_STATES = {
    "created": PaymentState.CREATED,
    "authorized": PaymentState.PENDING,
    "captured": PaymentState.CAPTURED,
    "refunded": PaymentState.CAPTURED,
    "failed": PaymentState.FAILED,
}


class MismatchKind(enum.Enum):
    MISSING_HERE = "MISSING_HERE"
    MISSING_AT_PROVIDER = "MISSING_AT_PROVIDER"
    STATE = "STATE"
    AMOUNT = "AMOUNT"
    UNKNOWN_INVOICE = "UNKNOWN_INVOICE"
    OVERPAID = "OVERPAID"
    INVOICE_UNSETTLED = "INVOICE_UNSETTLED"


@dataclass(frozen=True)
class Amounts:
    invoiced: int = 0
    captured: int = 0
    refunded: int = 0

    @property
    def outstanding(self) -> int:
        return self.invoiced - self.captured + self.refunded

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(self.invoiced + other.invoiced, self.captured + other.captured, self.refunded + other.refunded)


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    payment: str = ""
    invoice: str = ""
    ours: str = ""
    provider: str = ""


@dataclass(frozen=True)
class InvoiceLine:
    invoice: Invoice
    amounts: Amounts
    status: Status


@dataclass
class Report:
    days: list[tuple[date, Amounts]]
    invoices: list[InvoiceLine]
    totals: Amounts
    mismatches: list[Mismatch] = field(default_factory=list)
    provider_checked: bool = False
    provider_error: str = ""


def _describe(payment: Payment) -> str:
    return f"{payment.display_state()} {payment.amount} paise, refunded {payment.refunded}"


def per_day(days: list[date], issued: list[Invoice], payments: list[Payment]) -> list[tuple[date, Amounts]]:
    buckets: dict[date, Amounts] = defaultdict(Amounts)
    for document in issued:
        total = document.totals.total
        day = gst.india_date(document.issue_time or 0)
        signed = -total if document.kind is Kind.CREDIT_NOTE else total
        buckets[day] = buckets[day] + Amounts(invoiced=signed)
    for payment in payments:
        if payment.state is PaymentState.CAPTURED and payment.capture_time is not None:
            day = gst.india_date(payment.capture_time)
            buckets[day] = buckets[day] + Amounts(captured=payment.amount)
        for refund in payment.refunds:
            if refund.state is RefundState.PROCESSED:
                day = gst.india_date(refund.create_time or payment.capture_time or 0)
                buckets[day] = buckets[day] + Amounts(refunded=refund.amount)
    return [(day, buckets[day]) for day in days]


def per_invoice(invoice: Invoice, payments: list[Payment]) -> Amounts:
    captured = [p for p in payments if p.state is PaymentState.CAPTURED]
    return Amounts(
        invoiced=invoice.totals.total - invoice.credited,
        captured=sum(p.amount for p in captured),
        refunded=sum(p.refunded for p in captured),
    )


def compare(ours: list[Payment], theirs: list[ProviderPayment]) -> list[Mismatch]:
    """Every disagreement between our payments and the provider's, by payment id."""
    out = []
    mine = {p.id: p for p in ours}
    for record in theirs:
        payment = mine.pop(record.id, None)
        said = f"{record.state} {record.amount} paise, refunded {record.amount_refunded}"
        if payment is None:
            out.append(Mismatch(MismatchKind.MISSING_HERE, record.id, record.invoice, "", said))
            continue
        if PROVIDER_STATES.get(record.state) is not payment.state:
            out.append(Mismatch(MismatchKind.STATE, payment.id, payment.invoice, _describe(payment), said))
        elif record.amount != payment.amount or record.amount_refunded != payment.refunded:
            out.append(Mismatch(MismatchKind.AMOUNT, payment.id, payment.invoice, _describe(payment), said))
    for payment in mine.values():
        out.append(Mismatch(MismatchKind.MISSING_AT_PROVIDER, payment.id, payment.invoice, _describe(payment), ""))
    return out


def checks(payments: list[Payment], invoices: list[InvoiceLine], settled: dict[str, int]) -> list[Mismatch]:
    """Our own books: payments for no invoice, invoices paid more than asked, invoices whose stored paid amount
    is not what their payments add up to (`settled`: invoice id -> what they add up to)."""
    out = [
        Mismatch(MismatchKind.UNKNOWN_INVOICE, p.id, "", _describe(p))
        for p in payments
        if not p.invoice and p.state is PaymentState.CAPTURED
    ]
    for line in invoices:
        invoice, amounts = line.invoice, line.amounts
        if amounts.outstanding < 0:
            out.append(
                Mismatch(
                    MismatchKind.OVERPAID,
                    "",
                    invoice.id,
                    f"owed {amounts.invoiced}, paid {amounts.captured - amounts.refunded}",
                )
            )
        if settled.get(invoice.id, invoice.paid) != invoice.paid:
            out.append(
                Mismatch(
                    MismatchKind.INVOICE_UNSETTLED,
                    "",
                    invoice.id,
                    f"stored paid {invoice.paid}, payments {settled[invoice.id]}",
                )
            )
    return out
