"""The two ports' gRPC adapters: ContactsServiceDirectory against the real contacts service, and
MessagingConversations against a stand-in ListMessages; both call with the ai service's own identity."""

from __future__ import annotations

import time

import grpc
import pytest

from localrun.procs import free_port
from runtime.auth import ServiceTokens
from runtime.clients import service_channel
from runtime.errors import Unavailable
from services.ai.adapters.contacts_directory import ContactsServiceDirectory
from services.ai.adapters.messaging_conversations import MessagingConversations
from services.ai.domain.conversations import ContactCard, Direction
from services.contacts.main import wire as contacts_wire
from tests.ai.messaging_double import messaging_double
from tests.ai.support import OPERATOR, POOL
from tests.support.servers import running
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as contacts_grpc

CARD = ContactCard("contacts/01J0000000000000000000000A", "Asha", "+919812345678", "")


async def test_contacts_come_from_the_contacts_service(tmp_path):
    async with running("contacts", contacts_wire, POOL, tmp_path) as contacts:
        tokens = ServiceTokens(contacts.settings, "ai")
        async with (
            grpc.aio.insecure_channel(contacts.address) as plain,
            service_channel(contacts.address, tokens.token) as channel,
        ):
            made = await contacts_grpc.ContactsServiceStub(plain).CreateContact(
                contacts_pb.CreateContactRequest(
                    contact=contacts_pb.Contact(display_name="Asha Verma", phone_number="98123 45678", email="a@x.in")
                ),
                metadata=OPERATOR,
            )
            directory = ContactsServiceDirectory(channel)
            assert await directory.get(made.name) == ContactCard(made.name, "Asha Verma", "+919812345678", "a@x.in")
            assert await directory.get("contacts/01J0000000000000000000000A") is None
    async with service_channel(f"127.0.0.1:{free_port()}", tokens.token) as nowhere:
        with pytest.raises(Unavailable):
            await ContactsServiceDirectory(nowhere).get(made.name)


async def test_recent_messages_oldest_first_and_the_last_time_the_contact_wrote():
    settings = POOL.settings()
    tokens = ServiceTokens(settings, "ai")
    now = time.time()
    async with messaging_double(settings) as (messages, address):
        messages.say(CARD.name, "my plan?", now - 5000)
        for i in range(30):
            messages.say(CARD.name, f"update {i}", now - 4000 + i, inbound=False)
        async with service_channel(address, tokens.token) as channel:
            got = await MessagingConversations(channel).recent(CARD, limit=20)
    # The 20 latest messages, oldest first; the contact's last message was found on a later page.
    assert [m.text for m in got.messages] == [f"update {i}" for i in range(10, 30)]
    assert all(m.direction is Direction.OUTBOUND for m in got.messages)
    assert got.last_inbound_time == pytest.approx(now - 5000, abs=0.01)
    assert len(messages.requests) == 2 and messages.requests[0].contact == CARD.name
    assert messages.callers == ["service:ai", "service:ai"]


async def test_nothing_older_than_a_day_is_looked_for():
    settings = POOL.settings()
    tokens = ServiceTokens(settings, "ai")
    now = time.time()
    async with messaging_double(settings) as (messages, address):
        messages.say(CARD.name, "old question", now - 10 * 24 * 3600)
        for i in range(45):
            messages.say(CARD.name, f"broadcast {i}", now - 3 * 24 * 3600 + i, inbound=False)
        async with service_channel(address, tokens.token) as channel:
            got = await MessagingConversations(channel).recent(CARD, limit=20)
    assert got.last_inbound_time is None and len(messages.requests) == 1  # the window is closed either way


async def test_an_unreachable_messaging_service_is_unavailable():
    tokens = ServiceTokens(POOL.settings(), "ai")
    async with service_channel(f"127.0.0.1:{free_port()}", tokens.token) as channel:
        with pytest.raises(Unavailable) as raised:
            await MessagingConversations(channel).recent(CARD)
    assert raised.value.reason == "MESSAGING_UNAVAILABLE"
