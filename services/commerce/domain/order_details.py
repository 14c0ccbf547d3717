"""WhatsApp's payment messages for India, as Meta's interactive objects: `order_details` (review and pay) for an
issued invoice, and `order_status` after a payment. No I/O.

Meta checks the figures: each item's amount times its quantity adds up to the subtotal, and
total = subtotal + tax - discount. Amounts are `{"value": <paise>, "offset": 100}`. The invoice's lines map one
to one (quantities of whole units; a line with a fractional quantity goes as one item priced at its gross), its
discounts to `discount` and its GST to `tax`, so the total is the invoice's to the paisa. reference_id is the
invoice id, so payment statuses come back to the invoice."""

from __future__ import annotations

from typing import Any

from services.commerce.domain import money
from services.commerce.domain.invoices import Invoice

OFFSET = 100  # amounts in paise
MAX_ITEM_NAME = 60


def _amount(paise: int) -> dict[str, int]:
    return {"value": paise, "offset": OFFSET}


def order_items(invoice: Invoice) -> list[dict[str, Any]]:
    amounts, _ = invoice.priced()
    items = []
    for i, (line, priced) in enumerate(zip(invoice.lines, amounts, strict=True)):
        whole = line.quantity_milli % money.MILLI == 0
        items.append(
            {
                "retailer_id": f"{invoice.id}-{i + 1}",
                "name": line.description[:MAX_ITEM_NAME],
                "amount": _amount(line.unit_price if whole else priced.gross),
                "quantity": line.quantity_milli // money.MILLI if whole else 1,
            }
        )
    return items


def order_details(invoice: Invoice, payment_configuration: str, body_text: str, expire_at: int | None = None) -> dict:
    """The `interactive` object of an order_details message for an issued invoice."""
    totals = invoice.totals
    order: dict[str, Any] = {
        "status": "pending",
        "items": order_items(invoice),
        "subtotal": _amount(totals.subtotal),
        "tax": {**_amount(totals.tax), "description": "GST"},
    }
    if totals.discount:
        order["discount"] = {**_amount(totals.discount), "description": "Discount"}
    if expire_at is not None:
        order["expiration"] = {"timestamp": str(expire_at), "description": "Pay by the due date"}
    return {
        "type": "order_details",
        "body": {"text": body_text},
        "footer": {"text": invoice.number},
        "action": {
            "name": "review_and_pay",
            "parameters": {
                "reference_id": invoice.id,
                "type": "digital-goods",
                "payment_configuration": payment_configuration,
                "currency": "INR",
                "total_amount": _amount(totals.total),
                "order": order,
            },
        },
    }


def order_status(invoice: Invoice, status: str, description: str) -> dict:
    """The `interactive` object of an order_status message: `captured`, `failed`, `pending`, `completed`, ..."""
    return {
        "type": "order_status",
        "body": {"text": description},
        "action": {
            "name": "review_order",
            "parameters": {"reference_id": invoice.id, "order": {"status": status, "description": description}},
        },
    }


def adds_up(interactive: dict) -> bool:
    """Meta's own check of an order_details object."""
    parameters = interactive["action"]["parameters"]
    order = parameters["order"]
    subtotal = sum(item["amount"]["value"] * item["quantity"] for item in order["items"])
    discount = order.get("discount", {}).get("value", 0)
    return (
        subtotal == order["subtotal"]["value"]
        and parameters["total_amount"]["value"] == subtotal + order["tax"]["value"] - discount
    )
