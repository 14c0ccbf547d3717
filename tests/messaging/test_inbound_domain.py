"""Reading EUM Social events (services/messaging/domain/inbound.py): the fixtures' messages, statuses and call,
Meta's phone number id mapped to ours through the event's context, content kinds, keywords, malformed events."""

from __future__ import annotations

import itertools
import json

import pytest

from services.messaging.domain.inbound import (
    MalformedEvent,
    aws_phone_number_id,
    consent_keyword,
    parse_event,
)
from services.messaging.domain.model import Channel, Direction, InboundMessage, Status
from tests.support.sns import CUSTOMER, PHONE_ID, load, with_event

NOW = 1_795_619_000.0
ids = (f"ID{n:024d}" for n in itertools.count())


def parse(payload: str, now: float = NOW):
    return parse_event(payload, lambda: next(ids), now)


def event(name: str) -> str:
    return load(name)["Message"]


def test_text_message():
    items = parse(event("inbound-text"))
    [m] = items.messages
    assert (m.channel, m.origination, m.customer) == (Channel.WHATSAPP, PHONE_ID, CUSTOMER)
    assert m.provider_message_id.startswith("wamid.")
    assert m.content == {"text": {"body": "Hello, has order A-2291 left the warehouse?"}}
    assert m.receive_time == 1791972912.0
    assert m.profile_name == "Kavya Menon"
    assert m.create_time == NOW
    assert not items.statuses and not items.calls


def test_image_message_names_its_media():
    [m] = parse(event("inbound-image")).messages
    assert m.content == {
        "media": {
            "kind": "MEDIA_KIND_IMAGE",
            "mime_type": "image/jpeg",
            "provider_media_id": "902611348107265",
            "caption": "The parcel arrived torn",
        }
    }
    assert m.extra["media_sha256"]


def test_statuses_failed_with_its_code_and_callback_data():
    [delivered] = parse(event("status-delivered")).statuses
    assert delivered.status == Status.DELIVERED
    assert delivered.callback_data == "01JA3M7Q2X4K9T5V8R6B0N1C3D|bulkJobs/8f3a2c1e/+919845012345"
    assert (delivered.recipient, delivered.origination, delivered.time) == (CUSTOMER, PHONE_ID, 1791973392.0)
    [failed] = parse(event("status-failed")).statuses
    assert failed.status == Status.FAILED
    assert failed.error.code == "131047"
    assert failed.error.title == "Re-engagement message"
    assert "24 hours" in failed.error.detail


def test_call_event():
    [call] = parse(event("call-terminate")).calls
    assert call.call_id.startswith("wacid.")
    assert (call.event, call.call_status, call.direction) == ("terminate", "COMPLETED", Direction.INBOUND)
    assert (call.customer, call.origination) == (CUSTOMER, PHONE_ID)
    assert (call.start_time, call.end_time, call.duration_seconds) == (1791973632.0, 1791973812.0, 180)


def test_a_customer_time_after_now_is_taken_as_now():
    [m] = parse(event("inbound-text"), now=1791972900.0).messages
    assert m.receive_time == 1791972900.0


@pytest.mark.parametrize(
    ("text", "opted_out"),
    [(" stop ", True), ("STOP", True), ("Unsubscribe", True), ("stopall\n", True), ("OptOut", True), ("start", False)],
)
def test_keywords_are_whole_messages_case_insensitive_and_trimmed(text, opted_out):
    m = InboundMessage("X", Channel.WHATSAPP, PHONE_ID, CUSTOMER, "wamid.x", {"text": {"body": text}}, NOW)
    keyword = consent_keyword(m)
    assert keyword is not None and keyword.opted_out is opted_out
    assert keyword.source == f"whatsapp:keyword:{text.strip().upper()}"


@pytest.mark.parametrize("text", ["please stop", "stop!", "STOP it", "", "unstoppable"])
def test_other_texts_are_not_keywords(text):
    m = InboundMessage("X", Channel.WHATSAPP, PHONE_ID, CUSTOMER, "wamid.x", {"text": {"body": text}}, NOW)
    assert consent_keyword(m) is None


def test_the_stop_fixture_is_a_keyword():
    [m] = parse(event("inbound-stop")).messages
    assert consent_keyword(m).opted_out


def test_other_content_kinds():
    def messages(entry, kinds):
        value = entry["changes"][0]["value"]
        base = value["messages"][0]
        value["messages"] = [dict(base, id=f"wamid.k{i}", type=k, **{k: v}) for i, (k, v) in enumerate(kinds)]

    kinds = [
        ("location", {"latitude": 12.9, "longitude": 77.6, "name": "Office"}),
        ("interactive", {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}),
        ("button", {"payload": "track", "text": "Track order"}),
        ("reaction", {"message_id": "wamid.target", "emoji": "👍"}),
        ("order", {"catalog_id": "1"}),
    ]
    message = with_event(load("inbound-text"), lambda e: messages(e, kinds))
    got = parse(message["Message"]).messages
    assert got[0].content == {"location": {"latitude": 12.9, "longitude": 77.6, "name": "Office"}}
    reply = {"kind": "INTERACTIVE_KIND_REPLY", "reply_id": "yes", "reply_title": "Yes"}
    assert got[1].content == {"interactive": reply}
    assert got[2].content["interactive"]["reply_id"] == "track"
    assert got[3].content == {"reaction": {"message": "", "emoji": "👍"}}
    assert got[3].extra["reaction_wamid"] == "wamid.target"
    assert got[4].content["unsupported"]["type"] == "order"
    assert json.loads(got[4].content["unsupported"]["raw_json"])["order"] == {"catalog_id": "1"}


def test_phone_number_arn():
    arn = "arn:aws:social-messaging:us-east-1:412905873316:phone-number-id/c3a8f1d26e7b4095a1d4e8b7f2c60a19"
    assert aws_phone_number_id(arn) == PHONE_ID
    with pytest.raises(MalformedEvent):
        aws_phone_number_id("arn:aws:social-messaging:us-east-1:412905873316:waba/7d2e91c04b5a4f3e9c81a6d05b2f4e73")


def _unknown_phone(entry):
    entry["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"


def _no_wamid(entry):
    del entry["changes"][0]["value"]["messages"][0]["id"]


def _bad_sender(entry):
    entry["changes"][0]["value"]["messages"][0]["from"] = "not-a-number"


@pytest.mark.parametrize("change", [_unknown_phone, _no_wamid, _bad_sender])
def test_malformed_entries_name_the_problem(change):
    with pytest.raises(MalformedEvent):
        parse(with_event(load("inbound-text"), change)["Message"])


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        json.dumps({"context": {}, "whatsAppWebhookEntry": {"id": "1"}}),  # the entry must be a JSON string
        json.dumps({"context": {"MetaPhoneNumberIds": []}, "whatsAppWebhookEntry": "{not json"}),
    ],
)
def test_malformed_events(payload):
    with pytest.raises(MalformedEvent):
        parse(payload)
