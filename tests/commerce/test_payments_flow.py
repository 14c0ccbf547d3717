"""Payments end to end through the sandbox's payment provider and the gateway's webhook endpoint, in front of the
real commerce service: 200 invoices sent and paid with webhooks repeated, delayed and reordered (every invoice
ends right, no payment counts twice, the reconciliation report balances); forged webhooks refused with nothing
changed; payments for unknown or already paid invoices kept and flagged; refunds; WhatsApp payment statuses
merged with the provider's; receipts through messaging, retried until messaging takes them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time

import aiohttp
import grpc
import jwt
import pytest

from runtime import ids
from services.commerce.domain import gst
from tests.commerce.conftest import ADMIN, OPERATOR, VIEWER, WEBHOOK_SECRET
from wecare.commerce.v1 import invoices_pb2 as ipb
from wecare.commerce.v1 import payments_pb2 as pb

RATES = (0, 500, 1200, 1800, 2800, 4000, 300, 25)


async def issue(world, n: int, seed: int = 17) -> list[ipb.Invoice]:
    rng = random.Random(seed)
    made = []
    for i in range(n):
        lines = [
            ipb.LineItem(
                description=f"Item {i}.{j}",
                quantity=rng.choice(["1", "2", "3", "1.5", "0.25"]),
                unit_price_paise=rng.randint(100, 500_000),
                gst_rate_basis_points=rng.choice(RATES),
            )
            for j in range(rng.randint(1, 4))
        ]
        draft = await world.stub.CreateInvoice(
            ipb.CreateInvoiceRequest(
                invoice=ipb.Invoice(
                    contact=f"contacts/{ids.new_id()}",
                    customer=ipb.InvoiceCustomer(display_name=f"Customer {i}", state_code=rng.choice(["29", "27"])),
                    line_items=lines,
                    discount_paise=rng.choice([0, 0, 50]),
                    due_date="2099-12-31",
                )
            ),
            metadata=OPERATOR,
        )
        made.append(await world.stub.IssueInvoice(ipb.IssueInvoiceRequest(name=draft.name), metadata=OPERATOR))
    return made


async def send(world, invoice: ipb.Invoice, channel=ipb.SEND_CHANNEL_SMS) -> str:
    sent = await world.stub.SendInvoice(ipb.SendInvoiceRequest(name=invoice.name, channel=channel), metadata=OPERATOR)
    return sent.payment_link_id


async def sandbox(world, path: str, body: dict) -> dict:
    async with aiohttp.ClientSession() as http, http.post(f"{world.sandbox.public_url}{path}", json=body) as reply:
        assert reply.status == 200, await reply.text()
        return await reply.json()


async def get(world, invoice: ipb.Invoice) -> ipb.Invoice:
    return await world.stub.GetInvoice(ipb.GetInvoiceRequest(name=invoice.name), metadata=VIEWER)


async def payments(world) -> list[pb.Payment]:
    return list((await world.stub.ListPayments(pb.ListPaymentsRequest(page_size=500), metadata=VIEWER)).payments)


async def reconcile(world) -> pb.ReconcilePaymentsResponse:
    today = gst.india_date(time.time()).isoformat()
    return await world.stub.ReconcilePayments(pb.ReconcilePaymentsRequest(start_date=today), metadata=VIEWER)


def signed(body: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Razorpay-Signature": signature, "X-Razorpay-Event-Id": "evt_" + ids.new_id()[:14]}


def captured_event(payment_id: str, invoice_id: str, amount: int) -> dict:
    payment = {
        "id": payment_id,
        "entity": "payment",
        "amount": amount,
        "currency": "INR",
        "status": "captured",
        "method": "upi",
        "notes": {"invoice": invoice_id},
        "created_at": int(time.time()),
    }
    return {
        "entity": "event",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": {"payment": {"entity": payment}},
        "created_at": int(time.time()),
    }


async def test_200_invoices_paid_through_the_sandbox_with_webhooks_repeated_delayed_and_reordered(world):
    world.sandbox.config.payment_webhook_copies = 3
    world.sandbox.config.payment_webhook_delay = (0.0, 1.5)
    invoices = await issue(world, 200)
    links = {}
    for i, invoice in enumerate(invoices):
        links[invoice.name] = await send(world, invoice, ipb.SEND_CHANNEL_WHATSAPP if i % 2 else ipb.SEND_CHANNEL_SMS)
    expected_paid, expected_status = {}, {}
    for i, invoice in enumerate(invoices):
        link, due = links[invoice.name], invoice.amount_due_paise
        plan = i % 10
        if plan == 0:  # a failed attempt, then the whole amount
            await sandbox(world, "/sandbox/payments/pay", {"link": link, "outcome": "failed"})
            await sandbox(world, "/sandbox/payments/pay", {"link": link})
            paid = due
        elif plan == 1 and due >= 200:  # half of it
            await sandbox(world, "/sandbox/payments/pay", {"link": link, "amount": due // 2})
            paid = due // 2
        elif plan == 2 and due >= 200:  # in two parts
            await sandbox(world, "/sandbox/payments/pay", {"link": link, "amount": due // 3})
            await sandbox(world, "/sandbox/payments/pay", {"link": link, "amount": due - due // 3})
            paid = due
        elif plan == 3:  # not paid
            paid = 0
        else:
            await sandbox(world, "/sandbox/payments/pay", {"link": link})
            paid = due
        expected_paid[invoice.name] = paid
        expected_status[invoice.name] = (
            ipb.INVOICE_STATUS_PAID
            if paid == due
            else ipb.INVOICE_STATUS_PARTIALLY_PAID
            if paid
            else ipb.INVOICE_STATUS_ISSUED
        )
    await world.settled()
    ledger = world.sandbox.ledger
    captured = [p for p in ledger.payments.values() if p["status"] == "captured"]
    failed = [p for p in ledger.payments.values() if p["status"] == "failed"]
    events = len(captured) * 3 + len(failed) * 2  # authorized, captured or failed, and the link's own for captures
    assert len(failed) == 20 and ledger.delivered == 3 * events  # every copy delivered and taken (2xx)
    first_seen: dict[str, list[str]] = {}
    for kind, payment_id in ledger.arrivals:
        if kind not in first_seen.setdefault(payment_id, []):
            first_seen[payment_id].append(kind)
    overtaken = [p for p, kinds in first_seen.items() if kinds[0] != "payment.authorized"]
    assert len(overtaken) > 20  # many payments were first heard of by a later event: order did not matter
    for invoice in invoices:
        now = await get(world, invoice)
        assert now.amount_paid_paise == expected_paid[invoice.name], invoice.name
        assert now.status == expected_status[invoice.name], invoice.name
        assert now.amount_due_paise == invoice.amount_due_paise - expected_paid[invoice.name]
    ours = {p.name.split("/")[1]: p for p in await payments(world)}
    assert set(ours) == set(ledger.payments)  # every attempt recorded, failed ones too
    for payment_id, theirs in ledger.payments.items():
        mine = ours[payment_id]
        assert mine.amount_paise == theirs["amount"] and not mine.flags
        assert mine.state == (pb.PAYMENT_STATE_CAPTURED if theirs["status"] == "captured" else pb.PAYMENT_STATE_FAILED)
        # authorized + captured/failed + the link's event: each counted once whatever the copies
        assert mine.event_count == (3 if theirs["status"] == "captured" else 2)
    total_captured = sum(p["amount"] for p in captured)
    assert sum(expected_paid.values()) == total_captured  # no payment counted twice
    report = await reconcile(world)
    assert report.provider_checked and list(report.mismatches) == []
    invoiced = sum(i.totals.total_paise for i in invoices)
    assert (report.totals.invoiced_paise, report.totals.captured_paise, report.totals.refunded_paise) == (
        invoiced,
        total_captured,
        0,
    )
    assert report.totals.outstanding_paise == invoiced - total_captured
    assert sum(line.amounts.outstanding_paise for line in report.invoices) == report.totals.outstanding_paise
    # A receipt for every captured payment, once, with commerce's own identity.
    for _ in range(100):
        receipts = [s for s in world.messaging.sent if s.message.idempotency_key.endswith("/receipt")]
        if len(receipts) == len(captured):
            break
        await asyncio.sleep(0.1)
    assert len(receipts) == len(captured) and len({r.message.idempotency_key for r in receipts}) == len(captured)
    assert {jwt.decode(r.token, options={"verify_signature": False})["sub"] for r in receipts} == {"service:commerce"}


async def test_a_forged_webhook_is_401_and_changes_nothing(world):
    (invoice,) = await issue(world, 1)
    body = captured_event("pay_Forged00000001", invoice.name.split("/")[1], invoice.amount_due_paise)
    raw, headers = signed(body, secret="not-the-secret")
    for attempt in (
        (raw, headers),
        (raw, {"X-Razorpay-Event-Id": "evt_x"}),  # no signature
        (raw.replace(b"captured", b"CAPTURED"), signed(body)[1]),  # tampered after signing
        (raw, {**headers, "X-Razorpay-Signature": ""}),
    ):
        reply = await world.http.post("/v1/events/payments", data=attempt[0], headers=attempt[1])
        assert reply.status == 401
    huge, huge_headers = signed({"pad": "x" * 300_000})
    assert (await world.http.post("/v1/events/payments", data=huge, headers=huge_headers)).status == 413
    assert await payments(world) == [] and (await get(world, invoice)).amount_paid_paise == 0
    raw, headers = signed(body)  # the same event, signed right: taken
    reply = await world.http.post("/v1/events/payments", data=raw, headers=headers)
    assert reply.status == 200 and (await reply.json())["status"] == "APPLIED"
    again = await world.http.post("/v1/events/payments", data=raw, headers=headers)
    assert (await again.json())["status"] == "DUPLICATE"
    assert (await get(world, invoice)).status == ipb.INVOICE_STATUS_PAID


async def test_payments_for_unknown_or_already_paid_invoices_are_kept_and_flagged(world):
    (invoice,) = await issue(world, 1)
    link = await send(world, invoice)
    await sandbox(world, "/sandbox/payments/pay", {"link": link})
    await asyncio.sleep(1.1)  # the provider stamps captures to the second: the extra payment comes after
    stranger = await sandbox(world, "/sandbox/payments/orphan", {"amount": 12345, "invoice": ids.new_id()})
    nameless = await sandbox(world, "/sandbox/payments/orphan", {"amount": 500})
    extra = await sandbox(world, "/sandbox/payments/orphan", {"amount": 777, "invoice": invoice.name.split("/")[1]})
    await world.settled()
    for kept in (stranger, nameless):
        payment = await world.stub.GetPayment(pb.GetPaymentRequest(name=f"payments/{kept['id']}"), metadata=VIEWER)
        assert payment.invoice == "" and list(payment.flags) == [pb.PAYMENT_FLAG_UNKNOWN_INVOICE]
        assert payment.state == pb.PAYMENT_STATE_CAPTURED and payment.amount_paise == kept["amount"]
    flagged = await world.stub.GetPayment(pb.GetPaymentRequest(name=f"payments/{extra['id']}"), metadata=VIEWER)
    assert flagged.invoice == invoice.name and list(flagged.flags) == [pb.PAYMENT_FLAG_ALREADY_PAID]
    now = await get(world, invoice)
    assert now.status == ipb.INVOICE_STATUS_PAID and now.amount_due_paise == -777  # counted, and visible
    report = await reconcile(world)
    kinds = sorted((pb.MismatchKind.Name(m.kind), m.payment or m.invoice) for m in report.mismatches)
    assert kinds == sorted(
        [
            ("MISMATCH_KIND_UNKNOWN_INVOICE", f"payments/{stranger['id']}"),
            ("MISMATCH_KIND_UNKNOWN_INVOICE", f"payments/{nameless['id']}"),
            ("MISMATCH_KIND_OVERPAID", invoice.name),
        ]
    )
    assert report.totals.captured_paise == invoice.amount_due_paise + 12345 + 500 + 777


async def test_refunds_go_through_the_provider_and_the_invoice_follows(world):
    (invoice,) = await issue(world, 1, seed=5)
    link = await send(world, invoice)
    paid = await sandbox(world, "/sandbox/payments/pay", {"link": link})
    await world.settled()
    name = f"payments/{paid['id']}"
    half = paid["amount"] // 2
    ask = pb.RefundPaymentRequest(name=name, amount_paise=half, reason="damaged in transit", request_id="refund-1")
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await world.stub.RefundPayment(ask, metadata=OPERATOR)
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    refunded = await world.stub.RefundPayment(ask, metadata=ADMIN)
    assert [r.amount_paise for r in refunded.refunds] == [half] and refunded.refunds[0].state == pb.REFUND_STATE_PENDING
    again = await world.stub.RefundPayment(ask, metadata=ADMIN)  # the same request: nothing more refunded
    assert len(again.refunds) == 1 and len(world.sandbox.ledger.refunds) == 1
    with pytest.raises(grpc.aio.AioRpcError) as too_much:
        await world.stub.RefundPayment(
            pb.RefundPaymentRequest(name=name, amount_paise=paid["amount"], reason="all", request_id="refund-2"),
            metadata=ADMIN,
        )
    assert too_much.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    for _ in range(100):  # the provider processes it, its webhook tells us
        await world.settled()
        payment = await world.stub.GetPayment(pb.GetPaymentRequest(name=name), metadata=VIEWER)
        if payment.amount_refunded_paise:
            break
        await asyncio.sleep(0.05)
    assert payment.state == pb.PAYMENT_STATE_PARTIALLY_REFUNDED and payment.amount_refunded_paise == half
    now = await get(world, invoice)
    assert now.status == ipb.INVOICE_STATUS_PARTIALLY_PAID and now.amount_paid_paise == paid["amount"] - half
    report = await reconcile(world)
    assert list(report.mismatches) == [] and report.totals.refunded_paise == half


async def test_whatsapp_payment_statuses_merge_with_the_providers_webhooks(world):
    (invoice,) = await issue(world, 1, seed=9)
    invoice_id, due = invoice.name.split("/")[1], invoice.amount_due_paise
    status = {
        "id": "wamid.HBgM",
        "status": "captured",
        "type": "payment",
        "timestamp": str(int(time.time())),
        "payment": {
            "reference_id": invoice_id,
            "amount": {"value": due, "offset": 100},
            "currency": "INR",
            "transaction": {
                "id": "pay_WhatsApp000001",
                "type": "razorpay",
                "status": "success",
                "method": {"type": "upi"},
            },
        },
    }
    event = pb.PaymentEvent(
        source=pb.PAYMENT_EVENT_SOURCE_WHATSAPP, event_id="wamid.HBgM:captured", payload=json.dumps(status).encode()
    )
    with pytest.raises(grpc.aio.AioRpcError) as people:
        await world.stub.RecordPaymentEvents(pb.RecordPaymentEventsRequest(events=[event]), metadata=ADMIN)
    assert people.value.code() is grpc.StatusCode.PERMISSION_DENIED
    reply = await world.stub.RecordPaymentEvents(
        pb.RecordPaymentEventsRequest(events=[event, event]), metadata=world.service
    )
    assert [r.outcome for r in reply.results] == [pb.PAYMENT_EVENT_OUTCOME_APPLIED, pb.PAYMENT_EVENT_OUTCOME_DUPLICATE]
    raw, headers = signed(captured_event("pay_WhatsApp000001", invoice_id, due))  # the gateway tells it too
    assert (await world.http.post("/v1/events/payments", data=raw, headers=headers)).status == 200
    (payment,) = await payments(world)
    assert payment.event_count == 2 and payment.invoice == invoice.name and payment.method == "upi"
    now = await get(world, invoice)
    assert now.status == ipb.INVOICE_STATUS_PAID and now.amount_paid_paise == due  # once, not twice
    bad = pb.PaymentEvent(source=pb.PAYMENT_EVENT_SOURCE_WHATSAPP, event_id="x", payload=b'{"type": "payment"}')
    reply = await world.stub.RecordPaymentEvents(pb.RecordPaymentEventsRequest(events=[bad]), metadata=world.service)
    assert reply.results[0].outcome == pb.PAYMENT_EVENT_OUTCOME_REJECTED and len(await payments(world)) == 1


async def test_receipts_wait_for_messaging_and_refusals_are_final(world):
    first, second = await issue(world, 2, seed=3)
    world.messaging.down = True
    await sandbox(world, "/sandbox/payments/pay", {"link": await send_quietly(world, first)})
    await world.settled()
    (payment,) = await payments(world)
    assert not [s for s in world.messaging.sent if s.message.idempotency_key.endswith("/receipt")]
    world.messaging.down = False
    for _ in range(100):  # the sweep (every 0.5 s here) sends it
        receipts = [s for s in world.messaging.sent if s.message.idempotency_key == f"{payment.name}/receipt"]
        if receipts:
            break
        await asyncio.sleep(0.05)
    (receipt,) = receipts
    assert first.number in receipt.message.content.text.body and "Paid in full" in receipt.message.content.text.body
    world.messaging.refuse[second.contact] = "CONSENT_OPTED_OUT"
    await sandbox(
        world, "/sandbox/payments/pay", {"link": await send_quietly(world, second, channel=ipb.SEND_CHANNEL_EMAIL)}
    )
    await world.settled()
    await asyncio.sleep(1.2)  # two sweeps: a refusal is not retried
    assert not [
        s
        for s in world.messaging.sent
        if s.message.contact == second.contact and "receipt" in s.message.idempotency_key
    ]


async def send_quietly(world, invoice, channel=ipb.SEND_CHANNEL_SMS) -> str:
    """The payment link of an invoice, sent while messaging is up and takes it."""
    down, world.messaging.down = world.messaging.down, False
    refused = world.messaging.refuse.pop(invoice.contact, None)
    try:
        return await send(world, invoice, channel)
    finally:
        world.messaging.down = down
        if refused:
            world.messaging.refuse[invoice.contact] = refused
