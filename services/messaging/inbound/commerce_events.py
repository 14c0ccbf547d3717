"""What ingest hands to the commerce service: a Flow's answer (an inbound interactive `nfm_reply`, stored as a
FLOW_REPLY message) goes to SubmitFormResponse, and WhatsApp payment statuses (`statuses[]` with `type:
payment`) go to RecordPaymentEvents (source WHATSAPP, event id `<wamid>:<status>[:<transaction id>]`, the
status JSON as payload).

The inbound message is kept whatever commerce says. A flow token that is not ours (NOT_FOUND) leaves it a
plain inbound message; an answer commerce refuses (INVALID_ARGUMENT: a field that breaks the form's rules) is
noted on the message and logged, never retried; a passing fault becomes an inbound-dlq letter, finished on
replay (commerce stores an answer once per wamid and applies a payment event once per event id, so a repeat
changes nothing). What commerce said is kept on the message (`form_response` or `form_error`)."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from services.messaging.adapters.commerce import (
    CommerceEvents,
    CommerceRefused,
    CommerceUnavailable,
    FormReply,
    FormUnknown,
)
from services.messaging.adapters.store import InboundMessageStore
from services.messaging.domain.inbound import PaymentStatus
from services.messaging.domain.model import InboundMessage

log = logging.getLogger("wecare.messaging.commerce")
FORM_REPLY, PAYMENTS = "form_reply", "payment_statuses"
Letter = tuple[dict[str, Any], str]


class NotHandedOver(Exception):
    """A replayed letter failed again; `str()` says why."""


def form_reply(m: InboundMessage) -> FormReply | None:
    """The Flow answer an inbound message carries, if it is one."""
    interactive = m.content.get("interactive") or {}
    if interactive.get("kind") != "INTERACTIVE_KIND_FLOW_REPLY":
        return None
    try:
        nfm = json.loads(interactive.get("interactive_json") or "{}").get("nfm_reply") or {}
    except (ValueError, AttributeError):
        return None
    response_json = nfm.get("response_json")
    if not isinstance(response_json, str):
        return None
    return FormReply(response_json, m.customer, m.provider_message_id, m.name, m.receive_time)


class CommerceHandoff:
    def __init__(self, events: CommerceEvents | None, inbound: InboundMessageStore):
        self._events = events
        self._inbound = inbound

    async def message(self, m: InboundMessage, sns_message_id: str) -> Letter | None:
        """Hands a Flow answer over; returns the inbound-dlq letter to send when commerce could not take it."""
        reply = form_reply(m)
        if reply is None or "form_response" in m.extra or "form_error" in m.extra:
            return None
        if self._events is None:
            log.warning("a form answer came, and messaging has no commerce service", extra={"inbound_message": m.name})
            return None
        try:
            await self._submit(m, reply)
        except CommerceUnavailable as exc:
            task = {"task": FORM_REPLY, "message": m.name, "sns_message_id": sns_message_id}
            return task, f"form answer not handed to commerce: {exc}"
        return None

    async def _submit(self, m: InboundMessage, reply: FormReply) -> None:
        assert self._events is not None
        note: dict[str, str] = {}
        try:
            note["form_response"] = await self._events.submit_form(reply)
        except FormUnknown:
            log.info("a flow answer to no form of ours: a plain message", extra={"inbound_message": m.name})
            return
        except CommerceRefused as exc:
            log.warning("form answer refused", extra={"inbound_message": m.name, "code": exc.code, "why": exc.message})
            note["form_error"] = exc.message
        await self._inbound.update_message(dataclasses.replace(m, extra={**m.extra, **note}))

    async def payments(self, statuses: list[PaymentStatus], sns_message_id: str) -> Letter | None:
        """Hands payment statuses over; returns the inbound-dlq letter to send when commerce could not take them."""
        if not statuses:
            return None
        if self._events is None:
            log.error(
                "payment statuses came, and messaging has no commerce service: they are in this log only",
                extra={"events": [s.event_id for s in statuses], "payloads": [s.payload for s in statuses]},
            )
            return None
        try:
            await self._events.record_payments(statuses)
        except CommerceUnavailable as exc:
            task = {
                "task": PAYMENTS,
                "message": "",
                "statuses": [{"event_id": s.event_id, "payload": s.payload} for s in statuses],
                "sns_message_id": sns_message_id,
            }
            return task, f"payment statuses not handed to commerce: {exc}"
        except CommerceRefused as exc:
            log.error(
                "commerce refused payment statuses; they are in this log",
                extra={"why": str(exc), "payloads": [s.payload for s in statuses]},
            )
        return None

    async def finish(self, task: dict[str, Any]) -> bool:
        """Does the work of an inbound-dlq letter of ours again. Raises NotHandedOver when it fails again."""
        if self._events is None:
            raise NotHandedOver("messaging has no commerce service")
        try:
            if task["task"] == PAYMENTS:
                await self._events.record_payments(
                    [PaymentStatus(str(s["event_id"]), str(s["payload"])) for s in task["statuses"]]
                )
                return True
            message = await self._inbound.get(str(task["message"]).removeprefix("messages/"))
            reply = form_reply(message) if message is not None else None
            if message is None or reply is None:
                return False
            await self._submit(message, reply)
            return True
        except CommerceUnavailable as exc:
            raise NotHandedOver(str(exc)) from None
        except (KeyError, TypeError) as exc:
            raise NotHandedOver(f"not a letter of ours: {exc}") from None
