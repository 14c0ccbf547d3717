"""The sandbox's payment provider: Razorpay's API as commerce uses it (localrun only), a hosted pay page, and
signed webhooks to the gateway's `POST /v1/events/payments`, including late, repeated and out-of-order ones.

API (HTTP basic auth with WECARE_PAYMENT_KEY_ID / _KEY_SECRET, Razorpay's error shape):
  POST /v1/payment_links               a Payment Link (amount in paise, reference_id unique, notes kept)
  GET  /v1/payment_links/{id}
  POST /v1/payments/{id}/refund        a refund (idempotent on X-Refund-Idempotency), processed a moment later
  GET  /v1/payments?from=&to=&count=&skip=
Pay page: GET /pay/{link id} shows the amount due with a Pay button; POST /pay/{link id} pays (form fields
`amount` for a part payment, `outcome` = captured | failed). Each payment sends payment.authorized, then
payment.captured (or payment.failed), then payment_link.paid or payment_link.partially_paid.

Webhooks carry Razorpay's payload, `X-Razorpay-Signature` (HMAC-SHA256 of the body with
WECARE_PAYMENT_WEBHOOK_SECRET) and `X-Razorpay-Event-Id`; one that gets no 2xx is tried again with backoff, like
Razorpay's. The sandbox Config says how they travel: `payment_webhook_copies` (each event delivered this many
times, same id), `payment_webhook_delay` ([min, max] seconds, drawn for every delivery, so events overtake one
another), `payment_fail_next` (the next N payments fail).

Control: POST /sandbox/payments/pay (JSON: link, amount, outcome) pays like the page and answers the payment;
POST /sandbox/payments/orphan (JSON: amount, invoice) makes a captured payment with no link, naming any invoice
reference; GET /sandbox/payments/state lists payments and links with what was delivered."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import logging
import random
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger("wecare.sandbox.payments")

ALPHABET = string.ascii_letters + string.digits
MAX_ATTEMPTS = 8


def rzp_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(ALPHABET) for _ in range(14))


def _error(status: int, description: str, field_name: str = "") -> web.Response:
    code = "BAD_REQUEST_ERROR" if status == 400 else "NOT_FOUND" if status == 404 else "UNAUTHORIZED"
    body = {"error": {"code": code, "description": description, "source": "business", "field": field_name or None}}
    return web.json_response(body, status=status)


@dataclass
class Delivery:
    at: float
    event_id: str
    body: bytes
    kind: str = ""
    payment_id: str = ""
    attempts: int = 0


@dataclass
class Ledger:
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund_keys: dict[str, str] = field(default_factory=dict)  # X-Refund-Idempotency -> refund id
    references: set[str] = field(default_factory=set)
    delivered: int = 0
    refused: int = 0
    arrivals: list[tuple[str, str]] = field(default_factory=list)  # (event, payment id) of each delivery taken


class PaymentsSandbox:
    def __init__(
        self,
        config,
        *,
        key_id: str,
        key_secret: str,
        webhook_url: str,
        webhook_secret: str,
        public_url: str,
        session: aiohttp.ClientSession | None = None,
    ):
        self.config = config  # localrun.sandbox.config.Config: payment_webhook_copies, _delay, payment_fail_next
        self._authorization = "Basic " + base64.b64encode(f"{key_id}:{key_secret}".encode()).decode()
        self.webhook_url = webhook_url
        self._secret = webhook_secret.encode()
        self.public_url = public_url.rstrip("/")
        self.ledger = Ledger()
        self._queue: list[Delivery] = []
        self._wake = asyncio.Event()
        self._session = session
        self._in_flight = 0

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.post("/v1/payment_links", self._api(self.create_link)),
            web.get("/v1/payment_links/{id}", self._api(self.get_link)),
            web.post("/v1/payments/{id}/refund", self._api(self.refund)),
            web.get("/v1/payments", self._api(self.list_payments)),
            web.get("/pay/{id}", self.pay_page),
            web.post("/pay/{id}", self.pay_form),
            web.post("/sandbox/payments/pay", self.pay_json),
            web.post("/sandbox/payments/orphan", self.orphan),
            web.get("/sandbox/payments/state", self.state),
        ]

    def pending(self) -> int:
        """Webhooks not delivered yet: waiting, or on their way."""
        return len(self._queue) + self._in_flight

    # --- the API ------------------------------------------------------------------------------------
    def _api(self, handler):
        async def handle(request: web.Request) -> web.Response:
            if not hmac.compare_digest(request.headers.get("Authorization", ""), self._authorization):
                return _error(401, "The api key provided is invalid")
            body: dict[str, Any] = {}
            if request.method == "POST":
                try:
                    body = await request.json()
                except ValueError:
                    return _error(400, "The request body is not JSON")
                if not isinstance(body, dict):
                    return _error(400, "The request body must be an object")
            return await handler(request, body)

        return handle

    async def create_link(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 100:
            return _error(400, "The amount must be at least INR 1.00", "amount")
        if body.get("currency", "INR") != "INR":
            return _error(400, "Currency is not supported", "currency")
        reference = str(body.get("reference_id") or "")
        if len(reference) > 40:
            return _error(400, "reference_id may have at most 40 characters", "reference_id")
        if reference and reference in self.ledger.references:
            return _error(400, f"Payment Link with reference id {reference} already exists", "reference_id")
        expire_by = body.get("expire_by")
        now = int(time.time())
        if expire_by is not None and (not isinstance(expire_by, int) or expire_by < now + 15 * 60):
            return _error(400, "expire_by must be at least 15 minutes in the future", "expire_by")
        link_id = rzp_id("plink")
        link = {
            "id": link_id,
            "amount": amount,
            "amount_paid": 0,
            "currency": "INR",
            "accept_partial": bool(body.get("accept_partial")),
            "reference_id": reference,
            "description": str(body.get("description", "")),
            "customer": body.get("customer") or {},
            "notify": body.get("notify") or {},
            "notes": body.get("notes") or {},
            "expire_by": expire_by or 0,
            "status": "created",
            "short_url": f"{self.public_url}/pay/{link_id}",
            "order_id": rzp_id("order"),
            "payments": [],
            "created_at": now,
            "updated_at": now,
        }
        self.ledger.links[link_id] = link
        if reference:
            self.ledger.references.add(reference)
        return web.json_response(link)

    async def get_link(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        link = self.ledger.links.get(request.match_info["id"])
        return web.json_response(link) if link else _error(404, "The id provided does not exist")

    async def refund(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        payment = self.ledger.payments.get(request.match_info["id"])
        if payment is None:
            return _error(404, "The id provided does not exist")
        key = request.headers.get("X-Refund-Idempotency", "")
        if key and key in self.ledger.refund_keys:
            return web.json_response(self.ledger.refunds[self.ledger.refund_keys[key]])
        if payment["status"] not in ("captured", "refunded"):
            return _error(400, "The payment has not been captured", "id")
        left = payment["amount"] - payment["amount_refunded"]
        amount = body.get("amount", left)
        if isinstance(amount, bool) or not isinstance(amount, int) or not 100 <= amount <= left:
            return _error(400, f"The refund amount must be between 100 and {left}", "amount")
        now = int(time.time())
        refund = {
            "id": rzp_id("rfnd"),
            "entity": "refund",
            "amount": amount,
            "currency": "INR",
            "payment_id": payment["id"],
            "notes": body.get("notes") or {},
            "receipt": body.get("receipt"),
            "status": "pending",
            "speed_requested": body.get("speed", "normal"),
            "created_at": now,
        }
        self.ledger.refunds[refund["id"]] = refund
        if key:
            self.ledger.refund_keys[key] = refund["id"]
        payment["amount_refunded"] += amount  # Razorpay counts it at once; the refund is processed later
        payment["refund_status"] = "full" if payment["amount_refunded"] == payment["amount"] else "partial"
        payment["status"] = "refunded" if payment["refund_status"] == "full" else payment["status"]
        answer = dict(refund)
        asyncio.get_running_loop().call_later(0.2, self._refund_processed, refund["id"])
        return web.json_response(answer)

    def _refund_processed(self, refund_id: str) -> None:
        refund = self.ledger.refunds[refund_id]
        refund["status"] = "processed"
        payment = self.ledger.payments[refund["payment_id"]]
        self._emit("refund.processed", {"refund": refund, "payment": payment})

    async def list_payments(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        try:
            start = int(request.query.get("from", "0"))
            end = int(request.query.get("to", str(2**40)))
            count = min(int(request.query.get("count", "10")), 100)
            skip = int(request.query.get("skip", "0"))
        except ValueError:
            return _error(400, "from, to, count and skip are whole numbers")
        found = sorted(
            (p for p in self.ledger.payments.values() if start <= p["created_at"] <= end),
            key=lambda p: (p["created_at"], p["id"]),
        )
        items = found[skip : skip + count]
        return web.json_response({"entity": "collection", "count": len(items), "items": items})

    # --- paying -------------------------------------------------------------------------------------
    async def pay_page(self, request: web.Request) -> web.Response:
        link = self.ledger.links.get(request.match_info["id"])
        if link is None:
            return web.Response(status=404, text="no such payment link\n")
        due = link["amount"] - link["amount_paid"]
        rupees = f"{due // 100}.{due % 100:02d}"
        page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Pay INR {rupees}</title></head>
<body><h1>Pay INR {rupees}</h1><p>{html.escape(link["description"])}</p><p>Status: {link["status"]}</p>
<form method="post"><input type="hidden" name="outcome" value="captured">
<label>Amount (paise) <input name="amount" value="{due}"></label>
<button type="submit">Pay with UPI (sandbox)</button></form></body></html>"""
        return web.Response(text=page, content_type="text/html")

    async def pay_form(self, request: web.Request) -> web.Response:
        form = await request.post()
        result = self.pay(request.match_info["id"], _int_or_none(form.get("amount")), str(form.get("outcome", "")))
        if isinstance(result, web.Response):
            return result
        words = "Payment received" if result["status"] == "captured" else "Payment failed"
        return web.Response(text=f"<!doctype html><p>{words}: {result['id']}</p>", content_type="text/html")

    async def pay_json(self, request: web.Request) -> web.Response:
        body = await request.json()
        result = self.pay(str(body.get("link", "")), body.get("amount"), str(body.get("outcome", "")))
        return result if isinstance(result, web.Response) else web.json_response(result)

    def pay(self, link_id: str, amount: int | None, outcome: str) -> dict[str, Any] | web.Response:
        link = self.ledger.links.get(link_id)
        if link is None:
            return _error(404, "no such payment link")
        due = link["amount"] - link["amount_paid"]
        amount = due if amount is None else amount
        if link["status"] in ("paid", "cancelled", "expired") or not 0 < amount <= due:
            return _error(400, f"this link takes 1 to {due} paise now (status {link['status']})", "amount")
        if amount < due and not link["accept_partial"]:
            return _error(400, "this link takes the whole amount", "amount")
        if self.config.payment_fail_next > 0:
            self.config.payment_fail_next -= 1
            outcome = "failed"
        payment = self._payment(amount, link["notes"], link["order_id"], link["description"])
        self._emit("payment.authorized", {"payment": {**payment, "status": "authorized", "captured": False}})
        if outcome == "failed":
            payment.update(
                status="failed",
                error_code="BAD_REQUEST_ERROR",
                error_description="Payment failed at the customer's bank",
            )
            self._emit("payment.failed", {"payment": payment})
            return payment
        payment.update(status="captured", captured=True)
        self._emit("payment.captured", {"payment": payment})
        link["amount_paid"] += amount
        link["status"] = "paid" if link["amount_paid"] == link["amount"] else "partially_paid"
        link["payments"].append({"payment_id": payment["id"], "amount": amount, "status": "captured"})
        order = {
            "id": link["order_id"],
            "entity": "order",
            "amount": link["amount"],
            "amount_paid": link["amount_paid"],
        }
        self._emit(f"payment_link.{link['status']}", {"payment_link": link, "order": order, "payment": payment})
        return payment

    def pay_order(self, reference_id: str, amount: int, outcome: str) -> dict[str, Any]:
        """A payment of a WhatsApp order_details (review and pay in the chat): the gateway's side of it, its notes
        naming the order's reference; the caller tells WhatsApp's side (its payment statuses)."""
        if self.config.payment_fail_next > 0:
            self.config.payment_fail_next -= 1
            outcome = "failed"
        payment = self._payment(amount, {"invoice": reference_id}, rzp_id("order"), "WhatsApp order")
        self._emit("payment.authorized", {"payment": {**payment, "status": "authorized", "captured": False}})
        if outcome == "failed":
            payment.update(
                status="failed",
                error_code="BAD_REQUEST_ERROR",
                error_description="Payment failed at the customer's bank",
            )
            self._emit("payment.failed", {"payment": payment})
        else:
            payment.update(status="captured", captured=True)
            self._emit("payment.captured", {"payment": payment})
        return payment

    def _payment(self, amount: int, notes: dict[str, Any], order_id: str, description: str) -> dict[str, Any]:
        payment = {
            "id": rzp_id("pay"),
            "entity": "payment",
            "amount": amount,
            "currency": "INR",
            "status": "created",
            "order_id": order_id,
            "method": "upi",
            "amount_refunded": 0,
            "refund_status": None,
            "captured": False,
            "description": description,
            "notes": dict(notes),
            "error_code": None,
            "error_description": None,
            "created_at": int(time.time()),
        }
        self.ledger.payments[payment["id"]] = payment
        return payment

    async def orphan(self, request: web.Request) -> web.Response:
        """A payment no link of ours led to (paid into the account some other way), naming `invoice`."""
        body = await request.json()
        notes = {"invoice": str(body["invoice"])} if body.get("invoice") else {}
        payment = self._payment(int(body.get("amount", 10000)), notes, rzp_id("order"), "paid outside a link")
        payment.update(status="captured", captured=True)
        self._emit("payment.captured", {"payment": payment})
        return web.json_response(payment)

    async def state(self, request: web.Request) -> web.Response:
        ledger = self.ledger
        return web.json_response(
            {
                "links": list(ledger.links.values()),
                "payments": list(ledger.payments.values()),
                "refunds": list(ledger.refunds.values()),
                "webhooks_pending": self.pending(),
                "webhooks_delivered": ledger.delivered,
                "webhooks_refused": ledger.refused,
            }
        )

    # --- webhooks -----------------------------------------------------------------------------------
    def _emit(self, kind: str, entities: dict[str, dict[str, Any]]) -> None:
        """Schedules one event (a snapshot of its entities now) for `payment_webhook_copies` deliveries, each
        after its own delay from `payment_webhook_delay`."""
        event = {
            "entity": "event",
            "account_id": "acc_sandbox0000001",
            "event": kind,
            "contains": list(entities),
            "payload": {name: {"entity": dict(entity)} for name, entity in entities.items()},
            "created_at": int(time.time()),
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        event_id = rzp_id("evt")
        low, high = self.config.payment_webhook_delay
        now = time.time()
        payment_id = str(entities.get("payment", {}).get("id", ""))
        for _ in range(max(1, int(self.config.payment_webhook_copies))):
            self._queue.append(Delivery(now + random.uniform(low, high), event_id, body, kind, payment_id))
        self._wake.set()

    async def run(self) -> None:
        """Delivers what is due, forever; a refused or failed delivery is tried again with backoff."""
        session = self._session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            while True:
                now = time.time()
                due = [d for d in self._queue if d.at <= now]
                if not due:
                    wait = min((d.at for d in self._queue), default=now + 1) - now
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=max(0.01, min(wait, 1.0)))
                    except TimeoutError:
                        pass
                    continue
                for delivery in due:
                    self._queue.remove(delivery)
                self._in_flight += len(due)
                try:
                    await asyncio.gather(*(self._deliver(session, d) for d in due))
                finally:
                    self._in_flight -= len(due)
        finally:
            if self._session is None:
                await session.close()

    async def _deliver(self, session: aiohttp.ClientSession, delivery: Delivery) -> None:
        signature = hmac.new(self._secret, delivery.body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": signature,
            "X-Razorpay-Event-Id": delivery.event_id,
        }
        try:
            async with session.post(self.webhook_url, data=delivery.body, headers=headers) as response:
                ok = 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            self.ledger.delivered += 1
            self.ledger.arrivals.append((delivery.kind, delivery.payment_id))
            return
        self.ledger.refused += 1
        delivery.attempts += 1
        if delivery.attempts >= MAX_ATTEMPTS:
            log.error("payment webhook given up", extra={"event_id": delivery.event_id})
            return
        delivery.at = time.time() + min(30.0, 0.2 * 2**delivery.attempts)
        self._queue.append(delivery)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None
