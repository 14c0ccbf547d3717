"""Payment and PaymentLink <-> plain dict (amounts int), shared by the stores that keep them as documents."""

from __future__ import annotations

import dataclasses
from typing import Any

from services.commerce.domain.payments import Payment, PaymentLink, PaymentState, Refund, RefundState


def _time(value: Any) -> float | None:
    return None if value is None else float(value)


def to_document(payment: Payment) -> dict[str, Any]:
    doc = dataclasses.asdict(payment)
    doc["state"] = payment.state.name
    doc["refunds"] = [{**dataclasses.asdict(r), "state": r.state.name} for r in payment.refunds]
    return doc


def from_document(doc: dict[str, Any]) -> Payment:
    return Payment(
        id=doc["id"],
        state=PaymentState[doc["state"]],
        amount=int(doc["amount"]),
        currency=doc.get("currency", "INR"),
        invoice=doc.get("invoice", ""),
        provider=doc.get("provider", ""),
        method=doc.get("method", ""),
        refunds=tuple(
            Refund(
                id=r["id"],
                amount=int(r["amount"]),
                state=RefundState[r["state"]],
                reason=r.get("reason", ""),
                create_time=float(r.get("create_time") or 0),
            )
            for r in doc.get("refunds", [])
        ),
        error_code=doc.get("error_code", ""),
        error_description=doc.get("error_description", ""),
        create_time=_time(doc.get("create_time")),
        capture_time=_time(doc.get("capture_time")),
        update_time=float(doc.get("update_time") or 0),
        event_count=int(doc.get("event_count", 0)),
        already_paid=bool(doc.get("already_paid", False)),
        receipt=doc.get("receipt", ""),
        version=int(doc.get("version", 0)),
    )


def link_to_document(link: PaymentLink) -> dict[str, Any]:
    return dataclasses.asdict(link)


def link_from_document(doc: dict[str, Any]) -> PaymentLink:
    return PaymentLink(
        id=doc["id"],
        invoice=doc["invoice"],
        amount=int(doc["amount"]),
        provider_url=doc.get("provider_url", ""),
        tracked_url=doc.get("tracked_url", ""),
        create_time=float(doc.get("create_time") or 0),
        expire_time=_time(doc.get("expire_time")),
    )
