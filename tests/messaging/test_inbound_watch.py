"""WatchConversations, the inbox stream: an ingested message reaches a watcher of this process and of another
messaging process on the same store (the store's change feed, not an in-process signal); the conversation
filter; status changes only when asked for; calls. Also the reads the inbox makes: ListMessages (newest first,
page tokens, by contact), ListConversations (latest first)."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from tests.messaging.inbound_env import ADMIN, VIEWER, inbox
from tests.messaging.test_inbound_sns import DELIVERED_WAMID, _sent_message
from tests.support.sns import CUSTOMER, load, restamp, with_event
from wecare.messaging.v1 import messaging_service_pb2 as pb

OTHER = "+919812300001"


@pytest.fixture
async def env(tmp_path, moto_endpoint):
    async with inbox(tmp_path, moto_endpoint) as box:
        yield box


def text_from(sender: str, wamid: str, body: str = "hello", at: float | None = None) -> dict:
    def change(entry):
        value = entry["changes"][0]["value"]
        value["contacts"][0]["wa_id"] = sender.lstrip("+")
        value["messages"][0].update({"from": sender.lstrip("+"), "id": wamid, "text": {"body": body}})

    message = with_event(load("inbound-text"), change)
    return restamp(dict(message, MessageId=f"sns-{wamid}"), wa_at=at or time.time())


async def watch(stub, **request):
    call = stub.WatchConversations(pb.WatchConversationsRequest(**request), metadata=VIEWER)
    await asyncio.wait_for(call.initial_metadata(), 5)  # the server has subscribed
    return call


async def next_event(call, within: float = 5.0) -> pb.WatchConversationsResponse:
    return await asyncio.wait_for(call.read(), within)


async def test_an_ingested_message_streams_to_watchers_here_and_in_another_process(env):
    async with env.another_messaging() as other_process:
        here = await watch(env.messaging)
        there = await watch(other_process)
        assert await env.post(env.signer.sign(text_from(CUSTOMER, "wamid.w1", "where is my parcel"))) == 200
        for call in (here, there):
            event = await next_event(call)
            assert event.kind == pb.CONVERSATION_EVENT_KIND_MESSAGE_RECEIVED
            assert event.conversation == "conversations/whatsapp-919845012345"
            assert event.message.content.text.body == "where is my parcel"
            assert event.message.direction == pb.DIRECTION_INBOUND
            assert event.message.name.startswith("messages/")
        here.cancel()
        there.cancel()


async def test_the_conversation_filter_and_status_changes_on_request(env):
    only_other = await watch(env.messaging, conversation="conversations/whatsapp-919812300001")
    messages_only = await watch(env.messaging)
    with_statuses = await watch(env.messaging, include_status_changes=True)
    await _sent_message(env, DELIVERED_WAMID)
    assert await env.post(env.signer.sign(restamp(load("status-delivered")))) == 200
    assert await env.post(env.signer.sign(text_from(CUSTOMER, "wamid.c1"))) == 200
    assert await env.post(env.signer.sign(text_from(OTHER, "wamid.o1"))) == 200

    event = await next_event(only_other)
    assert event.conversation == "conversations/whatsapp-919812300001"
    assert event.message.recipient == OTHER

    first = await next_event(messages_only)
    assert first.kind == pb.CONVERSATION_EVENT_KIND_MESSAGE_RECEIVED  # the status change is not for it
    assert first.message.provider_message_id == "wamid.c1"

    status = await next_event(with_statuses)
    assert status.kind == pb.CONVERSATION_EVENT_KIND_STATUS_CHANGED
    assert status.message.status == pb.STATUS_DELIVERED
    assert status.message.direction == pb.DIRECTION_OUTBOUND
    assert status.message.provider_message_id == DELIVERED_WAMID
    assert (await next_event(with_statuses)).message.provider_message_id == "wamid.c1"
    for call in (only_other, messages_only, with_statuses):
        call.cancel()


async def test_a_call_streams_as_a_voice_call_event(env):
    call = await watch(env.messaging)
    assert await env.post(env.signer.sign(restamp(load("call-terminate")))) == 200
    event = await next_event(call)
    assert event.kind == pb.CONVERSATION_EVENT_KIND_VOICE_CALL
    assert event.voice_call.event == "terminate"
    assert event.voice_call.customer == CUSTOMER
    call.cancel()


async def test_a_bad_conversation_name_is_invalid(env):
    call = env.messaging.WatchConversations(pb.WatchConversationsRequest(conversation="whatsapp-1"), metadata=VIEWER)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "conversation" in caught.value.details()


async def test_messages_newest_first_in_pages_and_by_contact(env):
    now = time.time()
    for i in range(5):
        assert await env.post(env.signer.sign(text_from(CUSTOMER, f"wamid.p{i}", f"m{i}", at=now - 100 + i))) == 200
    assert await env.post(env.signer.sign(text_from(OTHER, "wamid.x", "other", at=now))) == 200
    bodies, tokens = [], [""]
    while True:
        reply = await env.messaging.ListMessages(
            pb.ListMessagesRequest(customer="+91 98450 12345", page_size=2, page_token=tokens[-1]), metadata=VIEWER
        )
        bodies += [m.content.text.body for m in reply.messages]
        if not reply.next_page_token:
            break
        tokens.append(reply.next_page_token)
    assert bodies == ["m4", "m3", "m2", "m1", "m0"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # a token of another query
        await env.messaging.ListMessages(
            pb.ListMessagesRequest(customer=OTHER, page_size=2, page_token=tokens[1]), metadata=VIEWER
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in caught.value.details()

    # By contact: STOP makes Kavya a contact; her messages are found through it.
    assert await env.post(env.signer.sign(restamp(load("inbound-stop")))) == 200
    contact = await env.contact_by_phone(CUSTOMER)
    reply = await env.messaging.ListMessages(pb.ListMessagesRequest(contact=contact.name), metadata=VIEWER)
    assert len(reply.messages) == 6
    for bad in (pb.ListMessagesRequest(), pb.ListMessagesRequest(customer="not a number")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await env.messaging.ListMessages(bad, metadata=VIEWER)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_conversations_latest_first(env):
    now = time.time()
    assert await env.post(env.signer.sign(text_from(CUSTOMER, "wamid.a", at=now - 50))) == 200
    assert await env.post(env.signer.sign(text_from(OTHER, "wamid.b", at=now - 10))) == 200
    first = await env.messaging.ListConversations(pb.ListConversationsRequest(page_size=1), metadata=VIEWER)
    assert [c.customer for c in first.conversations] == [OTHER]
    second = await env.messaging.ListConversations(
        pb.ListConversationsRequest(page_size=1, page_token=first.next_page_token), metadata=VIEWER
    )
    assert [c.customer for c in second.conversations] == [CUSTOMER]
    assert second.next_page_token == ""
    # Deleting needs admin; a viewer is refused.
    name = second.conversations[0].last_message.name
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.messaging.DeleteMessage(pb.DeleteMessageRequest(name=name), metadata=VIEWER)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await env.messaging.DeleteMessage(pb.DeleteMessageRequest(name=name), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.messaging.DeleteMessage(pb.DeleteMessageRequest(name=name), metadata=ADMIN)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
