"""The SNS fixtures (tests/fixtures/sns), re-stamped and signed by a test certificate, through the gateway's SNS
endpoint into messaging (and contacts): the records they make, and that the same fixture twice, or out of
order, changes nothing more; refused messages change nothing."""

from __future__ import annotations

import time

import aiohttp
import pytest

from services.messaging.domain.model import (
    Category,
    Channel,
    Lane,
    OutboundMessage,
    SendResult,
    Status,
)
from tests.messaging.inbound_env import ADMIN, INCOMING, VIEWER, inbox, service
from tests.support.sns import CUSTOMER, PHONE_ID, load, restamp, with_event
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.messaging.v1 import messaging_service_pb2 as pb

DELIVERED_WAMID = "wamid.GAw5MTk4NDUwMTIzNDUVAgASGBRBRDREN0E3Nzg2QjlCRDhDNDREOAA"
FAILED_WAMID = "wamid.GAw5MTk4NDUwMTIzNDUVAgASGBQ3MTRDQjY0MUQ4REVBMDVBNkExOQA"


@pytest.fixture
async def env(tmp_path, moto_endpoint):
    async with inbox(tmp_path, moto_endpoint) as box:
        yield box


def signed(env, name: str, **stamps) -> dict:
    return env.signer.sign(restamp(load(name), **stamps))


async def test_text_opens_the_window_and_makes_a_conversation(env):
    wa_at = time.time() - 60
    assert await env.post(signed(env, "inbound-text", wa_at=wa_at)) == 200
    [message] = await env.messages(CUSTOMER)
    assert message.direction == pb.DIRECTION_INBOUND
    assert message.status == pb.STATUS_RECEIVED
    assert message.content.text.body == "Hello, has order A-2291 left the warehouse?"
    assert (message.origination, message.recipient) == (PHONE_ID, CUSTOMER)
    assert message.provider_message_id.startswith("wamid.")
    assert message.conversation == "conversations/whatsapp-919845012345"
    [conversation] = await env.conversations()
    assert conversation.name == "conversations/whatsapp-919845012345"
    assert (conversation.customer, conversation.profile_name) == (CUSTOMER, "Kavya Menon")
    assert conversation.unanswered_count == 1
    assert conversation.last_message.name == message.name
    assert conversation.window_expire_time.seconds == int(wa_at) + 24 * 3600
    assert await env.inbound.windows.last_inbound(PHONE_ID, CUSTOMER) == int(wa_at)


async def test_the_fixture_as_sent_leaves_the_window_closed(env):
    assert await env.post(signed(env, "inbound-text")) == 200  # the customer wrote on 2026-11-20
    [conversation] = await env.conversations()
    assert not conversation.HasField("window_expire_time")


async def test_the_same_message_twice_changes_nothing_more(env):
    first = signed(env, "inbound-text", wa_at=time.time() - 30)
    assert await env.post(first) == 200
    assert await env.post(first) == 200  # SNS delivers at least once: same MessageId
    again = env.signer.sign(dict(restamp(load("inbound-text"), wa_at=time.time() - 30), MessageId="another-id"))
    assert await env.post(again) == 200  # the same wamid published twice
    assert len(await env.messages(CUSTOMER)) == 1
    [conversation] = await env.conversations()
    assert conversation.unanswered_count == 1
    reply = await env.messaging.IngestEvents(
        pb.IngestEventsRequest(
            events=[pb.InboundEvent(sns_message_id=first["MessageId"], payload=first["Message"], source="test")]
        ),
        metadata=service(),
    )
    assert reply.results[0].outcome == pb.INGEST_OUTCOME_DUPLICATE


async def test_stop_from_a_stranger_makes_an_opted_out_contact(env):
    assert await env.contact_by_phone(CUSTOMER) is None
    assert await env.post(signed(env, "inbound-stop")) == 200
    contact = await env.contact_by_phone(CUSTOMER)
    assert contact is not None
    assert contact.display_name == "Kavya Menon"
    assert contact.whatsapp_consent.state == contacts_pb.CONSENT_STATE_OPTED_OUT
    assert contact.whatsapp_consent.source == "whatsapp:keyword:STOP"
    assert contact.whatsapp_consent.update_time.seconds == 1791973212  # the customer's time
    [message] = await env.messages(CUSTOMER)
    assert message.contact == contact.name
    # START later opts back in; the STOP delivered again afterwards (older) does not undo it.
    start = with_event(load("inbound-stop"), lambda e: _rewrite(e, "start", "wamid.start-1", 1791973312))
    assert await env.post(env.signer.sign(restamp(dict(start, MessageId="start-1")))) == 200
    assert await env.post(signed(env, "inbound-stop")) == 200
    contact = await env.contact_by_phone(CUSTOMER)
    assert contact.whatsapp_consent.state == contacts_pb.CONSENT_STATE_OPTED_IN
    assert contact.whatsapp_consent.source == "whatsapp:keyword:START"


