"""Receipts: when a payment of a known invoice is captured, the customer gets a receipt on WhatsApp (and, once
messaging carries it, an `order_status` update of the order_details they paid), through messaging with
commerce's service identity.

A receipt is owed from the write that captured the payment (its `receipt` is DUE); it is sent right after, and
whatever is still DUE is sent again by a sweep every WECARE_PAYMENTS_SWEEP_SECONDS, so a messaging outage delays
a receipt and loses none. The idempotency key `payments/<id>/receipt` makes a repeat send nothing twice.
Messaging's refusals (no consent, window closed without a template) are final: the receipt is REFUSED, logged
with the reason."""

from __future__ import annotations

import asyncio
import logging

from runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.commerce.adapters.messenger import Messenger, Outgoing
from services.commerce.adapters.pay_store import PayStore
from services.commerce.domain import order_details
from services.commerce.domain.money import inr
from services.commerce.domain.payments import Payment
from services.commerce.usecases.invoices import Invoices
from wecare.messaging.v1 import messaging_service_pb2 as mpb

log = logging.getLogger("wecare.commerce.receipts")
FINAL = (FailedPrecondition, InvalidArgument, PermissionDenied, NotFound)


def receipt_text(payment: Payment, number: str, total: int, paid: int, business: str) -> str:
    left = total - paid
    balance = f"Balance due: INR {inr(left)}." if left > 0 else "Paid in full."
    return (
        f"{business}: payment of INR {inr(payment.amount)} received for invoice {number} "
        f"(reference {payment.id}). Paid so far INR {inr(paid)} of INR {inr(total)}. {balance} Thank you!"
    )


class Receipts:
    def __init__(self, pay: PayStore, invoices: Invoices, messenger: Messenger):
        self._pay = pay
        self._invoices = invoices
        self._messenger = messenger

    async def send(self, payment: Payment) -> str:
        """Sends the receipt of a captured payment; returns its new state (SENT, REFUSED, or DUE to retry)."""
        if payment.receipt != "DUE" or not payment.invoice:
            return payment.receipt
        try:
            invoice = await self._invoices.get(payment.invoice)
            owed = invoice.totals.total - invoice.credited
            text = receipt_text(payment, invoice.number, owed, invoice.paid, self._invoices.business.name)
            contact = f"contacts/{invoice.contact}"
            await self._messenger.send(
                Outgoing(
                    mpb.CHANNEL_WHATSAPP,
                    contact,
                    mpb.Content(text=mpb.TextContent(body=text)),
                    f"{payment.name}/receipt",
                )
            )
            if self._messenger.supports_order_messages:
                status = "completed" if invoice.due <= 0 else "captured"
                update = order_details.order_status(invoice, status, text[:1024])
                await self._messenger.send_interactive(contact, update, f"{payment.name}/order_status")
        except FINAL as exc:
            log.warning("receipt refused; not retried", extra={"payment": payment.name, "why": str(exc)})
            await self._pay.annotate(payment.id, receipt="REFUSED")
            return "REFUSED"
        except Exception as exc:
            log.warning("receipt not sent yet; the sweep retries", extra={"payment": payment.name, "error": repr(exc)})
            return "DUE"
        await self._pay.annotate(payment.id, receipt="SENT")
        return "SENT"

    async def sweep(self, limit: int = 100) -> int:
        """Sends every receipt still owed; returns how many went."""
        sent = 0
        for payment in await self._pay.receipts_due(limit):
            sent += await self.send(payment) == "SENT"
        return sent

    async def run(self, every: float) -> None:
        """The sweep, forever (a background task of the process)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.sweep()
            except Exception:
                log.exception("receipt sweep failed; next round in %ss", every)
