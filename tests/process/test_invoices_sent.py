"""200 invoices sent and paid through the whole stack as `make run` starts it, over the network only (issue 17's
flow with its send step, beside tests/commerce/test_payments_flow.py's in-process one): half on WhatsApp as the PDF
and an interactive order_details through messaging (checked there, sent to the sandbox), paid in the chat (the
sandbox's payment provider's webhooks and WhatsApp's payment statuses through messaging's ingest, one payment
merged from both); half by SMS with a tracked payment link, paid on the provider's page. Webhooks come three times
each, delayed and reordered. Every invoice ends in the right state, no payment counts twice, the books balance for
them, and paid WhatsApp customers get an order_status."""

from __future__ import annotations

import functools
import random
import time
from collections import Counter

import pytest
import requests

from runtime.settings import Settings
from tests.support import polling

pytestmark = pytest.mark.process

RATES = (0, 500, 1200, 1800, 2800)

until = functools.partial(polling.until, within=90.0, step=0.5)  # 200 invoices: slower steps


def test_200_invoices_sent_through_messaging_and_paid_with_webhooks_repeated_delayed_and_reordered(stack):
    gateway = f"http://{stack.addresses['gateway']}/v1"
    sandbox = f"http://{stack.addresses['sandbox']}"
    operator = {"Authorization": f"Bearer {stack.token('operator')}"}
    phone = Settings.from_env(stack.settings_env()).whatsapp_phone_number_ids[0]
    rng = random.Random(29)
    numbers = [f"+9198773{i:05d}" for i in range(200)]
    on_whatsapp = {n for i, n in enumerate(numbers) if i % 2}
    for number in sorted(on_whatsapp):  # they wrote first: the 24-hour window is open for the PDF and the order
        wrote = requests.post(
            f"{sandbox}/sandbox/inbound", json={"phone": phone, "from": number, "text": "Bill please"}, timeout=10
        )
        assert wrote.status_code == 200, wrote.text
    invoices = []
    for i, number in enumerate(numbers):
        contact = requests.post(f"{gateway}/contacts", json={"phoneNumber": number}, headers=operator, timeout=10)
        assert contact.status_code == 200, contact.text
        lines = [
            {
                "description": f"Item {i}.{j}",
                "quantity": rng.choice(["1", "2", "3", "1.5"]),
                "unitPricePaise": str(rng.randint(100, 300_000)),
                "gstRateBasisPoints": rng.choice(RATES),
            }
            for j in range(rng.randint(1, 3))
        ]
        draft = requests.post(
            f"{gateway}/invoices",
            json={
                "contact": contact.json()["name"],
                "customer": {"displayName": f"Customer {i}", "stateCode": rng.choice(["29", "27"])},
                "lineItems": lines,
                "dueDate": "2099-12-31",
            },
            headers=operator,
            timeout=10,
        )
        assert draft.status_code == 200, draft.text
        issued = requests.post(f"{gateway}/{draft.json()['name']}:issue", json={}, headers=operator, timeout=30)
        assert issued.status_code == 200, issued.text
        invoices.append((number, issued.json()))
    last = sorted(on_whatsapp)[-1]
    until(
        "the customers' messages ingested",
        lambda: (
            requests.get(f"{gateway}/messages", params={"customer": last}, headers=operator, timeout=10)
            .json()
            .get("messages")
        ),
    )

    sent: dict[str, dict] = {}
    for number, invoice in invoices:
        channel = "SEND_CHANNEL_WHATSAPP" if number in on_whatsapp else "SEND_CHANNEL_SMS"
        reply = requests.post(
            f"{gateway}/{invoice['name']}:send", json={"channel": channel}, headers=operator, timeout=30
        )
        assert reply.status_code == 200, reply.text
        sent[invoice["name"]] = reply.json()
    for number, invoice in invoices:
        messages = sent[invoice["name"]]["messages"]
        if number in on_whatsapp:  # the PDF, then the order to review and pay; no link
            assert len(messages) == 2 and not sent[invoice["name"]].get("paymentLinkId")
        else:
            assert len(messages) == 1 and sent[invoice["name"]]["paymentLinkId"].startswith("plink_")
    whatsapp_invoice = next(inv for n, inv in invoices if n in on_whatsapp)
    document, order = (
        requests.get(f"{gateway}/{m}", headers=operator, timeout=10).json()
        for m in sent[whatsapp_invoice["name"]]["messages"]
    )
    assert document["content"]["media"]["mimeType"] == "application/pdf"
    assert order["content"]["interactive"]["kind"] == "INTERACTIVE_KIND_ORDER_DETAILS"
    orders = [sent[inv["name"]]["messages"][1] for n, inv in invoices if n in on_whatsapp]

    def handed_over() -> bool:
        statuses = [requests.get(f"{gateway}/{m}", headers=operator, timeout=10).json()["status"] for m in orders]
        return all(s in ("STATUS_SENT", "STATUS_DELIVERED", "STATUS_READ") for s in statuses)

    until("every order_details handed to WhatsApp", handed_over)

    config = {"payment_webhook_copies": 3, "payment_webhook_delay": [0.0, 1.5]}
    assert requests.post(f"{sandbox}/sandbox/config", json=config, timeout=10).ok
    expected: dict[str, int] = {}
    try:
        for i, (number, invoice) in enumerate(invoices):
            due = int(invoice["amountDuePaise"])
            plan = i % 10
            if number in on_whatsapp:
                pay = {"to": number, "reference_id": invoice["name"].split("/")[1]}
                if plan == 1:  # a failed attempt first
                    assert requests.post(f"{sandbox}/sandbox/payments/order", json={**pay, "outcome": "failed"}).ok
                if plan == 3:  # never paid
                    expected[invoice["name"]] = 0
                    continue
                paid = requests.post(f"{sandbox}/sandbox/payments/order", json=pay, timeout=10)
                assert paid.status_code == 200, paid.text
                expected[invoice["name"]] = due
            else:
                link = sent[invoice["name"]]["paymentLinkId"]
                if plan == 2 and due >= 200:  # half of it
                    requests.post(
                        f"{sandbox}/sandbox/payments/pay", json={"link": link, "amount": due // 2}, timeout=10
                    )
                    expected[invoice["name"]] = due // 2
                elif plan == 4:
                    expected[invoice["name"]] = 0
                else:
                    requests.post(f"{sandbox}/sandbox/payments/pay", json={"link": link}, timeout=10)
                    expected[invoice["name"]] = due
        until(
            "every webhook delivered",
            lambda: requests.get(f"{sandbox}/sandbox/payments/state", timeout=10).json()["webhooks_pending"] == 0,
        )
    finally:
        requests.post(
            f"{sandbox}/sandbox/config", json={"payment_webhook_copies": 1, "payment_webhook_delay": [0.0, 0.0]}
        )

    def settled():
        now = {
            inv["name"]: requests.get(f"{gateway}/{inv['name']}", headers=operator, timeout=10).json()
            for _, inv in invoices
        }
        return all(int(now[n].get("amountPaidPaise", 0)) == expected[n] for n in expected) and now

    now = until("every invoice paid as the customers paid", settled)
    for number, invoice in invoices:
        got, due = now[invoice["name"]], int(invoice["amountDuePaise"])
        paid = expected[invoice["name"]]
        status = (
            "INVOICE_STATUS_PAID"
            if paid == due
            else "INVOICE_STATUS_PARTIALLY_PAID"
            if paid
            else "INVOICE_STATUS_ISSUED"
        )
        assert got["status"] == status, (number, got)

    ours = {inv["name"].split("/")[1] for _, inv in invoices}
    ledger = requests.get(f"{sandbox}/sandbox/payments/state", timeout=10).json()["payments"]
    theirs = {p["id"]: p for p in ledger if p["notes"].get("invoice") in ours}
    listed = requests.get(f"{gateway}/payments", params={"pageSize": 1000}, headers=operator, timeout=30).json()
    mine = {p["name"].split("/")[1]: p for p in listed["payments"] if p.get("invoice", "").split("/")[-1] in ours}
    assert set(mine) == set(theirs)  # every attempt recorded once, failed ones too, whichever side told first
    for payment_id, p in theirs.items():
        assert int(mine[payment_id]["amountPaise"]) == p["amount"] and not mine[payment_id].get("flags")
    captured = sum(p["amount"] for p in theirs.values() if p["status"] == "captured")
    assert sum(expected.values()) == captured  # no payment counted twice
    assert Counter(p["status"] for p in theirs.values())["failed"] == 20

    # A chat payment is one payment told by both sides: the provider's two webhooks (authorized, then captured or
    # failed) and at least one of WhatsApp's statuses through messaging's ingest (RecordPaymentEvents).
    in_chat = [pid for pid, p in theirs.items() if p["description"] == "WhatsApp order"]
    assert len(in_chat) == 20 + len([n for n, inv in invoices if n in on_whatsapp and expected[inv["name"]]])

    def both_sides_told():
        listed = requests.get(f"{gateway}/payments", params={"pageSize": 1000}, headers=operator, timeout=30).json()
        counts = {p["name"].split("/")[1]: p.get("eventCount", 0) for p in listed["payments"]}
        return all(counts.get(pid, 0) >= 3 for pid in in_chat)

    until("WhatsApp's payment statuses recorded on the chat payments", both_sides_told, within=60)

    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 5.5 * 3600))
    books = requests.get(f"{gateway}/payments:reconcile", params={"startDate": today}, headers=operator, timeout=60)
    assert books.status_code == 200, books.text
    books = books.json()
    assert not [m for m in books.get("mismatches", []) if m.get("invoice", "").split("/")[-1] in ours]
    lines = {line["invoice"]: line for line in books["invoices"] if line["invoice"].split("/")[-1] in ours}
    for name, paid in expected.items():
        assert int(lines[name]["amounts"].get("capturedPaise", 0)) == paid
        assert int(lines[name]["amounts"].get("outstandingPaise", 0)) == int(now[name].get("amountDuePaise", 0))

    # A paid WhatsApp customer gets a receipt and the order's new status.
    paid_on_whatsapp = next(n for n, inv in invoices if n in on_whatsapp and expected[inv["name"]])

    def order_status():
        listed = requests.get(
            f"{gateway}/messages", params={"customer": paid_on_whatsapp}, headers=operator, timeout=10
        ).json()
        kinds = [m["content"].get("interactive", {}).get("kind") for m in listed.get("messages", [])]
        return "INTERACTIVE_KIND_ORDER_STATUS" in kinds

    until("the order_status to the paid customer", order_status, within=60)
