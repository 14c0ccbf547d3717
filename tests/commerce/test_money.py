"""The money arithmetic, by property (Hypothesis): every total, tax split and share adds up to the paisa, the
rounding is the documented one, and no float is anywhere on the money path (a scan of the money modules)."""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.commerce.domain import gst, money
from services.commerce.domain.money import LinePrice

ROOT = Path(__file__).resolve().parents[2]
# The modules money passes through: arithmetic, invoices, payments, the PDF's figures, the report.
MONEY_MODULES = [
    "services/commerce/domain/money.py",
    "services/commerce/domain/invoices.py",
    "services/commerce/domain/payments.py",
    "services/commerce/domain/reconciliation.py",
    "services/commerce/domain/order_details.py",
]

rates = st.sampled_from(sorted(gst.RATES_BP))
quantities = st.integers(min_value=1, max_value=10_000_000)  # thousandths: up to 10,000 units
prices = st.integers(min_value=0, max_value=10_000_000_00)  # up to one crore rupees a unit


@st.composite
def lines(draw) -> LinePrice:
    quantity, unit = draw(quantities), draw(prices)
    gross = money.round_half_up(quantity * unit, money.MILLI)
    return LinePrice(quantity, unit, draw(rates), draw(st.integers(0, gross)))


@st.composite
def invoices(draw) -> tuple[list[LinePrice], int, bool]:
    items = draw(st.lists(lines(), min_size=1, max_size=30))
    room = sum(line.gross - line.discount for line in items)
    return items, draw(st.integers(0, room)), draw(st.booleans())


def exact_half_up(value: Fraction) -> int:
    """The reference rounding, with exact rationals: the nearest integer, halves up."""
    floor = value.numerator // value.denominator
    return floor + 1 if value - floor >= Fraction(1, 2) else floor


@settings(deadline=None)  # timing is not what is tested; a busy machine must not fail it
@given(st.integers(0, 10**18), st.integers(1, 10**9))
def test_round_half_up_is_the_exact_rounding(numerator, denominator):
    assert money.round_half_up(numerator, denominator) == exact_half_up(Fraction(numerator, denominator))


@settings(deadline=None)  # timing is not what is tested; a busy machine must not fail it
@given(st.integers(0, 10**15))
def test_cgst_and_sgst_add_up_to_the_tax_and_cgst_takes_the_odd_paisa(tax):
    cgst, sgst = money.split_half(tax)
    assert cgst + sgst == tax and cgst - sgst in (0, 1)


@settings(deadline=None)  # timing is not what is tested; a busy machine must not fail it
@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**12), min_size=1, max_size=50))
def test_shares_add_up_exactly_and_stay_within_one_paisa_of_proportion(amount, weights):
    if sum(weights) == 0:
        assert money.allocate(0, weights) == [0] * len(weights)
        return
    amount = min(amount, sum(weights))
    shares = money.allocate(amount, weights)
    assert sum(shares) == amount
    for share, weight in zip(shares, weights, strict=True):
        assert abs(Fraction(share) - Fraction(amount * weight, sum(weights))) < 1
        assert 0 <= share <= weight


@settings(max_examples=400, deadline=None)
@given(invoices())
def test_invoice_totals_add_up_to_the_paisa(invoice):
    items, discount, intra = invoice
    amounts, totals = money.price(items, discount, intra)
    assert totals.total == totals.subtotal - totals.discount + totals.cgst + totals.sgst + totals.igst
    assert totals.total == sum(a.total for a in amounts)
    assert totals.tax == sum(a.cgst + a.sgst + a.igst for a in amounts)
    assert totals.discount == discount + sum(line.discount for line in items)
    for line, a in zip(items, amounts, strict=True):
        assert a.gross == exact_half_up(Fraction(line.quantity_milli * line.unit_price, 1000))
        assert 0 <= a.discount <= a.gross and a.taxable == a.gross - a.discount
        tax = exact_half_up(Fraction(a.taxable * line.rate_bp, 10_000))
        assert a.cgst + a.sgst + a.igst == tax
        if intra:
            assert a.igst == 0 and a.cgst - a.sgst in (0, 1)
        else:
            assert a.cgst == a.sgst == 0 and a.igst == tax


@settings(deadline=None)  # timing is not what is tested; a busy machine must not fail it
@given(invoices())
def test_the_supply_type_moves_tax_between_heads_never_changes_it(invoice):
    items, discount, _ = invoice
    _, within = money.price(items, discount, True)
    _, across = money.price(items, discount, False)
    assert within.tax == across.tax == across.igst and within.total == across.total


@settings(deadline=None)  # timing is not what is tested; a busy machine must not fail it
@given(st.integers(-(10**15), 10**15))
def test_rupees_print_back_to_the_same_paise(paise):
    text = money.inr(paise)
    sign = -1 if text.startswith("-") else 1
    rupees, _, rest = text.lstrip("-").partition(".")
    groups = rupees.split(",")
    assert len(groups[-1]) <= 3 and all(len(g) == 2 for g in groups[1:-1])
    assert sign * (int(rupees.replace(",", "")) * 100 + int(rest)) == paise


@pytest.mark.parametrize(
    ("text", "milli"), [("", 1000), ("1", 1000), ("1.5", 1500), ("0.001", 1), ("2.250", 2250), (" 3 ", 3000)]
)
def test_quantities_parse_exactly(text, milli):
    assert money.parse_quantity(text) == milli
    assert money.parse_quantity(money.format_quantity(milli)) == milli


@pytest.mark.parametrize("text", ["0", "-1", "1.2345", "1e3", "1,5", "abc", "0.000", "NaN", "1.", ".5"])
def test_bad_quantities_are_refused(text):
    with pytest.raises(ValueError):
        money.parse_quantity(text)


def test_known_figures():
    """A worked example: 3 x Rs 333.33 at 18% with Rs 10 off, within a state."""
    amounts, totals = money.price([LinePrice(3000, 33333, 1800, 1000)], 0, True)
    (a,) = amounts
    assert (a.gross, a.taxable) == (99999, 98999)
    assert (a.cgst, a.sgst) == (8910, 8910)  # 17819.82 -> 17820, split evenly
    assert totals.total == 98999 + 17820
    _, across = money.price([LinePrice(1000, 5, 1800, 0)], 0, False)
    assert across.igst == 1  # 0.9 paise rounds half up to 1


def test_no_float_on_the_money_path():
    """No float literal, float() call, true division or `float` annotation in the money modules: amounts are
    int paise end to end (times are the one float, as epoch seconds, and never touch an amount)."""
    found = []
    for relative in MONEY_MODULES:
        tree = ast.parse((ROOT / relative).read_text(), relative)
        for node in ast.walk(tree):
            where = f"{relative}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                found.append(f"{where} float literal {node.value!r}")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                found.append(f"{where} true division")
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("float", "round"):
                found.append(f"{where} {node.func.id}()")
            elif isinstance(node, ast.Name) and node.id == "Decimal":
                found.append(f"{where} Decimal")
    assert found == [], found
