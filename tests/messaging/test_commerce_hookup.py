"""Messaging's side of the commerce service: tracked links found and replaced (domain/tracking.py) and minted
at acceptance (outbound/tracking.py, over a minter double that keeps commerce's request-id rule); Meta's own
objects checked before they are accepted (domain/passthrough.py, against what commerce itself builds); the
nfm_reply and payment statuses read from events and handed over (inbound/commerce_events.py)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from runtime import ids
from runtime.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.commerce.domain import flow_json, order_details
from services.commerce.domain.forms import Flow, FormState
from services.commerce.domain.invoices import Invoice, Kind, Line, issue
from services.messaging.adapters.commerce import (
    ClickRecord,
    CommerceRefused,
    CommerceUnavailable,
    FormReply,
    FormUnknown,
    LinkAsk,
)
from services.messaging.domain import meta, tracking
from services.messaging.domain.inbound import PaymentStatus, parse_event
from services.messaging.domain.model import Category, Channel, InboundMessage, OutboundMessage
from services.messaging.domain.rules import Draft, validate
from services.messaging.inbound.commerce_events import FORM_REPLY, PAYMENTS, CommerceHandoff, NotHandedOver
from services.messaging.outbound.tracking import Tracking
from tests.commerce.form_samples import form
from tests.support.sns import CUSTOMER, PHONE_ID, load, with_event

PHONES = {Channel.WHATSAPP: (PHONE_ID,), Channel.SMS: ("pool-1",), Channel.EMAIL: ("shop@example.com",)}


# --- where the URLs are ------------------------------------------------------------------------------------
def test_urls_in_texts_buttons_and_html_found_once_each_in_order():
    content = {
        "text": {
            "body": "See https://shop.example/a?x=1&y=2, then (https://shop.example/b). Again: https://shop.example/a?x=1&y=2"
        }
    }
    assert tracking.targets(content) == ["https://shop.example/a?x=1&y=2", "https://shop.example/b"]
    email = {
        "email": {
            "subject": "Hi",
            "text_body": "https://shop.example/a?x=1&y=2",
            "html_body": '<a href="https://shop.example/a?x=1&amp;y=2">shop</a> <a href="http://old.example/">old</a>',
        }
    }
    assert tracking.targets(email) == ["https://shop.example/a?x=1&y=2", "http://old.example/"]
    template = {
        "template": {
            "template_name": "offer",
            "language": "en",
            "button_parameters": [
                {"index": 0, "sub_type": "url", "text": "https://shop.example/cart/42"},
                {"index": 1, "sub_type": "url", "text": "summer-sale"},  # a plain suffix: not ours to track
                {"index": 2, "sub_type": "quick_reply", "text": "https://not-a-link.example/"},
            ],
        }
    }
    assert tracking.targets(template) == ["https://shop.example/cart/42"]
    cta = {"interactive": {"kind": "INTERACTIVE_KIND_CTA_URL", "body_text": "Go", "cta_url": "https://shop.example/c"}}
    assert tracking.targets(cta) == ["https://shop.example/c"]
    assert tracking.targets({"text": {"body": "no links here, http:// alone"}}) == []


def test_rewrite_puts_short_links_in_place_and_leaves_the_shared_content_alone():
    content = {"text": {"body": "A https://s.example/a. B https://s.example/b and https://s.example/a"}}
    before = json.dumps(content)
    minted = {
        "https://s.example/a": tracking.Minted("https://l.example/l/AAA", "AAA"),
        "https://s.example/b": tracking.Minted("https://l.example/l/BBB", "BBB"),
    }
    out = tracking.rewrite(content, minted)
    assert out["text"]["body"] == "A https://l.example/l/AAA. B https://l.example/l/BBB and https://l.example/l/AAA"
    assert json.dumps(content) == before  # another message of the same request shares it
    html = {"email": {"subject": "s", "html_body": '<a href="https://s.example/a?p=1&amp;q=2">x</a>'}}
    out = tracking.rewrite(html, {"https://s.example/a?p=1&q=2": tracking.Minted("https://l.example/l/C", "C")})
    assert out["email"]["html_body"] == '<a href="https://l.example/l/C">x</a>'
    button = {"template": {"button_parameters": [{"index": 0, "sub_type": "url", "text": " https://s.example/a "}]}}
    out = tracking.rewrite(button, minted)
    assert out["template"]["button_parameters"][0]["text"] == "AAA"  # the button's URL is <links base>/l/{{1}}


# --- minting at acceptance ---------------------------------------------------------------------------------
class Minter:
    """BatchCreateLinks as commerce answers it: all or none; a request_id repeated for another link is
    ALREADY_EXISTS; a URL with user info is INVALID_ARGUMENT."""

    def __init__(self):
        self.made: dict[str, LinkAsk] = {}
        self.calls: list[list[LinkAsk]] = []
        self.down = False

    async def mint(self, asks: list[LinkAsk]) -> list[tracking.Minted]:
        self.calls.append(asks)
        if self.down:
            raise CommerceUnavailable("commerce: UNAVAILABLE")
        for a in asks:
            if "@" in a.target_url:
                raise CommerceRefused("INVALID_ARGUMENT", "requests[0].link.target_url: no user info")
            earlier = self.made.get(a.request_id)
            if earlier is not None and earlier != a:
                raise CommerceRefused("ALREADY_EXISTS", f"request_id {a.request_id!r} already made a different link")
        for a in asks:
            self.made.setdefault(a.request_id, a)
        return [tracking.Minted(f"https://l.example/l/{self._code(a)}", self._code(a)) for a in asks]

    def _code(self, ask: LinkAsk) -> str:
        return str(list(self.made).index(ask.request_id))

    async def clicks(self, message: str) -> list[ClickRecord]:
        return [ClickRecord("links/1", 10.0, 20.0, 2)] if message else []


def message(
    key: str = "", body: str = "Pay https://pay.example/i/1 or see https://shop.example/", **extra
) -> OutboundMessage:
    return OutboundMessage(
        id=ids.new_id(),
        channel=Channel.WHATSAPP,
        category=Category.UTILITY,
        origination=PHONE_ID,
        recipient=CUSTOMER,
        content={"text": {"body": body}},
        create_time=1.0,
        contact_id="01J0CONTACT000000000000000",
        idempotency_key=key,
        extra={"track_links": True, **extra},
    )


async def test_each_url_gets_a_link_for_this_recipient_named_by_key_and_index():
    minter = Minter()
    m = message("bulkJobs/01J00000000000000000000000/+919845012345", job="bulkJobs/01J00000000000000000000000")
    [out] = await Tracking(minter).apply([(m, "messages[0]")])
    assert out.content["text"]["body"] == "Pay https://l.example/l/0 or see https://l.example/l/1"
    assert out.extra["tracked_links"] == 2
    first, second = minter.calls[0]
    assert first.request_id == f"{m.idempotency_key}/0" and second.request_id == f"{m.idempotency_key}/1"
    assert (first.message, first.contact, first.recipient, first.job) == (
        m.name,
        "contacts/01J0CONTACT000000000000000",
        CUSTOMER,
        "bulkJobs/01J00000000000000000000000",
    )
    plain = message(body="nothing to track")
    untracked = dataclasses.replace(message(), extra={})
    assert await Tracking(minter).apply([(plain, "m"), (untracked, "m")]) == [plain, untracked]
    assert len(minter.calls) == 1  # neither asked commerce for anything


async def test_a_retried_acceptance_gets_the_same_links_and_a_key_of_a_withdrawn_message_fresh_ones():
    minter = Minter()
    m = message("orders/7/confirm")
    [first] = await Tracking(minter).apply([(m, "message")])
    # The same message accepted again (the reply was lost): commerce answers with the links it made.
    [again] = await Tracking(minter).apply([(m, "message")])
    assert again.content == first.content and len(minter.made) == 2
    # A new message under the key (the first was withdrawn, or never stored): its own links, never the first's.
    later = message("orders/7/confirm")
    [fresh] = await Tracking(minter).apply([(later, "message")])
    assert fresh.content != first.content
    assert {a.request_id for a in minter.calls[-1]} == {f"{later.id}/0", f"{later.id}/1"}
    assert all(a.message == later.name for a in minter.calls[-1])


async def test_a_failure_to_mint_refuses_the_message_never_sends_it_untracked():
    minter = Minter()
    minter.down = True
    [out] = await Tracking(minter).apply([(message(), "messages[3]")])
    assert isinstance(out, Unavailable)
    minter.down = False
    good, bad = message(), message(body="see https://user:pw@shop.example/")
    first, second = await Tracking(minter).apply([(good, "messages[0]"), (bad, "messages[1]")])
    assert isinstance(first, OutboundMessage) and "l.example" in first.content["text"]["body"]
    assert isinstance(second, InvalidArgument) and second.violations[0].field == "messages[1].content"
    [off] = await Tracking(None).apply([(message(), "message")])
    assert isinstance(off, FailedPrecondition) and off.reason == "TRACKING_OFF"


async def test_a_chunk_mints_in_calls_of_at_most_a_thousand_links():
    minter = Minter()
    body = " ".join(f"https://s.example/{i}" for i in range(300))
    out = await Tracking(minter).apply([(message(body=body), f"messages[{i}]") for i in range(7)])
    assert all(isinstance(m, OutboundMessage) and m.extra["tracked_links"] == 300 for m in out)
    assert [len(c) for c in minter.calls] == [900, 900, 300]


async def test_clicks_only_for_messages_with_tracked_links():
    minter = Minter()
    [tracked] = await Tracking(minter).apply([(message(), "message")])
    assert await Tracking(minter).clicks(tracked) == [ClickRecord("links/1", 10.0, 20.0, 2)]
    assert await Tracking(minter).clicks(message()) == []  # accepted without links (no tracked_links)


# --- Meta's objects, as commerce builds them ---------------------------------------------------------------
def draft(content: dict, channel: Channel = Channel.WHATSAPP) -> Draft:
    return Draft(channel, Category.UTILITY, CUSTOMER, content)


def invoice() -> Invoice:
    draft_ = Invoice(
        id=ids.new_id(),
        kind=Kind.INVOICE,
        contact=ids.new_id(),
        lines=(Line("Tea", 1500, 33_333, 1800), Line("Cups", 2000, 12_500, 1200)),
        intra_state=True,
        discount=1_000,
        due_date="2099-06-30",
    )
    return issue(draft_, "2026-27", 7, 1_780_000_000.0)


def interactive(kind: str, obj: dict) -> dict:
    return {"interactive": {"kind": f"INTERACTIVE_KIND_{kind}", "interactive_json": json.dumps(obj)}}


def violations(content: dict) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        validate(draft(content), "message", "IN", PHONES)
    return {v.field: v.description for v in caught.value.violations}


def test_what_commerce_builds_is_accepted_and_sent_as_it_is():
    ours = order_details.order_details(invoice(), "upi-config", "Invoice INV/26-27/7: pay here")
    status = order_details.order_status(invoice(), "captured", "Paid, thank you")
    published = form(FormState.PUBLISHED, flow=Flow(flow_id="1234567890"))
    flow = flow_json.interactive(published, "tok-" + ids.new_id())
    for kind, obj in (("ORDER_DETAILS", ours), ("ORDER_STATUS", status), ("FLOW", flow)):
        content = interactive(kind, obj)
        validate(draft(content), "message", "IN", PHONES)
        m = OutboundMessage(ids.new_id(), Channel.WHATSAPP, Category.UTILITY, PHONE_ID, CUSTOMER, content, 1.0)
        assert meta.message_object(m, {})["interactive"] == obj  # passed through, exactly
    button = json.dumps(flow_json.template_button("tok-1", 0))
    template = {"template": {"template_name": "survey", "language": "en", "flow_button_json": button}}
    validate(draft(template), "message", "IN", PHONES)
    m = OutboundMessage(ids.new_id(), Channel.WHATSAPP, Category.UTILITY, PHONE_ID, CUSTOMER, template, 1.0)
    assert meta.message_object(m, {})["template"]["components"] == [json.loads(button)]


def test_order_details_that_do_not_add_up_are_refused_naming_the_field():
    ours = order_details.order_details(invoice(), "upi-config", "Pay")
    at = "message.content.interactive.interactive_json"
    wrong_total = json.loads(json.dumps(ours))
    wrong_total["action"]["parameters"]["total_amount"]["value"] += 1
    assert list(violations(interactive("ORDER_DETAILS", wrong_total))) == [f"{at}.action.parameters.total_amount"]
    wrong_items = json.loads(json.dumps(ours))
    wrong_items["action"]["parameters"]["order"]["items"][0]["quantity"] += 1
    assert list(violations(interactive("ORDER_DETAILS", wrong_items))) == [f"{at}.action.parameters.order.subtotal"]
    rupees = json.loads(json.dumps(ours))
    rupees["action"]["parameters"]["total_amount"] = {"value": 12.5, "offset": 1}
    assert f"{at}.action.parameters.total_amount.value" in violations(interactive("ORDER_DETAILS", rupees))
    offset = json.loads(json.dumps(ours))
    offset["action"]["parameters"]["order"]["tax"]["offset"] = 1000
    assert f"{at}.action.parameters.order.tax.offset" in violations(interactive("ORDER_DETAILS", offset))
    unreferenced = json.loads(json.dumps(ours))
    del unreferenced["action"]["parameters"]["reference_id"]
    assert f"{at}.action.parameters.reference_id" in violations(interactive("ORDER_DETAILS", unreferenced))
    assert f"{at}.type" in violations(interactive("ORDER_STATUS", ours))
    assert at in violations({"interactive": {"kind": "INTERACTIVE_KIND_FLOW", "interactive_json": "{not json"}})
    no_token = flow_json.interactive(form(FormState.PUBLISHED, flow=Flow(flow_id="1")), "")
    assert f"{at}.action.parameters.flow_token" in violations(interactive("FLOW", no_token))
    bad_button = {"template": {"template_name": "t", "language": "en", "flow_button_json": '{"type": "button"}'}}
    assert "message.content.template.flow_button_json" in violations(bad_button)


# --- inbound ------------------------------------------------------------------------------------------------
NFM = {
    "type": "nfm_reply",
    "nfm_reply": {"name": "flow", "body": "Sent", "response_json": '{"flow_token":"tok-1","city":"Pune"}'},
}


def inbound_event(value: dict) -> str:
    def change(entry: dict) -> None:
        target = entry["changes"][0]["value"]
        target.pop("messages", None)
        target.update(value)

    return with_event(load("inbound-text"), change)["Message"]


def test_an_nfm_reply_is_kept_whole_and_payment_statuses_are_read_as_events():
    payload = inbound_event(
        {
            "messages": [
                {
                    "from": CUSTOMER.lstrip("+"),
                    "id": "wamid.R1",
                    "timestamp": "1790000000",
                    "type": "interactive",
                    "interactive": NFM,
                }
            ],
            "statuses": [
                {
                    "id": "wamid.OD1",
                    "status": "captured",
                    "type": "payment",
                    "timestamp": "1790000001",
                    "payment": {"reference_id": "INV1"},
                }
            ],
        }
    )
    items = parse_event(payload, ids.new_id, 1_800_000_000.0)
    [m] = items.messages
    assert m.content["interactive"]["kind"] == "INTERACTIVE_KIND_FLOW_REPLY"
    assert json.loads(m.content["interactive"]["interactive_json"]) == NFM
    [status] = items.payments
    assert status.event_id == "wamid.OD1:captured" and json.loads(status.payload)["payment"]["reference_id"] == "INV1"
    assert not items.statuses  # a payment status says nothing of a message's delivery


def test_each_payment_attempt_on_one_order_is_its_own_event():
    def failed(transaction: str) -> dict:
        return {
            "id": "wamid.OD1",
            "status": "failed",
            "type": "payment",
            "timestamp": "1790000001",
            "payment": {"reference_id": "INV1", "transaction": {"id": transaction, "status": "failed"}},
        }

    payload = inbound_event({"statuses": [failed("pay_A"), failed("pay_B")]})
    first, second = parse_event(payload, ids.new_id, 1_800_000_000.0).payments
    assert (first.event_id, second.event_id) == ("wamid.OD1:failed:pay_A", "wamid.OD1:failed:pay_B")


class Events:
    def __init__(self):
        self.submitted: list[FormReply] = []
        self.recorded: list[PaymentStatus] = []
        self.answer: Exception | str = "forms/F/responses/R"

    async def submit_form(self, reply: FormReply) -> str:
        self.submitted.append(reply)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    async def record_payments(self, statuses: list[PaymentStatus]) -> None:
        if isinstance(self.answer, Exception):
            raise self.answer
        self.recorded += statuses


class Inbound:
    def __init__(self):
        self.messages: dict[str, InboundMessage] = {}

    async def get(self, message_id: str) -> InboundMessage | None:
        return self.messages.get(message_id)

    async def update_message(self, m: InboundMessage) -> None:
        self.messages[m.id] = m


def flow_reply_message() -> InboundMessage:
    content = {
        "interactive": {
            "kind": "INTERACTIVE_KIND_FLOW_REPLY",
            "reply_title": "Sent",
            "interactive_json": json.dumps(NFM),
        }
    }
    return InboundMessage(ids.new_id(), Channel.WHATSAPP, PHONE_ID, CUSTOMER, "wamid.R1", content, 1_790_000_000.0)


async def test_a_form_answer_is_handed_over_exactly_as_received():
    events, inbound = Events(), Inbound()
    m = flow_reply_message()
    inbound.messages[m.id] = m
    assert await CommerceHandoff(events, inbound).message(m, "sns-1") is None
    [reply] = events.submitted
    assert reply == FormReply(NFM["nfm_reply"]["response_json"], CUSTOMER, "wamid.R1", m.name, 1_790_000_000.0)
    assert inbound.messages[m.id].extra["form_response"] == "forms/F/responses/R"
    # A repeat of the event: the message says it was handed over, nothing is asked again.
    assert await CommerceHandoff(events, inbound).message(inbound.messages[m.id], "sns-1") is None
    assert len(events.submitted) == 1


async def test_unknown_tokens_stay_plain_refusals_are_noted_faults_are_dead_lettered_and_finished_on_replay():
    events, inbound = Events(), Inbound()
    m = flow_reply_message()
    inbound.messages[m.id] = m
    handoff = CommerceHandoff(events, inbound)
    events.answer = FormUnknown("no such flow token")
    assert await handoff.message(m, "sns-1") is None and "form_response" not in inbound.messages[m.id].extra
    events.answer = CommerceRefused("INVALID_ARGUMENT", "response_json.city: required")
    assert await handoff.message(m, "sns-1") is None
    assert inbound.messages[m.id].extra["form_error"] == "response_json.city: required"
    other = flow_reply_message()
    inbound.messages[other.id] = other
    events.answer = CommerceUnavailable("down")
    task, reason = await handoff.message(other, "sns-2")
    assert task["task"] == FORM_REPLY and task["message"] == other.name and "down" in reason
    with pytest.raises(NotHandedOver):
        await handoff.finish(json.loads(json.dumps(task)))
    events.answer = "forms/F/responses/S"
    assert await handoff.finish(json.loads(json.dumps(task))) is True
    assert inbound.messages[other.id].extra["form_response"] == "forms/F/responses/S"
    statuses = [PaymentStatus("wamid.OD1:captured", '{"id":"wamid.OD1"}')]
    events.answer = CommerceUnavailable("down")
    task, _ = await handoff.payments(statuses, "sns-3")
    assert task["task"] == PAYMENTS
    events.answer = "ok"
    assert await handoff.finish(json.loads(json.dumps(task))) is True and events.recorded == statuses
