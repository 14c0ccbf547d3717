"""The payment RPCs of CommerceService: GetPayment, ListPayments, RefundPayment, RecordPaymentEvents,
ReconcilePayments."""

from __future__ import annotations

import time

from runtime.calls import note_change
from runtime.errors import FieldViolation, InvalidArgument
from runtime.names import parse_name, timestamp
from runtime.pagination import PageTokens, page_size
from services.commerce.domain import reconciliation as books
from services.commerce.domain.payments import ID, Payment
from services.commerce.usecases.payments import PROVIDER, WHATSAPP, Payments
from services.commerce.usecases.reconciliation import Reconciliation
from wecare.commerce.v1 import invoices_pb2 as ipb
from wecare.commerce.v1 import payments_pb2 as pb

MAX_EVENTS = 100
SOURCES = {pb.PAYMENT_EVENT_SOURCE_PROVIDER: PROVIDER, pb.PAYMENT_EVENT_SOURCE_WHATSAPP: WHATSAPP}


def payment_to_proto(payment: Payment) -> pb.Payment:
    return pb.Payment(
        name=payment.name,
        invoice=f"invoices/{payment.invoice}" if payment.invoice else "",
        state=pb.PaymentState.Value(f"PAYMENT_STATE_{payment.display_state()}"),
        amount_paise=payment.amount,
        amount_refunded_paise=payment.refunded,
        currency_code=payment.currency,
        provider=payment.provider,
        method=payment.method,
        flags=[pb.PaymentFlag.Value(f"PAYMENT_FLAG_{f.value}") for f in payment.flags],
        refunds=[
            pb.Refund(
                id=r.id,
                amount_paise=r.amount,
                state=pb.RefundState.Value(f"REFUND_STATE_{r.state.name}"),
                reason=r.reason,
                create_time=timestamp(r.create_time or None),
            )
            for r in payment.refunds
        ],
        error_code=payment.error_code,
        error_description=payment.error_description,
        create_time=timestamp(payment.create_time),
        capture_time=timestamp(payment.capture_time),
        update_time=timestamp(payment.update_time),
        event_count=payment.event_count,
    )


def _amounts(a: books.Amounts) -> pb.ReconciliationAmounts:
    return pb.ReconciliationAmounts(
        invoiced_paise=a.invoiced, captured_paise=a.captured, refunded_paise=a.refunded, outstanding_paise=a.outstanding
    )


def report_to_proto(report: books.Report) -> pb.ReconcilePaymentsResponse:
    return pb.ReconcilePaymentsResponse(
        days=[pb.ReconciliationDay(date=day.isoformat(), amounts=_amounts(a)) for day, a in report.days],
        invoices=[
            pb.ReconciliationInvoice(
                invoice=line.invoice.name,
                number=line.invoice.number,
                amounts=_amounts(line.amounts),
                status=ipb.InvoiceStatus.Value(f"INVOICE_STATUS_{line.status.value}"),
            )
            for line in report.invoices
        ],
        totals=_amounts(report.totals),
        mismatches=[
            pb.Mismatch(
                kind=pb.MismatchKind.Value(f"MISMATCH_KIND_{m.kind.value}"),
                payment=f"payments/{m.payment}" if m.payment else "",
                invoice=f"invoices/{m.invoice}" if m.invoice else "",
                ours=m.ours,
                provider=m.provider,
            )
            for m in report.mismatches
        ],
        provider_checked=report.provider_checked,
        provider_error=report.provider_error,
    )


def payment_id(name: str, field: str = "name") -> str:
    head, sep, value = name.partition("/")
    if head != "payments" or not sep or not ID.match(value):
        raise InvalidArgument(field, f"{name!r} is not a payment name (`payments/{{id}}`)")
    return value


class PaymentsRpc:
    def __init__(self, payments: Payments, reconciliation: Reconciliation, page_tokens: PageTokens, clock=time.time):
        self._payments = payments
        self._reconciliation = reconciliation
        self._tokens = page_tokens
        self._clock = clock

    async def GetPayment(self, request: pb.GetPaymentRequest, context) -> pb.Payment:
        return payment_to_proto(await self._payments.get(payment_id(request.name)))

    async def ListPayments(self, request: pb.ListPaymentsRequest, context) -> pb.ListPaymentsResponse:
        if request.invoice:
            found = await self._payments.of_invoice(parse_name(request.invoice, "invoices", "invoice"))
            return pb.ListPaymentsResponse(payments=[payment_to_proto(p) for p in found])
        size = page_size(request.page_size, 50, 500)
        after = self._tokens.decode("payments:list", request.page_token) if request.page_token else None
        found = await self._payments.list(after, size + 1)
        page = found[:size]
        token = self._tokens.encode("payments:list", page[-1].id) if len(found) > size else ""
        return pb.ListPaymentsResponse(payments=[payment_to_proto(p) for p in page], next_page_token=token)

    async def RefundPayment(self, request: pb.RefundPaymentRequest, context) -> pb.Payment:
        before, after = await self._payments.refund(
            payment_id(request.name), request.amount_paise, request.reason, request.request_id
        )
        note_change(
            after.name,
            {"refunded_paise": before.refunded, "refunds": len(before.refunds)},
            {"refunded_paise": after.refunded, "refunds": len(after.refunds), "asked_paise": request.amount_paise},
        )
        return payment_to_proto(after)

    async def RecordPaymentEvents(
        self, request: pb.RecordPaymentEventsRequest, context
    ) -> pb.RecordPaymentEventsResponse:
        if not 1 <= len(request.events) <= MAX_EVENTS:
            raise InvalidArgument("events", f"one to {MAX_EVENTS} events")
        bad = [
            FieldViolation(f"events[{i}].source", "PROVIDER or WHATSAPP")
            for i, e in enumerate(request.events)
            if e.source not in SOURCES
        ]
        if bad:
            raise InvalidArgument(bad)
        results = []
        for event in request.events:
            result = await self._payments.record(SOURCES[event.source], event.event_id, event.payload)
            results.append(
                pb.PaymentEventResult(
                    event_id=event.event_id,
                    outcome=pb.PaymentEventOutcome.Value(f"PAYMENT_EVENT_OUTCOME_{result.outcome}"),
                    payment=result.payment,
                    detail=result.detail,
                )
            )
        note_change(
            "payments",
            None,
            {"events": [f"{r.event_id}:{pb.PaymentEventOutcome.Name(r.outcome)}:{r.payment}" for r in results][:20]},
        )
        return pb.RecordPaymentEventsResponse(results=results)

    async def ReconcilePayments(self, request: pb.ReconcilePaymentsRequest, context) -> pb.ReconcilePaymentsResponse:
        return report_to_proto(await self._reconciliation.report(request.start_date, request.end_date))
