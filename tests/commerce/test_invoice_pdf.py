"""The invoice PDF opens (pypdf) and its text carries the number, the customer, every line and the totals, to the
paisa; a credit note names its invoice; rendering is deterministic; many lines run onto more pages."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import datetime

from pypdf import PdfReader

from runtime import ids
from services.commerce.adapters.invoice_pdf import Business, filename, render
from services.commerce.domain import gst
from services.commerce.domain.invoices import Customer, Invoice, Kind, Line, issue
from services.commerce.domain.money import inr

JUNE = datetime(2026, 6, 10, 12, 0, tzinfo=gst.IST).timestamp()
BUSINESS = Business("WECARE Digital", "29ABCDE1234F1Z5", "29", "12 MG Road\nBengaluru 560001")


def invoice(lines: tuple[Line, ...], intra: bool = True, **fields) -> Invoice:
    draft = Invoice(
        id=ids.new_id(),
        kind=Kind.INVOICE,
        contact=ids.new_id(),
        lines=lines,
        intra_state=intra,
        customer=Customer("Asha Traders", "27AAAPA1234A1Z5" if not intra else "", "27" if not intra else "29", "Pune"),
        due_date="2026-06-30",
        notes="Thank you for your business.",
        create_time=JUNE,
        **fields,
    )
    return issue(draft, "2026-27", 42, JUNE)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def shows(text: str, label: str, paise: int) -> bool:
    """The label followed by the amount (the extractor puts a line break or spaces between columns)."""
    return re.search(rf"{label}\s+INR {re.escape(inr(paise))}(\s|$)", text) is not None


def test_the_pdf_carries_the_number_the_lines_and_the_totals():
    lines = (
        Line("Assam tea, 1 kg pack", 2000, 45000, 500, "0902", 1000),
        Line("Delivery", 1000, 9999, 1800, "996812"),
        Line("Gift wrap", 1500, 3333, 1800),
    )
    made = invoice(lines, discount=555)
    pdf = render(made, BUSINESS)
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    amounts, totals = made.priced()
    assert made.number == "INV/26-27/00042" and made.number in text
    for expected in ("TAX INVOICE", "WECARE Digital", "GSTIN 29ABCDE1234F1Z5", "Asha Traders", "2026-06-30"):
        assert expected in text
    for line, priced in zip(lines, amounts, strict=True):
        assert line.description in text and inr(priced.total) in text and inr(priced.taxable) in text
    assert "1.5" in text and "18%" in text and "5%" in text
    for label, paise in (("Subtotal", totals.subtotal), ("CGST", totals.cgst), ("SGST", totals.sgst)):
        assert shows(text, label, paise), label
    assert shows(text, "Total", totals.total) and "IGST" not in text
    assert render(made, BUSINESS) == pdf  # deterministic
    assert filename(made) == "INV-26-27-00042.pdf"


def test_inter_state_shows_igst_and_a_credit_note_names_its_invoice():
    across = invoice((Line("Consulting", 1000, 10000000, 1800, "998311"),), intra=False)
    text = text_of(render(across, BUSINESS))
    assert shows(text, "IGST", 1800000) and shows(text, "Total", 11800000) and "CGST" not in text
    note = dataclasses.replace(across, kind=Kind.CREDIT_NOTE, number="CN/26-27/00001", notes="Overbilled hours")
    text = text_of(render(note, BUSINESS, credited_number=across.number))
    assert "CREDIT NOTE" in text and "CN/26-27/00001" in text and across.number in text and "Overbilled hours" in text


def test_many_lines_run_onto_more_pages():
    made = invoice(tuple(Line(f"Item {n}", 1000, 100 * n, 1800) for n in range(1, 121)))
    reader = PdfReader(io.BytesIO(render(made, BUSINESS)))
    assert len(reader.pages) >= 3
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Item 120" in text and shows(text, "Total", made.totals.total)
