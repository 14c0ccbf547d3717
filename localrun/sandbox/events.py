"""The sandbox's outgoing events: EUM Social events in the shape the SNS topic carries (docs/DESIGN.md "The
WhatsApp channel"), and the sink that delivers them to messaging's IngestEvents in batches with a service token.

Events are due at a time (sent shortly after acceptance, delivered and read later); the sink sends what is due
in batches of up to `batch` events every `interval`, so a 1,000/s run costs a handful of calls a second. When
messaging is down or does not take events yet, the sink keeps them and retries with exponential backoff (up
to 30 s between tries); nothing is dropped unless the backlog exceeds `max_pending`, which is logged."""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc

from runtime.auth import ServiceTokens
from runtime.clients import service_channel
from runtime.names import timestamp
from runtime.settings import Settings

log = logging.getLogger("wecare.sandbox.events")


def meta_phone_id(phone_hex: str) -> str:
    """A stable numeric Meta phone number id for an AWS phone number id."""
    return str(int(phone_hex[:13], 16) % 10**15).rjust(15, "1")


def display_number(phone_hex: str) -> str:
    digits = phone_hex.lstrip("0")
    return digits if digits.isdigit() and len(digits) >= 8 else "1555" + str(int(phone_hex[:8], 16))[:7]


def _arns(phone_hex: str, region: str, account: str) -> dict[str, Any]:
    waba_hex = phone_hex[::-1]
    return {
        "MetaWabaIds": [
            {
                "wabaId": str(int(waba_hex[:12], 16)),
                "arn": f"arn:aws:social-messaging:{region}:{account}:waba/{waba_hex}",
            }
        ],
        "MetaPhoneNumberIds": [
            {
                "metaPhoneNumberId": meta_phone_id(phone_hex),
                "arn": f"arn:aws:social-messaging:{region}:{account}:phone-number-id/{phone_hex}",
            }
        ],
    }


def _envelope(phone_hex: str, value: dict[str, Any], at: float, region: str, account: str) -> dict[str, Any]:
    context = _arns(phone_hex, region, account)
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_number(phone_hex), "phone_number_id": meta_phone_id(phone_hex)},
        **value,
    }
    entry = {"id": context["MetaWabaIds"][0]["wabaId"], "changes": [{"value": value, "field": "messages"}]}
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    return {
        "context": context,
        "whatsAppWebhookEntry": json.dumps(entry),
        "aws_account_id": account,
        "message_timestamp": stamp,
        "messageId": str(uuid.uuid4()),
    }


def account_event(
    waba_hex: str, field: str, value: dict[str, Any], at: float, region: str, account: str, phone_hex: str = ""
) -> dict[str, Any]:
    """A WABA-level webhook field (a template's status, a phone's quality) as EUM Social delivers it: the entry's id
    is the WABA's Meta id, and the context names the WABA (and the phone, for a phone's event)."""
    waba_id = str(int(waba_hex[:12], 16))
    context: dict[str, Any] = {
        "MetaWabaIds": [{"wabaId": waba_id, "arn": f"arn:aws:social-messaging:{region}:{account}:waba/{waba_hex}"}]
    }
    if phone_hex:
        context["MetaPhoneNumberIds"] = _arns(phone_hex, region, account)["MetaPhoneNumberIds"]
    entry = {"id": waba_id, "time": int(at), "changes": [{"value": value, "field": field}]}
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    return {
        "context": context,
        "whatsAppWebhookEntry": json.dumps(entry),
        "aws_account_id": account,
        "message_timestamp": stamp,
        "messageId": str(uuid.uuid4()),
    }


def status_event(
    *,
    phone_hex: str,
    to: str,
    wamid: str,
    status: str,
    at: float,
    callback: str,
    error: tuple[str, str] | None,
    region: str,
    account: str,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(at)),
        "recipient_id": to.lstrip("+"),
    }
    if callback:
        entry["biz_opaque_callback_data"] = callback
    if status != "failed":
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"}
    if error:
        code, title = error
        entry["errors"] = [
            {"code": int(code), "title": title, "message": title, "error_data": {"details": f"sandbox: {title}"}}
        ]
    return _envelope(phone_hex, {"statuses": [entry]}, at, region, account)


def payment_status_event(
    *,
    phone_hex: str,
    to: str,
    wamid: str,
    status: str,
    at: float,
    reference_id: str,
    amount: int,
    payment_id: str,
    region: str,
    account: str,
) -> dict[str, Any]:
    """A WhatsApp payment status of an order_details message (India): `captured`, `pending` or `failed`, with the
    gateway's payment as its transaction."""
    transaction = {
        "id": payment_id,
        "type": "razorpay",
        "status": {"captured": "success", "failed": "failed"}.get(status, "pending"),
        "method": {"type": "upi"},
        "amount": {"value": amount, "offset": 100},
        "currency": "INR",
        "created_timestamp": int(at * 1000),
    }
    if status == "failed":
        transaction["error"] = {"code": "BAD_REQUEST_ERROR", "reason": "Payment failed at the customer's bank"}
    entry = {
        "id": wamid,
        "status": status,
        "type": "payment",
        "timestamp": str(int(at)),
        "recipient_id": to.lstrip("+"),
        "payment": {
            "reference_id": reference_id,
            "amount": {"value": amount, "offset": 100},
            "currency": "INR",
            "transaction": transaction,
        },
    }
    return _envelope(phone_hex, {"statuses": [entry]}, at, region, account)


