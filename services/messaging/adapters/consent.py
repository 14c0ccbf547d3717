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
PREFETCH_FROM = 500  # recipients in one send from which the contact book is read instead
PREFETCH_TTL = 10.0  # a snapshot of consent at acceptance, as a lookup per recipient would be
FIELDS = {"WHATSAPP": "whatsapp_consent", "SMS": "sms_consent", "EMAIL": "email_consent"}


@dataclass(frozen=True)
class Recipient:
    contact_id: str  # "" when the address is no contact's
    consent: str  # UNKNOWN | OPTED_IN | OPTED_OUT on the asked channel
    phone_number: str = ""
    email: str = ""


class ConsentReader(Protocol):
    async def by_address(self, channel: str, address: str) -> Recipient: ...

    async def prefetch(self, wanted: set[tuple[str, str]]) -> None:
        """Warms the lookups of many (channel, address) pairs at once, where that is cheaper."""
        ...

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

    async def prefetch(self, wanted: set[tuple[str, str]]) -> None:
        """For a large send, reading the whole contact book (1,000 a page) is far cheaper than a search per
        recipient, as long as the book is not much larger than the send: read at most twice as many contacts
        as there are recipients, and fall back to searching one by one when the book is larger than that."""
        if len(wanted) < PREFETCH_FROM:
            return
        found: dict[tuple[str, str], Recipient] = {}
        token, read, budget = "", 0, 2 * len(wanted) + 1000
        channels = {c for c, _ in wanted}
        while True:
            try:
                reply = await self._stub.ListContacts(
                    contacts_pb.ListContactsRequest(page_size=1000, page_token=token), timeout=30
                )
            except grpc.aio.AioRpcError:
                return  # the per-recipient path reports the outage where it matters
            for contact in reply.contacts:
                for channel in channels:
                    address = contact.email.lower() if channel == "EMAIL" else contact.phone_number
                    if address:
                        found[(channel, address)] = _recipient(contact, channel)
            read += len(reply.contacts)
            token = reply.next_page_token
            if not token:
                break
            if read >= budget:
                return
        expires = time.monotonic() + PREFETCH_TTL
        for key in wanted:
            self._cache[key] = (expires, found.get(key, Recipient("", "UNKNOWN")))

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
