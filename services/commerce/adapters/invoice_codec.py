"""Invoice <-> plain dict (every amount an int), shared by the stores that keep an invoice as one document."""

from __future__ import annotations

import dataclasses
from typing import Any

from services.commerce.domain.invoices import Customer, Invoice, Kind, Line


def to_document(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "kind": invoice.kind.value,
        "contact": invoice.contact,
        "customer": dataclasses.asdict(invoice.customer),
        "lines": [
            {
                "description": line.description,
                "quantity_milli": line.quantity_milli,
                "unit_price": line.unit_price,
                "rate_bp": line.rate_bp,
                "hsn": line.hsn,
                "discount": line.discount,
            }
            for line in invoice.lines
        ],
        "intra_state": invoice.intra_state,
        "discount": invoice.discount,
        "due_date": invoice.due_date,
        "notes": invoice.notes,
        "number": invoice.number,
        "financial_year": invoice.financial_year,
        "sequence": invoice.sequence,
        "issue_time": invoice.issue_time,
        "credited_invoice": invoice.credited_invoice,
        "paid": invoice.paid,
        "credited": invoice.credited,
        "create_time": invoice.create_time,
        "update_time": invoice.update_time,
        "creator": invoice.creator,
        "version": invoice.version,
    }


def from_document(doc: dict[str, Any]) -> Invoice:
    issue = doc.get("issue_time")
    return Invoice(
        id=doc["id"],
        kind=Kind(doc["kind"]),
        contact=doc["contact"],
        customer=Customer(**doc.get("customer", {})),
        lines=tuple(
            Line(
                description=line["description"],
                quantity_milli=int(line["quantity_milli"]),
                unit_price=int(line["unit_price"]),
                rate_bp=int(line["rate_bp"]),
                hsn=line.get("hsn", ""),
                discount=int(line.get("discount", 0)),
            )
            for line in doc["lines"]
        ),
        intra_state=bool(doc["intra_state"]),
        discount=int(doc.get("discount", 0)),
        due_date=doc.get("due_date", ""),
        notes=doc.get("notes", ""),
        number=doc.get("number", ""),
        financial_year=doc.get("financial_year", ""),
        sequence=int(doc.get("sequence", 0)),
        issue_time=None if issue is None else float(issue),
        credited_invoice=doc.get("credited_invoice", ""),
        paid=int(doc.get("paid", 0)),
        credited=int(doc.get("credited", 0)),
        create_time=float(doc.get("create_time", 0)),
        update_time=float(doc.get("update_time", 0)),
        creator=doc.get("creator", ""),
        version=int(doc.get("version", 1)),
    )
