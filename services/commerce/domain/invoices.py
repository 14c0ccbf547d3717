"""Invoices and credit notes: what may be asked for, what an invoice is at each step, how it is numbered, and
where it stands with its payments. No I/O; amounts by services/commerce/domain/money.py.

A draft holds what was asked for (lines as quantity, unit price, rate, discount) and whether the supply is
within the business's state (fixed when the draft is made or changed). Issuing gives it `<series>/<yy-yy>/<n>`
(`INV/26-27/00042`: GST rule 46 wants at most 16 characters, one series per financial year, consecutive), and
from then on only its payment summary changes: paid (captured less refunded, recomputed from its payments) and
credited (its credit notes). Its status follows from those and the date; OVERDUE is not stored."""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass, field
from datetime import date

from runtime import ids
from runtime.errors import FieldViolation, InvalidArgument
from services.commerce.domain import gst, money
from services.commerce.domain.money import LineAmounts, LinePrice, Totals

MAX_LINES = 200
MAX_DESCRIPTION = 200
MAX_NOTES = 2000
MAX_TEXT = 300
MAX_SEQUENCE = 999_999  # `INV/26-27/999999` is 16 characters, GST's limit
SERIES = {"INVOICE": "INV", "CREDIT_NOTE": "CN"}
PRINTABLE = re.compile(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")  # newlines and tabs allowed, other controls not


class Kind(enum.Enum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


class Status(enum.Enum):
    DRAFT = "DRAFT"
    ISSUED = "ISSUED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    CREDITED = "CREDITED"


@dataclass(frozen=True)
class Customer:
    display_name: str = ""
    gstin: str = ""
    state_code: str = ""
    address: str = ""


@dataclass(frozen=True)
class Line:
    description: str
    quantity_milli: int
    unit_price: int
    rate_bp: int
    hsn: str = ""
    discount: int = 0

    @property
    def price(self) -> LinePrice:
        return LinePrice(self.quantity_milli, self.unit_price, self.rate_bp, self.discount)


@dataclass(frozen=True)
class Invoice:
    id: str
    kind: Kind
    contact: str  # contact id
    lines: tuple[Line, ...]
    intra_state: bool
    customer: Customer = Customer()
    discount: int = 0
    due_date: str = ""  # YYYY-MM-DD, India time
    notes: str = ""
    number: str = ""
    financial_year: str = ""
    sequence: int = 0
    issue_time: float | None = None
    credited_invoice: str = ""  # a credit note's invoice id
    paid: int = 0  # captured less refunded, from its payments
    credited: int = 0  # its credit notes' totals
    create_time: float = 0
    update_time: float = 0
    creator: str = ""
    version: int = 1
    _priced: tuple = field(default=(), init=False, compare=False, repr=False)  # cache of priced()

    @property
    def name(self) -> str:
        return f"invoices/{self.id}"

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    @property
    def issued(self) -> bool:
        return self.issue_time is not None

    def priced(self) -> tuple[list[LineAmounts], Totals]:
        if not self._priced:
            object.__setattr__(
                self, "_priced", money.price([line.price for line in self.lines], self.discount, self.intra_state)
            )
        return self._priced

    @property
    def totals(self) -> Totals:
        return self.priced()[1]

    @property
    def due(self) -> int:
        """Still owed (negative when overpaid); 0 for drafts and credit notes."""
        if not self.issued or self.kind is Kind.CREDIT_NOTE:
            return 0
        return self.totals.total - self.credited - self.paid

    def status(self, now: float) -> Status:
        if not self.issued:
            return Status.DRAFT
        if self.kind is Kind.CREDIT_NOTE:
            return Status.ISSUED
        owed = self.totals.total - self.credited
        if owed <= 0 and self.paid <= 0:
            return Status.CREDITED
        if self.due <= 0:
            return Status.PAID
        if self.due_date and gst.india_date(now) > date.fromisoformat(self.due_date):
            return Status.OVERDUE
        return Status.PARTIALLY_PAID if self.paid > 0 else Status.ISSUED

    def audit_view(self) -> dict:
        """What the audit log keeps: the money and the references, not the customer's details."""
        return {
            "kind": self.kind.value,
            "number": self.number,
            "contact": self.contact,
            "total_paise": self.totals.total,
            "paid_paise": self.paid,
            "credited_paise": self.credited,
            "version": self.version,
        }


@dataclass(frozen=True)
class LineRequest:
    description: str = ""
    quantity: str = ""
    unit_price: int = 0
    rate_bp: int = 0
    hsn: str = ""
    discount: int = 0
    extras: dict[str, str] = field(default_factory=dict)  # output-only fields the caller set: refused


@dataclass(frozen=True)
class InvoiceRequest:
    """A draft as asked for, before validation (the proto's fields as given)."""

    contact: str = ""
    customer: Customer = Customer()
    lines: tuple[LineRequest, ...] = ()
    discount: int = 0
    currency: str = ""
    due_date: str = ""
    notes: str = ""
    extras: dict[str, str] = field(default_factory=dict)


def _text(bad: list[FieldViolation], path: str, value: str, limit: int, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        bad.append(FieldViolation(path, "required"))
    elif len(value) > limit or not PRINTABLE.match(value):
        bad.append(FieldViolation(path, f"at most {limit} printable characters"))
    return value


def _amount(bad: list[FieldViolation], path: str, value: int) -> int:
    if value < 0:
        bad.append(FieldViolation(path, "paise, zero or more"))
    elif value > money.MAX_PAISE:
        bad.append(FieldViolation(path, f"at most {money.MAX_PAISE} paise"))
    return value


def check_lines(bad: list[FieldViolation], prefix: str, asked: tuple[LineRequest, ...]) -> list[Line]:
    if not 1 <= len(asked) <= MAX_LINES:
        bad.append(FieldViolation(prefix, f"one to {MAX_LINES} lines"))
    lines = []
    for i, item in enumerate(asked):
        at = f"{prefix}[{i}]"
        before = len(bad)
        description = _text(bad, f"{at}.description", item.description, MAX_DESCRIPTION, required=True)
        quantity = 0
        try:
            quantity = money.parse_quantity(item.quantity)
        except ValueError as exc:
            bad.append(FieldViolation(f"{at}.quantity", str(exc)))
        unit_price = _amount(bad, f"{at}.unit_price_paise", item.unit_price)
        if item.rate_bp not in gst.RATES_BP:
            rates = ", ".join(gst.rate_text(r) for r in sorted(gst.RATES_BP))
            bad.append(FieldViolation(f"{at}.gst_rate_basis_points", f"not a GST rate; one of {rates}"))
        if item.hsn and not gst.HSN.match(item.hsn):
            bad.append(FieldViolation(f"{at}.hsn_code", "4, 6 or 8 digits"))
        discount = _amount(bad, f"{at}.discount_paise", item.discount)
        for name, why in item.extras.items():
            bad.append(FieldViolation(f"{at}.{name}", why))
        if len(bad) > before:
            continue
        line = Line(description, quantity, unit_price, item.rate_bp, item.hsn, discount)
        if line.price.gross > money.MAX_PAISE:
            bad.append(FieldViolation(f"{at}.unit_price_paise", "quantity x unit price is too large"))
        elif discount > line.price.gross:
            bad.append(FieldViolation(f"{at}.discount_paise", "larger than the line's value"))
        else:
            lines.append(line)
    return lines


def check_customer(bad: list[FieldViolation], prefix: str, customer: Customer, business_state: str) -> Customer:
    gstin = customer.gstin.strip().upper()
    state = customer.state_code.strip()
    if gstin and not gst.GSTIN.match(gstin):
        bad.append(FieldViolation(f"{prefix}.gstin", "15 characters: state code, PAN, entity, Z, check"))
    if state and state not in gst.STATES:
        bad.append(FieldViolation(f"{prefix}.state_code", "a two-digit GST state code (`29` Karnataka, ...)"))
    elif gstin and gst.GSTIN.match(gstin):
        if state and state != gstin[:2]:
            bad.append(FieldViolation(f"{prefix}.state_code", f"the GSTIN is registered in state {gstin[:2]}"))
        state = gstin[:2]
    return Customer(
        display_name=_text(bad, f"{prefix}.display_name", customer.display_name, MAX_TEXT),
        gstin=gstin,
        state_code=state or business_state,
        address=_text(bad, f"{prefix}.address", customer.address, MAX_NOTES),
    )


def new_draft(asked: InvoiceRequest, *, invoice_id: str, now: float, creator: str, business_state: str) -> Invoice:
    """A valid draft, or INVALID_ARGUMENT naming every bad field (`invoice.line_items[2].quantity`, ...)."""
    bad: list[FieldViolation] = []
    contact = ""
    head, sep, value = asked.contact.partition("/")
    if head != "contacts" or not sep or not ids.is_id(value):
        bad.append(FieldViolation("invoice.contact", "required: `contacts/{id}`"))
    else:
        contact = value
    customer = check_customer(bad, "invoice.customer", asked.customer, business_state)
    lines = check_lines(bad, "invoice.line_items", asked.lines)
    discount = _amount(bad, "invoice.discount_paise", asked.discount)
    if asked.currency not in ("", "INR"):
        bad.append(FieldViolation("invoice.currency_code", "INR is the only currency"))
    if asked.due_date:
        try:
            gst.parse_date(asked.due_date)
        except ValueError:
            bad.append(FieldViolation("invoice.due_date", "a date, `YYYY-MM-DD`"))
    notes = _text(bad, "invoice.notes", asked.notes, MAX_NOTES)
    for name, why in asked.extras.items():
        bad.append(FieldViolation(f"invoice.{name}", why))
    if not bad and lines and discount > sum(line.price.gross - line.discount for line in lines):
        bad.append(FieldViolation("invoice.discount_paise", "larger than the lines' value after their discounts"))
    if bad:
        raise InvalidArgument(bad)
    return Invoice(
        id=invoice_id,
        kind=Kind.INVOICE,
        contact=contact,
        lines=tuple(lines),
        intra_state=customer.state_code == business_state,
        customer=customer,
        discount=discount,
        due_date=asked.due_date,
        notes=notes,
        create_time=now,
        update_time=now,
        creator=creator,
    )


def new_credit_note(
    invoice: Invoice, asked: tuple[LineRequest, ...], reason: str, *, note_id: str, now: float, creator: str
) -> Invoice:
    """A credit note against an issued invoice, priced as the invoice is (same supply type); INVALID_ARGUMENT
    when a line is bad or it credits more than is left."""
    bad: list[FieldViolation] = []
    lines = check_lines(bad, "line_items", asked)
    reason = _text(bad, "reason", reason, MAX_NOTES, required=True)
    if bad:
        raise InvalidArgument(bad)
    note = Invoice(
        id=note_id,
        kind=Kind.CREDIT_NOTE,
        contact=invoice.contact,
        lines=tuple(lines),
        intra_state=invoice.intra_state,
        customer=invoice.customer,
        notes=reason,
        credited_invoice=invoice.id,
        create_time=now,
        update_time=now,
        creator=creator,
    )
    left = invoice.totals.total - invoice.credited
    if note.totals.total > left:
        raise InvalidArgument(
            "line_items", f"credits {money.inr(note.totals.total)}, more than the {money.inr(left)} left to credit"
        )
    return note


def number_of(kind: Kind, year: str, sequence: int) -> str:
    """`INV/26-27/00042`: series, the financial year's two-digit years, the sequence (five digits at least)."""
    return f"{SERIES[kind.value]}/{year[2:4]}-{year[5:7]}/{sequence:05d}"


def issue(invoice: Invoice, year: str, sequence: int, now: float) -> Invoice:
    return dataclasses.replace(
        invoice,
        number=number_of(invoice.kind, year, sequence),
        financial_year=year,
        sequence=sequence,
        issue_time=now,
        update_time=now,
        version=invoice.version + 1,
    )


def request_of(invoice: Invoice) -> InvoiceRequest:
    """A draft back as a request (UpdateInvoice merges the fields its mask names into this, then re-checks all)."""
    return InvoiceRequest(
        contact=f"contacts/{invoice.contact}",
        customer=invoice.customer,
        lines=tuple(
            LineRequest(
                description=line.description,
                quantity=money.format_quantity(line.quantity_milli),
                unit_price=line.unit_price,
                rate_bp=line.rate_bp,
                hsn=line.hsn,
                discount=line.discount,
            )
            for line in invoice.lines
        ),
        discount=invoice.discount,
        due_date=invoice.due_date,
        notes=invoice.notes,
    )