def _rewrite(entry: dict, body: str, wamid: str, at: int) -> None:
    m = entry["changes"][0]["value"]["messages"][0]
    m.update(id=wamid, timestamp=str(at), text={"body": body})


async def test_image_media_lands_under_the_incoming_prefix_and_get_message_signs_it(env):
    assert await env.post(signed(env, "inbound-image")) == 200
    key = INCOMING + "902611348107265.jpg"  # AWS appends the media id and extension to the prefix
    assert env.objects() == {key: b"sandbox media 902611348107265"}
    assert env.media_gets() == 1
    [message] = await env.messages(CUSTOMER)
    media = message.content.media
    assert (media.kind, media.mime_type) == (pb.MEDIA_KIND_IMAGE, "image/jpeg")
    assert media.caption == "The parcel arrived torn"
    assert (media.media_key, media.provider_media_id) == (key, "902611348107265")
    assert media.size_bytes == len(b"sandbox media 902611348107265")
    got = await env.messaging.GetMessage(pb.GetMessageRequest(name=message.name), metadata=VIEWER)
    async with aiohttp.ClientSession() as http, http.get(got.content.media.download_uri) as response:
        assert response.status == 200
        assert await response.read() == b"sandbox media 902611348107265"
    # Delivered again: the media is not fetched again.
    assert await env.post(env.signer.sign(dict(restamp(load("inbound-image")), MessageId="again"))) == 200
    assert env.media_gets() == 1


async def test_delete_message_removes_its_media(env):
    assert await env.post(signed(env, "inbound-image")) == 200
    [message] = await env.messages(CUSTOMER)
    assert env.objects()
    await env.messaging.DeleteMessage(pb.DeleteMessageRequest(name=message.name), metadata=ADMIN)
    assert env.objects() == {}
    assert await env.messages(CUSTOMER) == []


async def _sent_message(env, provider_id: str, key: str = "") -> OutboundMessage:
    """An outbound message this platform sent, as the dispatcher records it (accepted, handed off, sent)."""
    store = env.outbound
    now = time.time()
    from runtime import ids

    message = OutboundMessage(
        id=ids.new_id(),
        channel=Channel.WHATSAPP,
        category=Category.MARKETING,
        origination=PHONE_ID,
        recipient=CUSTOMER,
        content={"text": {"body": "Your order"}},
        create_time=now,
        idempotency_key=key,
        lane=Lane.SINGLE,
        due_time=now + 3600,  # never picked by the dispatcher in this test
        update_time=now,
    )
    await store.messages.accept([message])
    await store.queue.hand_off([message.id], now)
    if provider_id:
        await store.queue.record_results([SendResult(message.id, "sent", now, provider_message_id=provider_id)])
    return await store.messages.get(message.id)


async def test_statuses_for_an_unknown_message_are_kept_then_attributed_whatever_the_order(env):
    # read before delivered, both before the message is known: kept, never failing the ingest.
    assert await env.post(signed(env, "status-read")) == 200
    assert await env.post(signed(env, "status-delivered")) == 200
    message = await _sent_message(env, DELIVERED_WAMID)
    assert message.status == Status.READ
    assert message.deliver_time == 1791973392 and message.read_time == 1791973452
    # The same statuses again change nothing.
    assert await env.post(env.signer.sign(dict(restamp(load("status-delivered")), MessageId="d2"))) == 200
    assert (await env.outbound.messages.get(message.id)).status == Status.READ


