"""The PayStore contract, run against every implementation: SQLite in a temporary directory and DynamoDB on moto
(server mode, a fresh table per test): an event applies once, in any order the result is the same, concurrent
events of one payment all count, the invoice and day indexes, receipts owed, payment links."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import datetime

import pytest

from runtime import dynamo, ids
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.commerce.adapters import pay_dynamodb
from services.commerce.adapters.pay_dynamodb import DynamoPayStore
from services.commerce.adapters.pay_sqlite import SqlitePayStore
from services.commerce.domain import gst
from services.commerce.domain.payments import Observation, PaymentLink, PaymentState, Refund, RefundState

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=gst.IST).timestamp()


@pytest.fixture(params=["sqlite", "dynamodb"])
async def store(request, tmp_path, monkeypatch):
    aws = None
    if request.param == "sqlite":
        made = SqlitePayStore(tmp_path / "pay.sqlite3")
    else:
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        table = f"pay-{uuid.uuid4().hex[:12]}"
        await pay_dynamodb.ensure_table(await aws.client("dynamodb"), table)
        made = DynamoPayStore(aws, table)
        # moto restores a table copy when it cancels a transaction (undoing others): one at a time, reads racing.
        one_at_a_time = asyncio.Lock()
        transact = dynamo.transact_write

        async def serialised(*args, **kwargs):
            async with one_at_a_time:
                return await transact(*args, **kwargs)

        monkeypatch.setattr(pay_dynamodb.dynamo, "transact_write", serialised)
    yield made
    await made.close()
    if aws is not None:
        await aws.close()


def seen(payment_id: str, state: PaymentState | None, invoice: str = "", **fields) -> Observation:
    fields.setdefault("amount", 50000)
    fields.setdefault("create_time", NOON)
    return Observation(payment_id=payment_id, state=state, invoice=invoice, **fields)


async def test_an_event_applies_once(store):
    invoice = ids.new_id()
    first = await store.record("evt_1", seen("pay_A", PaymentState.PENDING, invoice, method="upi"), NOON)
    assert not first.duplicate and first.before is None and first.payment.state is PaymentState.PENDING
    again = await store.record("evt_1", seen("pay_A", PaymentState.CAPTURED, invoice, capture_time=NOON), NOON + 1)
    assert again.duplicate and again.payment == first.payment
    captured = await store.record("evt_2", seen("pay_A", PaymentState.CAPTURED, invoice, capture_time=NOON), NOON + 2)
    assert captured.newly_captured and captured.payment.receipt == "DUE" and captured.payment.event_count == 2
    assert await store.get("pay_A") == captured.payment
    assert await store.get("pay_missing") is None


async def test_any_order_gives_the_same_payment(store):
    invoice = ids.new_id()
    events = [
        ("authorized", seen("pay_O", PaymentState.PENDING)),
        ("failed", seen("pay_O", PaymentState.FAILED, error_code="BAD_REQUEST_ERROR")),
        ("captured", seen("pay_O", PaymentState.CAPTURED, invoice, capture_time=NOON + 5)),
        ("refund", seen("pay_O", None, refunds=(Refund("rfnd_1", 10000, RefundState.PENDING),))),
        ("refunded", seen("pay_O", None, refunds=(Refund("rfnd_1", 10000, RefundState.PROCESSED),))),
    ]
    results = []
    for n, order in enumerate(itertools.islice(itertools.permutations(events), 0, 120, 29)):
        payment_id = f"pay_O{n}"
        for key, observation in order:
            await store.record(
                f"{payment_id}:{key}", observation.__class__(**{**observation.__dict__, "payment_id": payment_id}), NOON
            )
        results.append(await store.get(payment_id))
    for p in results:
        assert p.state is PaymentState.CAPTURED and p.invoice == invoice and p.refunded == 10000 and p.net == 40000
        assert p.capture_time == NOON + 5 and p.event_count == 5 and p.display_state() == "PARTIALLY_REFUNDED"


async def test_concurrent_events_of_one_payment_all_count(store):
    refunds = [seen("pay_C", None, refunds=(Refund(f"rfnd_{i}", 100, RefundState.PROCESSED),)) for i in range(12)]
    await store.record("capture", seen("pay_C", PaymentState.CAPTURED, ids.new_id(), capture_time=NOON), NOON)
    await asyncio.gather(*(store.record(f"r{i}", r, NOON) for i, r in enumerate(refunds)))
    payment = await store.get("pay_C")
    assert payment.refunded == 1200 and payment.event_count == 13


async def test_indexes_by_invoice_and_day_and_list(store):
    invoice = ids.new_id()
    await store.record("a", seen("pay_1", PaymentState.CAPTURED, invoice, capture_time=NOON), NOON)
    await store.record("b", seen("pay_2", PaymentState.FAILED, invoice), NOON)
    await store.record("c", seen("pay_3", PaymentState.CAPTURED, create_time=NOON + 86400), NOON + 86400)
    assert [p.id for p in await store.of_invoice(invoice)] == ["pay_1", "pay_2"]
    assert [p.id for p in await store.created_on("2026-06-10")] == ["pay_1", "pay_2"]
    assert [p.id for p in await store.created_on("2026-06-11")] == ["pay_3"]
    assert [p.id for p in await store.list(None, 2)] == ["pay_1", "pay_2"]
    assert [p.id for p in await store.list("pay_2", 10)] == ["pay_3"]
    unknown = await store.get("pay_3")
    assert unknown.invoice == "" and [f.value for f in unknown.flags] == ["UNKNOWN_INVOICE"]
    assert unknown.receipt == ""  # nobody to send it to
    later = await store.record("d", seen("pay_3", None, invoice), NOON + 86401)  # a later event names it
    assert later.payment.invoice == invoice and later.payment.receipt == "DUE"
    assert [p.id for p in await store.of_invoice(invoice)] == ["pay_1", "pay_2", "pay_3"]


async def test_receipts_owed_and_flags(store):
    for n in range(3):
        await store.record(f"e{n}", seen(f"pay_R{n}", PaymentState.CAPTURED, ids.new_id(), capture_time=NOON), NOON)
    assert [p.id for p in await store.receipts_due(10)] == ["pay_R0", "pay_R1", "pay_R2"]
    await store.annotate("pay_R1", receipt="SENT")
    await store.annotate("pay_R2", already_paid=True)
    await store.annotate("pay_none", receipt="SENT")  # nothing to annotate: nothing happens
    assert [p.id for p in await store.receipts_due(10)] == ["pay_R0", "pay_R2"]
    flagged = await store.get("pay_R2")
    assert flagged.already_paid and [f.value for f in flagged.flags] == ["ALREADY_PAID"]
    await store.record("e9", seen("pay_R1", PaymentState.CAPTURED), NOON)  # a later event keeps SENT
    assert (await store.get("pay_R1")).receipt == "SENT"


async def test_links_of_an_invoice(store):
    invoice = ids.new_id()
    links = [PaymentLink(f"plink_{n}", invoice, 50000, f"https://pay.example/{n}", create_time=NOON) for n in (1, 2)]
    for link in links:
        await store.save_link(link)
    await store.save_link(PaymentLink("plink_9", ids.new_id(), 1, "https://pay.example/9"))
    assert await store.links_of(invoice) == links
    await store.record("p", seen("pay_L", PaymentState.CAPTURED, invoice, capture_time=NOON), NOON)
    assert [p.id for p in await store.of_invoice(invoice)] == ["pay_L"]  # links are not payments
