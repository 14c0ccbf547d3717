"""Razorpay, the payment provider (https://razorpay.com/docs/api/): Payment Links (`POST /v1/payment_links`),
Refunds (`POST /v1/payments/{id}/refund`, idempotent with `X-Refund-Idempotency`), Payments
(`GET /v1/payments?from=&to=&count=&skip=`) and the webhooks' payloads (payment.*, refund.*, payment_link.*,
order.paid). HTTP basic auth with the key id and secret; amounts in paise. The webhook's signature
(`X-Razorpay-Signature`, HMAC-SHA256 of the raw body with the webhook secret) is checked by the gateway before an
event reaches here (gateway/payments.py).

Our invoice travels in the link's `notes.invoice` (Razorpay copies a link's notes to its payments) and in its
reference_id (`<invoice id>` or `<invoice id>.<n>` for a later link), so every event names it when it can."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import aiohttp

from runtime import ids
from services.commerce.adapters.payment_provider import (
    LinkRequest,
    ProviderError,
    ProviderLink,
    ProviderPayment,
    ProviderUnavailable,
    WebhookEvent,
)
from services.commerce.domain.payments import ID, Observation, PaymentState, Refund, RefundState

log = logging.getLogger("wecare.commerce.razorpay")

PAYMENT_STATES = {
    "created": PaymentState.CREATED,
    "authorized": PaymentState.PENDING,
    "pending": PaymentState.PENDING,
    "captured": PaymentState.CAPTURED,
    "refunded": PaymentState.CAPTURED,  # refunded after a capture: the refunds say how much
    "failed": PaymentState.FAILED,
}
REFUND_STATES = {
    "created": RefundState.PENDING,
    "pending": RefundState.PENDING,
    "processed": RefundState.PROCESSED,
    "failed": RefundState.FAILED,
}
PAGE = 100  # the Payments API's largest `count`
TIMEOUT = 10.0


def invoice_of(reference: Any) -> str:
    """Our invoice id from a reference_id or a notes value (`<id>` or `<id>.<n>`), or ""."""
    head = str(reference or "").split(".", 1)[0]
    return head if ids.is_id(head) else ""


def _notes_invoice(entity: dict[str, Any]) -> str:
    notes = entity.get("notes")
    return invoice_of(notes.get("invoice")) if isinstance(notes, dict) else ""


def _int(entity: dict[str, Any], key: str) -> int:
    value = entity.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a whole number of paise, not {value!r}")
    return value


def refund_of(entity: dict[str, Any], reason: str = "") -> Refund:
    status = str(entity.get("status", ""))
    if status not in REFUND_STATES or not ID.match(str(entity.get("id", ""))):
        raise ValueError(f"not a refund entity (id {entity.get('id')!r}, status {status!r})")
    notes = entity.get("notes") if isinstance(entity.get("notes"), dict) else {}
    return Refund(
        id=entity["id"],
        amount=_int(entity, "amount"),
        state=REFUND_STATES[status],
        reason=reason or str(notes.get("reason", "")),
        create_time=float(entity.get("created_at") or 0),
    )


def parse_event(body: bytes) -> WebhookEvent:
    """A Razorpay webhook body as what it says of its payment; ValueError when it is not one."""
    try:
        event = json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(event, dict) or event.get("entity") != "event" or not isinstance(event.get("payload"), dict):
        raise ValueError("not a Razorpay event (entity `event` with a payload)")
    kind = str(event.get("event", ""))
    payload = event["payload"]

    def entity(name: str) -> dict[str, Any] | None:
        found = payload.get(name)
        inner = found.get("entity") if isinstance(found, dict) else None
        return inner if isinstance(inner, dict) else None

    payment, refund, link = entity("payment"), entity("refund"), entity("payment_link")
    if payment is None:
        return WebhookEvent(kind)  # e.g. payment_link.expired: nothing happened to a payment
    status = str(payment.get("status", ""))
    if status not in PAYMENT_STATES or not ID.match(str(payment.get("id", ""))):
        raise ValueError(f"not a payment entity (id {payment.get('id')!r}, status {status!r})")
    invoice = _notes_invoice(payment)
    if not invoice and link is not None:
        invoice = _notes_invoice(link) or invoice_of(link.get("reference_id"))
    state = PAYMENT_STATES[status]
    at = float(event.get("created_at") or payment.get("created_at") or 0)
    observation = Observation(
        payment_id=payment["id"],
        state=state,
        amount=_int(payment, "amount"),
        currency=str(payment.get("currency") or "INR"),
        invoice=invoice,
        method=str(payment.get("method") or ""),
        provider="razorpay",
        error_code=str(payment.get("error_code") or ""),
        error_description=str(payment.get("error_description") or ""),
        create_time=float(payment["created_at"]) if payment.get("created_at") else None,
        capture_time=at if state is PaymentState.CAPTURED else None,
        refunds=(refund_of(refund),) if refund is not None else (),
    )
    return WebhookEvent(kind, [observation])


class Razorpay:
    name = "razorpay"

    def __init__(self, base_url: str, key_id: str, key_secret: str, session: aiohttp.ClientSession | None = None):
        self._base = base_url.rstrip("/")
        self._authorization = "Basic " + base64.b64encode(f"{key_id}:{key_secret}".encode()).decode()
        self._session = session
        self._own_session = session is None

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        return self._session

    async def _call(self, method: str, path: str, *, body: dict | None = None, params=None, headers=None) -> dict:
        session = await self._http()
        headers = {"Authorization": self._authorization, **(headers or {})}
        try:
            async with session.request(
                method, f"{self._base}{path}", json=body, params=params, headers=headers
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable(f"Razorpay {method} {path}: {exc!r}") from exc
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {}
        if status == 429 or status >= 500 or status == 409:  # 409: an idempotent refund still in progress
            raise ProviderUnavailable(f"Razorpay {method} {path}: HTTP {status}")
        if status >= 400:
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            raise ProviderError(
                f"Razorpay refused {method} {path}: {error.get('description') or status}",
                code=str(error.get("code", "")),
                field=str(error.get("field") or ""),
            )
        if not isinstance(answer, dict):
            raise ProviderUnavailable(f"Razorpay {method} {path}: an answer that is not a JSON object")
        return answer

    async def create_link(self, request: LinkRequest) -> ProviderLink:
        body: dict[str, Any] = {
            "amount": request.amount,
            "currency": "INR",
            "accept_partial": True,
            "reference_id": request.reference_id,
            "description": request.description[:2048],
            "notify": {"sms": False, "email": False},  # we send it, through messaging
            "reminder_enable": False,
            "notes": {"invoice": request.invoice_id},
        }
        customer = {
            k: v
            for k, v in (
                ("name", request.customer_name),
                ("contact", request.customer_phone),
                ("email", request.customer_email),
            )
            if v
        }
        if customer:
            body["customer"] = customer
        if request.expire_by is not None:
            body["expire_by"] = request.expire_by
        answer = await self._call("POST", "/v1/payment_links", body=body)
        return ProviderLink(
            id=str(answer.get("id", "")),
            url=str(answer.get("short_url", "")),
            amount=int(answer.get("amount", request.amount)),
            status=str(answer.get("status", "")),
        )

    async def refund(self, payment_id: str, amount: int, idempotency_key: str, reason: str) -> Refund:
        answer = await self._call(
            "POST",
            f"/v1/payments/{payment_id}/refund",
            body={"amount": amount, "speed": "normal", "notes": {"reason": reason[:250]}},
            headers={"X-Refund-Idempotency": idempotency_key},
        )
        return refund_of(answer, reason)

    async def payments_created(self, start: float, end: float) -> list[ProviderPayment]:
        found: list[ProviderPayment] = []
        skip = 0
        while True:
            # `to` is inclusive in Razorpay's filter: one second short of the end keeps days apart.
            params = {"from": str(int(start)), "to": str(int(end) - 1), "count": str(PAGE), "skip": str(skip)}
            answer = await self._call("GET", "/v1/payments", params=params)
            items = answer.get("items") or []
            for item in items:
                found.append(
                    ProviderPayment(
                        id=str(item["id"]),
                        state=str(item.get("status", "")),
                        amount=int(item.get("amount", 0)),
                        amount_refunded=int(item.get("amount_refunded") or 0),
                        currency=str(item.get("currency") or "INR"),
                        invoice=_notes_invoice(item),
                        create_time=float(item.get("created_at") or 0),
                    )
                )
            if len(items) < PAGE:
                return found
            skip += PAGE

    def parse_webhook(self, body: bytes) -> WebhookEvent:
        return parse_event(body)

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
