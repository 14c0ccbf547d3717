"""The payment domain by property: what we know of a payment is the same whatever order its events arrive in and
however often; an invoice's paid amount counts each payment once; the ALREADY_PAID flag does not depend on
arrival order; WhatsApp's order_details adds up as Meta checks it; WhatsApp payment statuses parse to paise."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import ids
from services.commerce.adapters.whatsapp_payments import paise, parse_status
from services.commerce.domain import gst, order_details
from services.commerce.domain.invoices import Invoice, Kind, Line, issue
from services.commerce.domain.payments import Observation, PaymentState, Refund, RefundState, merge, settle

INVOICE = ids.new_id()
JUNE = datetime(2026, 6, 10, 12, 0, tzinfo=gst.IST).timestamp()

observations = st.builds(
    Observation,
    payment_id=st.just("pay_P"),
    state=st.sampled_from([None, *PaymentState]),
    amount=st.just(5000),
    invoice=st.sampled_from(["", INVOICE]),
    capture_time=st.sampled_from([None, 10.0, 20.0]),
    refunds=st.lists(
        st.builds(
            Refund,
            id=st.sampled_from(["rfnd_1", "rfnd_2"]),
            amount=st.just(1000),
            state=st.sampled_from(list(RefundState)),
        ),
        max_size=2,
    ).map(tuple),
)


def fold(events):
    payment = None
    for seen in events:
        payment = merge(payment, seen, 0)
    return payment


def essence(payment):
    """Everything but the bookkeeping of how many events came and in which order."""
    return (
        payment.state,
        payment.amount,
        payment.invoice,
        payment.refunded,
        sorted((r.id, r.state) for r in payment.refunds),
        payment.capture_time if payment.state is PaymentState.CAPTURED else None,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(observations, min_size=1, max_size=6), st.randoms())
def test_any_order_and_any_repeat_give_the_same_payment(events, rng):
    shuffled = list(events)
    rng.shuffle(shuffled)
    repeated = shuffled + [rng.choice(events) for _ in range(3)]
    assert essence(fold(events)) == essence(fold(shuffled)) == essence(fold(repeated))


def test_states_only_move_forward_and_a_late_capture_beats_a_failure():
    failed = fold([Observation("pay_F", PaymentState.FAILED, 500, error_code="BAD_REQUEST_ERROR")])
    assert failed.state is PaymentState.FAILED and failed.error_code == "BAD_REQUEST_ERROR"
    late = merge(failed, Observation("pay_F", PaymentState.CAPTURED, 500, capture_time=5.0), 0)
    assert late.state is PaymentState.CAPTURED and late.net == 500
    assert merge(late, Observation("pay_F", PaymentState.PENDING, 500), 0).state is PaymentState.CAPTURED
    assert merge(late, Observation("pay_F", PaymentState.FAILED, 500), 0).state is PaymentState.CAPTURED


@settings(deadline=None)  # timing is not what is tested; a busy machine must not fail it
@given(st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 100)), min_size=1, max_size=8), st.integers(1, 30_000))
def test_settling_counts_each_payment_once_and_flags_alike_in_any_order(captures, owed):
    payments = [
        fold([Observation(f"pay_{i}", PaymentState.CAPTURED, amount, INVOICE, capture_time=float(at))])
        for i, (amount, at) in enumerate(captures)
    ]
    results = {
        (settle(owed, list(order))[0], frozenset(settle(owed, list(order))[1]))
        for order in itertools.islice(itertools.permutations(payments), 24)
    }
    assert len(results) == 1
    ((paid, extra),) = results
    assert paid == sum(amount for amount, _ in captures)
    kept = [p for p in payments if p.id not in extra]
    assert sum(p.amount for p in kept) - max((p.amount for p in kept), default=0) < owed or not kept


@settings(deadline=None)  # timing is not what is tested; a busy machine must not fail it
@given(
    st.lists(
        st.tuples(st.integers(1, 5000), st.integers(0, 1_000_000), st.sampled_from(sorted(gst.RATES_BP))),
        min_size=1,
        max_size=10,
    ),
    st.booleans(),
)
def test_order_details_add_up_as_meta_checks(lines, intra):
    invoice = Invoice(
        id=ids.new_id(),
        kind=Kind.INVOICE,
        contact=ids.new_id(),
        lines=tuple(Line(f"item {n}", q, p, r) for n, (q, p, r) in enumerate(lines)),
        intra_state=intra,
    )
    invoice = issue(invoice, "2026-27", 1, JUNE)
    interactive = order_details.order_details(invoice, "payments-config", "Pay for your tea")
    assert order_details.adds_up(interactive)
    parameters = interactive["action"]["parameters"]
    assert parameters["reference_id"] == invoice.id and parameters["total_amount"]["value"] == invoice.totals.total
    assert interactive["footer"]["text"] == "INV/26-27/00001"
    update = order_details.order_status(invoice, "captured", "Paid, thank you")
    assert update["action"]["parameters"] == {
        "reference_id": invoice.id,
        "order": {"status": "captured", "description": "Paid, thank you"},
    }


def test_whatsapp_payment_statuses_parse_to_paise():
    status = {
        "id": "wamid.X",
        "status": "captured",
        "type": "payment",
        "timestamp": "1781079012",
        "payment": {
            "reference_id": f"{INVOICE}.1",
            "amount": {"value": 21000, "offset": 100},
            "currency": "INR",
            "transaction": {"id": "pay_T", "type": "razorpay", "status": "success", "created_timestamp": 1781079000000},
        },
    }
    (seen,) = parse_status(
        json.dumps({"statuses": [status, {"id": "wamid.Y", "status": "read"}]}).encode()
    ).observations
    assert (seen.payment_id, seen.state, seen.amount, seen.invoice) == ("pay_T", PaymentState.CAPTURED, 21000, INVOICE)
    assert seen.create_time == 1781079000 and seen.capture_time == 1781079012
    assert paise({"value": 210, "offset": 1}) == 21000
    for bad in ({"value": 2101, "offset": 1000}, {"value": 1.5, "offset": 100}, {"value": 100, "offset": 0}, 5):
        with pytest.raises(ValueError):
            paise(bad)
    with pytest.raises(ValueError):
        parse_status(b'{"statuses": [{"status": "read"}]}')