def inbound_text_event(
    phone_hex: str, sender: str, wamid: str, text: str, name: str, at: float, region: str, account: str = "000000000000"
) -> dict[str, Any]:
    value = {
        "contacts": [{"profile": {"name": name or "Sandbox Customer"}, "wa_id": sender.lstrip("+")}],
        "messages": [
            {"from": sender.lstrip("+"), "id": wamid, "timestamp": str(int(at)), "type": "text", "text": {"body": text}}
        ],
    }
    return _envelope(phone_hex, value, at, region, account)


def inbound_image_event(
    phone_hex: str,
    sender: str,
    wamid: str,
    media_id: str,
    mime_type: str,
    caption: str,
    name: str,
    at: float,
    region: str,
    account: str = "000000000000",
) -> dict[str, Any]:
    """The customer sends a picture: the webhook names its media id; messaging fetches it (GetWhatsAppMessageMedia)."""
    image = {"id": media_id, "mime_type": mime_type, "sha256": hashlib.sha256(media_id.encode()).hexdigest()}
    if caption:
        image["caption"] = caption
    value = {
        "contacts": [{"profile": {"name": name or "Sandbox Customer"}, "wa_id": sender.lstrip("+")}],
        "messages": [
            {"from": sender.lstrip("+"), "id": wamid, "timestamp": str(int(at)), "type": "image", "image": image}
        ],
    }
    return _envelope(phone_hex, value, at, region, account)


def inbound_flow_reply_event(
    phone_hex: str,
    sender: str,
    wamid: str,
    *,
    context_wamid: str,
    response_json: str,
    at: float,
    region: str,
    name: str = "",
    account: str = "000000000000",
) -> dict[str, Any]:
    """A customer's answer to a Flow: an interactive `nfm_reply` replying to the flow message (context.id)."""
    value = {
        "contacts": [{"profile": {"name": name or "Sandbox Customer"}, "wa_id": sender.lstrip("+")}],
        "messages": [
            {
                "context": {"from": display_number(phone_hex), "id": context_wamid},
                "from": sender.lstrip("+"),
                "id": wamid,
                "timestamp": str(int(at)),
                "type": "interactive",
                "interactive": {
                    "type": "nfm_reply",
                    "nfm_reply": {"name": "flow", "body": "Sent", "response_json": response_json},
                },
            }
        ],
    }
    return _envelope(phone_hex, value, at, region, account)


class EventSink:
    """Holds events until due, then delivers them to IngestEvents in batches, retrying with backoff."""

    def __init__(self, settings: Settings, batch: int = 200, interval: float = 0.2, max_pending: int = 2_000_000):
        self._settings = settings
        self._tokens = ServiceTokens(settings, "gateway")  # it stands in for the gateway's SNS endpoint
        self.batch = batch
        self.interval = interval
        self._max_pending = max_pending
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._counter = itertools.count()
        self._wake = asyncio.Event()
        self.delivered = 0

    def schedule(self, due: float, event: dict[str, Any]) -> None:
        if len(self._heap) >= self._max_pending:
            log.error("sandbox event backlog full; dropping the oldest event", extra={"pending": len(self._heap)})
            heapq.heappop(self._heap)
        heapq.heappush(self._heap, (due, next(self._counter), event))
        if len(self._heap) >= self.batch:
            self._wake.set()

    def pending(self) -> int:
        return len(self._heap)

    def _due(self, now: float) -> list[tuple[float, int, dict[str, Any]]]:
        out = []
        while self._heap and self._heap[0][0] <= now and len(out) < self.batch:
            out.append(heapq.heappop(self._heap))
        return out

    async def run(self) -> None:
        # Imported here: the sandbox must start even where messaging's generated code is stale.
        from wecare.messaging.v1 import messaging_service_pb2 as pb
        from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

        backoff = 0.0
        async with service_channel(self._settings.messaging_address, self._tokens.token) as channel:
            stub = pb_grpc.MessagingServiceStub(channel)
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=max(self.interval, backoff))
                except TimeoutError:
                    pass
                self._wake.clear()
                while True:
                    items = self._due(time.time())
                    if not items:
                        break
                    request = pb.IngestEventsRequest(
                        events=[
                            pb.InboundEvent(
                                sns_message_id=e["messageId"],
                                payload=json.dumps(e),
                                publish_time=timestamp(due),
                                source="sandbox",
                            )
                            for due, _, e in items
                        ]
                    )
                    try:
                        await stub.IngestEvents(request, timeout=30)
                    except grpc.aio.AioRpcError as exc:
                        for item in items:  # keep them, in order, for the next try
                            heapq.heappush(self._heap, item)
                        backoff = min(30.0, max(0.5, backoff * 2))
                        log.warning(
                            "ingest unavailable; events kept, retrying",
                            extra={"code": exc.code().name, "pending": len(self._heap), "retry_in_s": backoff},
                        )
                        break
                    backoff = 0.0
                    self.delivered += len(items)
