"""Money of invoices, in integer paise only: no float anywhere on this path (tests/commerce/test_money.py scans
the money modules for one).

The one rounding rule, applied in this order to each line:

  gross    = quantity x unit price; quantities have at most three decimals, so gross is rounded half up to
             the paisa (exact for whole quantities)
  discount = the line's own discount + its share of the invoice's discount; the invoice's discount is shared
             over the lines in proportion to what is left of each after its own discount, by largest remainder
             (shares add up to the discount exactly; ties go to the earlier line)
  taxable  = gross - discount
  tax      = taxable x rate, rounded half up to the paisa (rates are basis points: 1800 = 18%)
  CGST     = tax - tax // 2 and SGST = tax // 2 within a state (CGST takes the odd paisa); IGST = tax across
  total    = taxable + tax

Every invoice total is the exact sum of its lines', so total = subtotal - discount + CGST + SGST + IGST holds to
the paisa by construction. Amounts are never negative; a credit note is its own document with positive amounts."""

from __future__ import annotations

import re
from dataclasses import dataclass

MILLI = 1000  # quantities are kept as thousandths
BASIS = 10_000  # rates are basis points
MAX_PAISE = 10**15  # ten lakh crore rupees: far above any invoice, far below int64
QUANTITY = re.compile(r"^(\d{1,9})(?:\.(\d{1,3}))?$")


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves up (both non-negative, denominator > 0)."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def parse_quantity(text: str) -> int:
    """A quantity as thousandths: `2` -> 2000, `1.5` -> 1500; empty means 1. ValueError says what is wrong."""
    text = text.strip() or "1"
    match = QUANTITY.match(text)
    if match is None:
        raise ValueError("a decimal above zero with at most three decimals, e.g. `2` or `1.5`")
    whole, fraction = match.group(1), (match.group(2) or "").ljust(3, "0")
    milli = int(whole) * MILLI + int(fraction)
    if milli <= 0:
        raise ValueError("must be above zero")
    return milli


def format_quantity(milli: int) -> str:
    whole, fraction = divmod(milli, MILLI)
    return f"{whole}.{fraction:03d}".rstrip("0").rstrip(".") if fraction else str(whole)


def split_half(tax: int) -> tuple[int, int]:
    """(CGST, SGST) of an intra-state tax: CGST takes the odd paisa, so the two add up to tax exactly."""
    return tax - tax // 2, tax // 2


def allocate(amount: int, weights: list[int]) -> list[int]:
    """amount shared in proportion to weights by largest remainder: the shares add up to amount exactly, none
    exceeds its weight when amount <= sum(weights), ties go to the earlier weight."""
    total = sum(weights)
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate takes non-negative amounts")
    if total == 0:
        if amount:
            raise ValueError("nothing to share the amount over")
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    left = amount - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


@dataclass(frozen=True)
class LinePrice:
    """What a line asks for, already validated: quantity in thousandths, paise, basis points."""

    quantity_milli: int
    unit_price: int
    rate_bp: int
    discount: int = 0

    @property
    def gross(self) -> int:
        return round_half_up(self.quantity_milli * self.unit_price, MILLI)


@dataclass(frozen=True)
class LineAmounts:
    gross: int
    discount: int
    taxable: int
    cgst: int
    sgst: int
    igst: int

    @property
    def tax(self) -> int:
        return self.cgst + self.sgst + self.igst

    @property
    def total(self) -> int:
        return self.taxable + self.tax


@dataclass(frozen=True)
class Totals:
    subtotal: int = 0
    discount: int = 0
    taxable: int = 0
    cgst: int = 0
    sgst: int = 0
    igst: int = 0

    @property
    def tax(self) -> int:
        return self.cgst + self.sgst + self.igst

    @property
    def total(self) -> int:
        return self.taxable + self.tax


def line_amounts(gross: int, discount: int, rate_bp: int, intra_state: bool) -> LineAmounts:
    taxable = gross - discount
    tax = round_half_up(taxable * rate_bp, BASIS)
    cgst, sgst = split_half(tax) if intra_state else (0, 0)
    return LineAmounts(gross, discount, taxable, cgst, sgst, 0 if intra_state else tax)


def price(lines: list[LinePrice], invoice_discount: int, intra_state: bool) -> tuple[list[LineAmounts], Totals]:
    """Each line's amounts and the invoice's totals by the rule above. The caller has checked that every line's
    discount is at most its gross and the invoice's discount at most what is left (ValueError otherwise)."""
    grosses = [line.gross for line in lines]
    after_own = [g - line.discount for g, line in zip(grosses, lines, strict=True)]
    if any(a < 0 for a in after_own) or invoice_discount > sum(after_own):
        raise ValueError("a discount is larger than what it discounts")
    shares = allocate(invoice_discount, after_own)
    amounts = [
        line_amounts(g, line.discount + share, line.rate_bp, intra_state)
        for g, line, share in zip(grosses, lines, shares, strict=True)
    ]
    return amounts, totals_of(amounts)


def totals_of(amounts: list[LineAmounts]) -> Totals:
    return Totals(
        subtotal=sum(a.gross for a in amounts),
        discount=sum(a.discount for a in amounts),
        taxable=sum(a.taxable for a in amounts),
        cgst=sum(a.cgst for a in amounts),
        sgst=sum(a.sgst for a in amounts),
        igst=sum(a.igst for a in amounts),
    )


def inr(paise: int) -> str:
    """Rupees in Indian digit grouping, two decimals: 123456789 -> `12,34,567.89` (a sign for negatives)."""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), 100)
    digits = str(rupees)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join([*groups, tail])
    return f"{sign}{digits}.{rest:02d}"
