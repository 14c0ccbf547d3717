"""An issued invoice or credit note as a PDF (ReportLab: BSD licence, maintained since 2000, pure Python; the
standard Helvetica fonts need no font files, so amounts say `INR` rather than the rupee sign those fonts lack).

The figures are the domain's (services/commerce/domain/money.py), printed with Indian digit grouping; nothing is
computed here. The output is deterministic (ReportLab's invariant mode): the same invoice renders to the same
bytes, so a re-render after a crash is the same document."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from services.commerce.domain import gst
from services.commerce.domain.invoices import Invoice, Kind
from services.commerce.domain.money import format_quantity, inr

MARGIN = 40
LINE = 13
FONT = "Helvetica"
BOLD = "Helvetica-Bold"
# Columns of the lines table: (title, x of its right edge or left edge for text, right-aligned).
COLUMNS = (
    ("#", 40, False),
    ("Description", 58, False),
    ("HSN/SAC", 250, False),
    ("Qty", 330, True),
    ("Rate", 390, True),
    ("Taxable", 460, True),
    ("GST", 495, True),
    ("Amount", 555, True),
)


@dataclass(frozen=True)
class Business:
    """The seller as printed (settings: WECARE_INVOICE_BUSINESS_*)."""

    name: str
    gstin: str
    state_code: str
    address: str


def filename(invoice: Invoice) -> str:
    return (invoice.number or invoice.id).replace("/", "-") + ".pdf"


def render(invoice: Invoice, business: Business, credited_number: str = "") -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1, pageCompression=0)
    title = "CREDIT NOTE" if invoice.kind is Kind.CREDIT_NOTE else "TAX INVOICE"
    pdf.setTitle(f"{title} {invoice.number}")
    pdf.setAuthor(business.name)
    width, height = A4
    y = height - MARGIN

    def text(x: float, words: str, font: str = FONT, size: int = 9, right: bool = False) -> None:
        pdf.setFont(font, size)
        (pdf.drawRightString if right else pdf.drawString)(x, y, words)

    def next_line(lines: int = 1) -> None:
        nonlocal y
        y -= LINE * lines
        if y < MARGIN + LINE * 3:
            pdf.showPage()
            y = height - MARGIN

    text(MARGIN, business.name, BOLD, 14)
    text(width - MARGIN, title, BOLD, 14, right=True)
    next_line(1.5)
    for words in (f"GSTIN {business.gstin}" if business.gstin else "", *business.address.splitlines()):
        if words:
            text(MARGIN, words)
            next_line()
    state = gst.STATES.get(business.state_code, business.state_code)
    text(MARGIN, f"State: {state} ({business.state_code})")
    next_line(1.5)
    issued = datetime.fromtimestamp(invoice.issue_time or invoice.create_time, gst.IST).date().isoformat()
    facts = [("Number", invoice.number or "DRAFT"), ("Date", issued)]
    if invoice.kind is Kind.CREDIT_NOTE:
        facts.append(("Against invoice", credited_number))
    elif invoice.due_date:
        facts.append(("Due date", invoice.due_date))
    customer = invoice.customer
    place = gst.STATES.get(customer.state_code, customer.state_code)
    facts.append(("Place of supply", f"{place} ({customer.state_code})"))
    for label, value in facts:
        text(MARGIN, f"{label}:", BOLD)
        text(MARGIN + 90, value)
        next_line()
    next_line(0.5)
    text(MARGIN, "Bill to", BOLD)
    next_line()
    for words in (
        customer.display_name,
        f"GSTIN {customer.gstin}" if customer.gstin else "",
        *customer.address.splitlines(),
    ):
        if words:
            text(MARGIN, words)
            next_line()
    next_line(0.5)

    for title_text, x, right in COLUMNS:
        text(x, title_text, BOLD, 8, right=right)
    next_line()
    pdf.line(MARGIN, y + LINE - 3, width - MARGIN, y + LINE - 3)
    amounts, totals = invoice.priced()
    for n, (line, priced) in enumerate(zip(invoice.lines, amounts, strict=True), start=1):
        row = (
            str(n),
            line.description[:40],
            line.hsn,
            format_quantity(line.quantity_milli),
            inr(line.unit_price),
            inr(priced.taxable),
            gst.rate_text(line.rate_bp),
            inr(priced.total),
        )
        for (_, x, right), value in zip(COLUMNS, row, strict=True):
            text(x, value, FONT, 8, right=right)
        next_line()
        if len(line.description) > 40:
            text(COLUMNS[1][1], line.description[40:100], FONT, 7)
            next_line()
    pdf.line(MARGIN, y + LINE - 3, width - MARGIN, y + LINE - 3)
    next_line(0.5)

    rows = [("Subtotal", totals.subtotal)]
    if totals.discount:
        rows.append(("Discount", -totals.discount))
    rows.append(("Taxable value", totals.taxable))
    if invoice.intra_state:
        rows += [("CGST", totals.cgst), ("SGST", totals.sgst)]
    else:
        rows.append(("IGST", totals.igst))
    for label, paise in rows:
        text(430, label, FONT, 9, right=True)
        text(width - MARGIN, f"INR {inr(paise)}", FONT, 9, right=True)
        next_line()
    text(430, "Total", BOLD, 11, right=True)
    text(width - MARGIN, f"INR {inr(totals.total)}", BOLD, 11, right=True)
    next_line(2)
    if invoice.notes:
        text(MARGIN, "Reason" if invoice.kind is Kind.CREDIT_NOTE else "Notes", BOLD)
        next_line()
        for words in invoice.notes.splitlines():
            text(MARGIN, words[:110])
            next_line()
    pdf.showPage()
    pdf.save()
    return out.getvalue()
