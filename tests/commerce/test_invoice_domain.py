"""The invoice domain: statuses from payments, credits and the date (India time); numbers of at most 16
characters per GST rule 46; the financial year's edges; credit notes never credit more than is left."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from runtime import ids
from runtime.errors import InvalidArgument
from services.commerce.domain import gst
from services.commerce.domain.invoices import (
    Invoice,
    Kind,
    Line,
    LineRequest,
    Status,
    issue,
    new_credit_note,
    number_of,
)


def at(*parts: int) -> float:
    return datetime(*parts, tzinfo=gst.IST).timestamp()


def invoice(**fields) -> Invoice:
    draft = Invoice(
        id=ids.new_id(),
        kind=Kind.INVOICE,
        contact=ids.new_id(),
        lines=(Line("Tea", 1000, 100000, 1800),),
        intra_state=True,
        due_date="2026-06-30",
        **fields,
    )
    return issue(draft, "2026-27", 7, at(2026, 6, 1, 10))


def test_financial_years_turn_at_midnight_on_1_april_india_time():
    assert gst.financial_year(at(2027, 3, 31, 23, 59, 59)) == "2026-27"
    assert gst.financial_year(at(2027, 4, 1, 0, 0, 0)) == "2027-28"
    assert gst.financial_year(datetime.fromisoformat("2027-03-31T19:00:00+00:00").timestamp()) == "2027-28"  # 00:30 IST
    assert gst.financial_year(at(2099, 12, 31, 12)) == "2099-00"


def test_numbers_fit_gst_rule_46():
    assert number_of(Kind.INVOICE, "2026-27", 42) == "INV/26-27/00042"
    assert number_of(Kind.CREDIT_NOTE, "2026-27", 1) == "CN/26-27/00001"
    assert len(number_of(Kind.INVOICE, "2026-27", 999_999)) == 16


def test_status_follows_payments_credits_and_the_due_date():
    issued = invoice()
    total = issued.totals.total
    june = at(2026, 6, 15, 12)
    assert issued.status(june) is Status.ISSUED and issued.due == total == 118000
    assert issued.status(at(2026, 6, 30, 23, 59)) is Status.ISSUED  # due that day, India time
    assert issued.status(at(2026, 7, 1, 0, 1)) is Status.OVERDUE
    part = dataclasses.replace(issued, paid=18000)
    assert part.status(june) is Status.PARTIALLY_PAID and part.status(at(2026, 7, 2)) is Status.OVERDUE
    assert dataclasses.replace(issued, paid=total).status(at(2027, 1, 1)) is Status.PAID
    over = dataclasses.replace(issued, paid=total + 1)
    assert over.status(june) is Status.PAID and over.due == -1
    assert dataclasses.replace(issued, credited=total).status(june) is Status.CREDITED
    assert dataclasses.replace(issued, credited=100000, paid=18000).status(june) is Status.PAID
    draft = dataclasses.replace(issued, issue_time=None)
    assert draft.status(june) is Status.DRAFT and draft.due == 0


def test_a_credit_note_never_credits_more_than_is_left():
    issued = dataclasses.replace(invoice(), credited=18000)
    line = LineRequest(description="Refund", unit_price=84746, rate_bp=1800)  # 84746 + 15254 = 100000
    note = new_credit_note(issued, (line,), "returned", note_id=ids.new_id(), now=0, creator="admin")
    assert note.totals.total == 100000 and note.kind is Kind.CREDIT_NOTE and note.credited_invoice == issued.id
    more = LineRequest(description="Refund", unit_price=84747, rate_bp=1800)
    with pytest.raises(InvalidArgument) as refused:
        new_credit_note(issued, (more,), "returned", note_id=ids.new_id(), now=0, creator="admin")
    assert [v.field for v in refused.value.violations] == ["line_items"]
    with pytest.raises(InvalidArgument) as unnamed:
        new_credit_note(issued, (line,), " ", note_id=ids.new_id(), now=0, creator="admin")
    assert [v.field for v in unnamed.value.violations] == ["reason"]
