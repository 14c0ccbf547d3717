"""WhatsApp's payment statuses (India, payment gateway on WhatsApp): what one says of its payment.

Meta sends them in the webhook's `statuses`, with `type: payment` and the order_details message's reference_id:

  {"id": "<wamid>", "status": "captured" | "pending" | "failed", "type": "payment", "timestamp": "<epoch>",
   "payment": {"reference_id": "<invoice id>", "amount": {"value": 21000, "offset": 100}, "currency": "INR",
               "transaction": {"id": "<the gateway's payment id>", "type": "razorpay",
                               "status": "success" | "pending" | "failed", "method": {"type": "upi"},
                               "created_timestamp": <ms>, "error": {"code": "...", "reason": "..."}}}}

RecordPaymentEvents takes one such status object as an event's payload (or a `value` holding `statuses`).
The transaction id is the gateway's payment id, so a payment told by both WhatsApp and the gateway's webhook is
one payment, merged, never two."""

from __future__ import annotations

import json
from typing import Any

from services.commerce.adapters.payment_provider import WebhookEvent
from services.commerce.adapters.razorpay import invoice_of
from services.commerce.domain.payments import ID, Observation, PaymentState

TRANSACTION_STATES = {"success": PaymentState.CAPTURED, "pending": PaymentState.PENDING, "failed": PaymentState.FAILED}
STATUS_STATES = {"captured": PaymentState.CAPTURED, "pending": PaymentState.PENDING, "failed": PaymentState.FAILED}


def paise(amount: Any) -> int:
    """Meta's `{"value": v, "offset": o}` in paise; ValueError unless it is a whole number of paise."""
    if not isinstance(amount, dict):
        raise ValueError("amount must be {value, offset}")
    value, offset = amount.get("value"), amount.get("offset", 100)
    if isinstance(value, bool) or not isinstance(value, int) or not isinstance(offset, int) or offset <= 0:
        raise ValueError("amount.value and amount.offset must be whole numbers")
    if (value * 100) % offset:
        raise ValueError("the amount has a fraction of a paisa")
    return value * 100 // offset


def observation_of(status: dict[str, Any]) -> Observation:
    payment = status.get("payment")
    if status.get("type") != "payment" or not isinstance(payment, dict):
        raise ValueError("not a payment status (type `payment` with a payment object)")
    transaction = payment.get("transaction") if isinstance(payment.get("transaction"), dict) else {}
    payment_id = str(transaction.get("id", ""))
    if not ID.match(payment_id):
        raise ValueError("the payment status has no transaction id")
    state = TRANSACTION_STATES.get(str(transaction.get("status", ""))) or STATUS_STATES.get(str(status.get("status")))
    if state is None:
        raise ValueError(f"unknown payment status {status.get('status')!r}")
    at = float(status.get("timestamp") or 0) or None
    created = transaction.get("created_timestamp")
    error = transaction.get("error") if isinstance(transaction.get("error"), dict) else {}
    method = transaction.get("method") if isinstance(transaction.get("method"), dict) else {}
    return Observation(
        payment_id=payment_id,
        state=state,
        amount=paise(transaction.get("amount") or payment.get("amount")),
        currency=str(transaction.get("currency") or payment.get("currency") or "INR"),
        invoice=invoice_of(payment.get("reference_id")),
        method=str(method.get("type", "")),
        provider=str(transaction.get("type") or "razorpay"),
        error_code=str(error.get("code", "")),
        error_description=str(error.get("reason", "")),
        create_time=float(created) / 1000 if isinstance(created, int) else at,
        capture_time=at if state is PaymentState.CAPTURED else None,
    )


def parse_status(body: bytes) -> WebhookEvent:
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("the payload is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the payload is not a JSON object")
    statuses = data["statuses"] if isinstance(data.get("statuses"), list) else [data]
    found = [observation_of(s) for s in statuses if isinstance(s, dict) and s.get("type") == "payment"]
    if not found:
        raise ValueError("no payment status in the payload")
    return WebhookEvent("whatsapp.payment", found)
