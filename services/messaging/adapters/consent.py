"""Consent and recipients from the contacts service (ContactsService over gRPC, with this service's identity):
the consent state of an address on a channel, and a contact's address. Lookups are shared for a couple of
seconds, so a streamed send of thousands of messages does not ask about one recipient twice."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import grpc

from runtime.errors import NotFound, Unavailable
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as contacts_grpc

STATES = {
    contacts_pb.CONSENT_STATE_UNSPECIFIED: "UNKNOWN",
    contacts_pb.CONSENT_STATE_OPTED_IN: "OPTED_IN",
    contacts_pb.CONSENT_STATE_OPTED_OUT: "OPTED_OUT",
}
FIELDS = {"WHATSAPP": "whatsapp_consent", "SMS": "sms_consent", "EMAIL": "email_consent"}


@dataclass(frozen=True)
class Recipient:
    contact_id: str  # "" when the address is no contact's
    consent: str  # UNKNOWN | OPTED_IN | OPTED_OUT on the asked channel
    phone_number: str = ""
    email: str = ""


class ConsentReader(Protocol):
    async def by_address(self, channel: str, address: str) -> Recipient: ...

    async def by_contact(self, channel: str, contact_name: str) -> Recipient: ...


def _recipient(contact: contacts_pb.Contact, channel: str) -> Recipient:
    state = STATES.get(getattr(contact, FIELDS[channel]).state, "UNKNOWN")
    return Recipient(contact.name.removeprefix("contacts/"), state, contact.phone_number, contact.email)


class ContactsConsent:
    def __init__(self, channel: grpc.aio.Channel, ttl: float = 2.0, concurrency: int = 32):
        self._stub = contacts_grpc.ContactsServiceStub(channel)
        self._ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, Recipient]] = {}
        self._limit = asyncio.Semaphore(concurrency)

    async def by_address(self, channel: str, address: str) -> Recipient:
        key = (channel, address)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        async with self._limit:
            try:
                reply = await self._stub.SearchContacts(
                    contacts_pb.SearchContactsRequest(query=address, page_size=3), timeout=10
                )
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(f"cannot read consent from contacts: {exc.code().name}") from None
        found = Recipient("", "UNKNOWN")
        for contact in reply.contacts:  # exact phone/email matches come first
            if address in (contact.phone_number, contact.email.lower()):
                found = _recipient(contact, channel)
                break
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key] = (now + self._ttl, found)
        return found

    async def by_contact(self, channel: str, contact_name: str) -> Recipient:
        async with self._limit:
            try:
                contact = await self._stub.GetContact(contacts_pb.GetContactRequest(name=contact_name), timeout=10)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    raise NotFound(f"{contact_name} does not exist") from None
                if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    raise NotFound(f"{contact_name} is not a contact name") from None
                raise Unavailable(f"cannot read the contact from contacts: {exc.code().name}") from None
        return _recipient(contact, channel)
