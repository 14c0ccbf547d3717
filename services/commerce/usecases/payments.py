"""Payments: events from the provider's webhook and WhatsApp's payment statuses, refunds, and reading them.

An event is parsed by its source (a Razorpay webhook body, a WhatsApp payment status), then each payment it
speaks of is recorded under the event's key (`<source>:<event id>`, once whatever the repeats), then the
invoice is settled (its paid amount recomputed from all its payments) and a receipt owed is sent. A repeated
event changes nothing but still settles its invoice: that repairs an invoice whose settling failed after its
payment was recorded (the provider repeats an event until it gets a 2xx).

A payment naming no invoice of ours is kept with the UNKNOWN_INVOICE flag, never dropped; one captured for an
invoice already paid in full is kept and counted, with the ALREADY_PAID flag; both are in the reconciliation
report. An event that cannot be parsed is logged whole at ERROR (the log pipeline keeps it) and answered
REJECTED: repeating it would not help."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.commerce.adapters.pay_store import PayStore
from services.commerce.adapters.payment_provider import PaymentProvider, ProviderError, ProviderUnavailable
from services.commerce.adapters.whatsapp_payments import parse_status
from services.commerce.domain.payments import ID, Observation, Payment, PaymentState
from services.commerce.usecases.invoices import Invoices
from services.commerce.usecases.receipts import Receipts

log = logging.getLogger("wecare.commerce.payments")
PROVIDER, WHATSAPP = "provider", "whatsapp"
MAX_EVENT_ID = 200


@dataclass(frozen=True)
class EventResult:
    outcome: str  # APPLIED | DUPLICATE | IGNORED | REJECTED
    payment: str = ""
    detail: str = ""


class Payments:
    def __init__(
        self,
        pay: PayStore,
        invoices: Invoices,
        provider: PaymentProvider,
        receipts: Receipts,
        clock: Callable[[], float] = time.time,
    ):
        self._pay = pay
        self._invoices = invoices
        self.provider = provider
        self._receipts = receipts
        self._clock = clock

    async def get(self, payment_id: str) -> Payment:
        payment = await self._pay.get(payment_id) if ID.match(payment_id) else None
        if payment is None:
            raise NotFound(f"payments/{payment_id} does not exist")
        return payment

    async def list(self, after_id: str | None, limit: int) -> list[Payment]:
        return await self._pay.list(after_id, limit)

    async def of_invoice(self, invoice_id: str) -> list[Payment]:
        await self._invoices.get(invoice_id)
        return await self._pay.of_invoice(invoice_id)

    async def record(self, source: str, event_id: str, payload: bytes) -> EventResult:
        if not event_id or len(event_id) > MAX_EVENT_ID or not event_id.isprintable():
            return EventResult("REJECTED", detail=f"event_id: 1 to {MAX_EVENT_ID} printable characters")
        try:
            event = self.provider.parse_webhook(payload) if source == PROVIDER else parse_status(payload)
        except ValueError as exc:
            log.error(
                "payment event not understood; kept here",
                extra={
                    "source": source,
                    "event_id": event_id,
                    "why": str(exc),
                    "payload": payload[:65536].decode("utf-8", "replace"),
                },
            )
            return EventResult("REJECTED", detail=str(exc))
        if not event.observations:
            return EventResult("IGNORED", detail=f"{event.kind}: nothing about a payment")
        outcome, names = "DUPLICATE", []
        for n, seen in enumerate(event.observations):
            key = f"{source}:{event_id}" + (f":{n}" if n else "")
            recorded = await self._pay.record(key, await self._checked(seen), self._clock())
            outcome = outcome if recorded.duplicate else "APPLIED"
            if recorded.payment is not None:
                names.append(recorded.payment.name)
                await self._follow(recorded.payment)
        return EventResult(outcome, payment=names[0] if names else "")

    async def _checked(self, seen: Observation) -> Observation:
        """The observation with its invoice cleared when no such invoice of ours exists (the payment is then
        kept as UNKNOWN_INVOICE, the reference it claimed in the log)."""
        if seen.invoice:
            try:
                invoice = await self._invoices.get(seen.invoice)
            except NotFound:
                invoice = None
            if invoice is None or not invoice.issued:
                log.warning(
                    "payment names no issued invoice of ours; kept and flagged",
                    extra={"payment": seen.payment_id, "claimed_invoice": seen.invoice},
                )
                return dataclasses.replace(seen, invoice="")
        return seen

    async def _follow(self, payment: Payment) -> None:
        """After a payment moved: its invoice follows, and its receipt goes if one is owed."""
        if payment.invoice:
            await self._invoices.settle(payment.invoice)
        if payment.receipt == "DUE":
            await self._receipts.send(payment)

    async def refund(self, payment_id: str, amount: int, reason: str, request_id: str) -> tuple[Payment, Payment]:
        """(before, after). Through the provider's refund API, idempotent on request_id."""
        payment = await self.get(payment_id)
        reason = reason.strip()
        if not reason or len(reason) > 250:
            raise InvalidArgument("reason", "required, at most 250 characters")
        if amount < 0:
            raise InvalidArgument("amount_paise", "paise, zero (all that is left) or more")
        if payment.state is not PaymentState.CAPTURED:
            raise FailedPrecondition(
                f"{payment.name} is {payment.state.name}: only captured payments are refunded",
                reason="PAYMENT_NOT_CAPTURED",
                metadata={"subject": payment.name},
            )
        if request_id and (len(request_id) > 200 or not request_id.isprintable()):
            raise InvalidArgument("request_id", "at most 200 printable characters")
        key = hashlib.sha256(f"{payment.id}|{request_id}".encode()).hexdigest()[:40] if request_id else uuid.uuid4().hex
        if not request_id or not any(r.reason.endswith(f"[{key[:12]}]") for r in payment.refunds):
            left = payment.refundable
            amount = amount or left
            if amount <= 0 or amount > left:
                raise InvalidArgument("amount_paise", f"at most the {left} paise not refunded yet")
            try:
                refund = await self.provider.refund(payment.id, amount, key, f"{reason} [{key[:12]}]")
            except ProviderUnavailable as exc:
                raise Unavailable(
                    f"the payment provider did not answer; retry with the same request_id ({exc})"
                ) from exc
            except ProviderError as exc:
                raise FailedPrecondition(
                    f"the payment provider refused the refund: {exc}", reason="PROVIDER_REFUSED"
                ) from exc
            await self._pay.record(
                f"api:refund:{refund.id}:{refund.state.name}",
                Observation(payment_id=payment.id, state=None, refunds=(refund,)),
                self._clock(),
            )
        after = await self.get(payment_id)
        await self._follow(after)
        return payment, after