async def test_failed_is_terminal_with_its_code_and_read_after_it_changes_nothing(env):
    message = await _sent_message(env, FAILED_WAMID)
    assert await env.post(signed(env, "status-failed")) == 200
    got = await env.messaging.GetMessage(pb.GetMessageRequest(name=message.name), metadata=VIEWER)
    assert got.status == pb.STATUS_FAILED
    assert (got.error.code, got.error.title) == ("131047", "Re-engagement message")
    read_after = with_event(
        load("status-read"), lambda e: e["changes"][0]["value"]["statuses"][0].update(id=FAILED_WAMID)
    )
    assert await env.post(env.signer.sign(restamp(dict(read_after, MessageId="read-after-failed")))) == 200
    got = await env.messaging.GetMessage(pb.GetMessageRequest(name=message.name), metadata=VIEWER)
    assert got.status == pb.STATUS_FAILED and got.error.code == "131047"


async def test_failed_after_read_changes_nothing(env):
    message = await _sent_message(env, DELIVERED_WAMID)
    assert await env.post(signed(env, "status-read")) == 200
    failed = with_event(
        load("status-failed"), lambda e: e["changes"][0]["value"]["statuses"][0].update(id=DELIVERED_WAMID)
    )
    assert await env.post(env.signer.sign(restamp(failed))) == 200
    got = await env.outbound.messages.get(message.id)
    assert got.status == Status.READ and got.error is None


async def test_callback_data_finds_a_message_before_its_provider_id_is_recorded(env):
    message = await _sent_message(env, "", key="bulkJobs/job-1/+919845012345")  # handed off, no answer yet
    callback = f"{message.id}|{message.idempotency_key}"

    def to_ours(entry):
        entry["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = callback

    assert await env.post(env.signer.sign(restamp(with_event(load("status-delivered"), to_ours)))) == 200
    got = await env.outbound.messages.get(message.id)
    assert got.status == Status.DELIVERED
    assert got.provider_message_id == DELIVERED_WAMID


async def test_the_call_is_listed_once(env):
    call = signed(env, "call-terminate")
    assert await env.post(call) == 200
    assert await env.post(env.signer.sign(dict(restamp(load("call-terminate")), MessageId="call-again"))) == 200
    reply = await env.messaging.ListVoiceCalls(pb.ListVoiceCallsRequest(customer="+91 98450 12345"), metadata=VIEWER)
    [voice_call] = reply.voice_calls
    assert voice_call.call_id.startswith("wacid.")
    assert (voice_call.event, voice_call.call_status) == ("terminate", "COMPLETED")
    assert (voice_call.direction, voice_call.duration_seconds) == (pb.DIRECTION_INBOUND, 180)
    assert (voice_call.customer, voice_call.origination) == (CUSTOMER, PHONE_ID)
    assert voice_call.end_time.seconds - voice_call.start_time.seconds == 180
    none = await env.messaging.ListVoiceCalls(pb.ListVoiceCallsRequest(customer="+919900000000"), metadata=VIEWER)
    assert list(none.voice_calls) == []


async def test_refused_messages_change_nothing(env):
    forged = signed(env, "inbound-stop")
    forged["Message"] = forged["Message"].replace("Kavya", "Eve")
    unsigned = restamp(load("inbound-text"))
    wrong_topic = env.signer.sign(dict(restamp(load("inbound-text")), TopicArn=forged["TopicArn"] + "-other"))
    stale = signed(env, "inbound-text", at=time.time() - 2 * 3600)
    hostile = env.signer.sign(dict(restamp(load("inbound-image")), SigningCertURL="https://evil.example/c.pem"))
    for message in (forged, unsigned, wrong_topic, stale, hostile):
        assert await env.post(message) == 403
    assert await env.conversations() == []
    assert await env.contact_by_phone(CUSTOMER) is None
    assert env.objects() == {}


async def test_ingest_takes_bad_input_as_invalid_argument(env):
    import grpc

    for request, field in (
        (pb.IngestEventsRequest(), "events"),
        (pb.IngestEventsRequest(events=[pb.InboundEvent(payload="{}")]), "events[0].sns_message_id"),
        (pb.IngestEventsRequest(events=[pb.InboundEvent(sns_message_id="x")]), "events[0].payload"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await env.messaging.IngestEvents(request, metadata=service())
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in caught.value.details()
    reply = await env.messaging.IngestEvents(
        pb.IngestEventsRequest(events=[pb.InboundEvent(sns_message_id="junk", payload='{"not": "eum"}')]),
        metadata=service(),
    )
    assert reply.results[0].outcome == pb.INGEST_OUTCOME_REJECTED
    assert "whatsAppWebhookEntry" in reply.results[0].detail
    assert await env.conversations() == []
