"""The contacts service as bulk uses it (ContactsService over gRPC, with this service's identity): an audience
read page by page (ListContacts in id order, filtered by tags from contacts' tag index; or SearchContacts for a
search, its tags checked here), each contact as a candidate with its address and consent on the job's channel,
and the consent of a list of addresses for an inline dry run."""

from __future__ import annotations

import asyncio

import grpc

from runtime.errors import Unavailable
from services.bulk.domain.model import Audience, Channel
from services.bulk.domain.spec import Candidate
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as pb_grpc

CONSENT = {
    pb.CONSENT_STATE_UNSPECIFIED: "UNKNOWN",
    pb.CONSENT_STATE_OPTED_IN: "OPTED_IN",
    pb.CONSENT_STATE_OPTED_OUT: "OPTED_OUT",
}
FIELDS = {Channel.WHATSAPP: "whatsapp_consent", Channel.SMS: "sms_consent", Channel.EMAIL: "email_consent"}
LIST_PAGE = 1000
SEARCH_PAGE = 100
BOOK_FACTOR = 2  # an inline dry run reads the whole book when it is at most this many times the list


def candidate(contact: pb.Contact, channel: Channel) -> Candidate:
    return Candidate(
        address=contact.email if channel == Channel.EMAIL else contact.phone_number,
        contact=contact.name.removeprefix("contacts/"),
        display_name=contact.display_name,
        phone_number=contact.phone_number,
        email=contact.email,
        attributes=dict(contact.attributes),
        consent=CONSENT.get(getattr(contact, FIELDS[channel]).state, "UNKNOWN"),
    )


# Answers that reading the audience again will not change.
LASTING = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION})


class AudienceUnreadable(Exception):
    """Contacts refuses the audience's query for good (e.g. a page token it no longer honours)."""


class ContactsDirectory:
    def __init__(self, channel: grpc.aio.Channel, concurrency: int = 32):
        self._stub = pb_grpc.ContactsServiceStub(channel)
        self._limit = asyncio.Semaphore(concurrency)

    async def page(self, audience: Audience, channel: Channel, cursor: str) -> tuple[list[Candidate], str]:
        """One page of the audience from `cursor` ("" at the start): its candidates, and the next cursor
        ("" after the last page). Contacts without every tag of the query are left out (by the index, which
        may give a short or even empty page before the last)."""
        try:
            if audience.search:
                reply = await self._stub.SearchContacts(
                    pb.SearchContactsRequest(query=audience.search, page_size=SEARCH_PAGE, page_token=cursor),
                    timeout=30,
                )
            else:
                reply = await self._stub.ListContacts(
                    pb.ListContactsRequest(page_size=LIST_PAGE, page_token=cursor, tags=audience.tags), timeout=30
                )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in LASTING:
                raise AudienceUnreadable(f"contacts refused the audience: {exc.code().name} {exc.details()}") from None
            raise Unavailable(f"cannot read the audience from contacts: {exc.code().name} {exc.details()}") from None
        wanted = set(audience.tags) if audience.search else set()  # ListContacts filtered by the tags itself
        found = [candidate(c, channel) for c in reply.contacts if wanted <= set(c.tags)]
        return found, reply.next_page_token

    async def consent(self, channel: Channel, addresses: set[str]) -> dict[str, tuple[str, Candidate]]:
        """address -> (consent, the contact as a candidate) for the addresses that are contacts. Reads the
        whole book when it is not much larger than the list, else searches address by address."""
        if not addresses:
            return {}
        found: dict[str, tuple[str, Candidate]] = {}
        token, read, budget = "", 0, BOOK_FACTOR * len(addresses) + LIST_PAGE
        while True:
            try:
                reply = await self._stub.ListContacts(pb.ListContactsRequest(page_size=LIST_PAGE, page_token=token))
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(f"cannot read consent from contacts: {exc.code().name}") from None
            for contact in reply.contacts:
                c = candidate(contact, channel)
                key = c.address.lower() if channel == Channel.EMAIL else c.address
                if key in addresses:
                    found[key] = (c.consent, c)
            read += len(reply.contacts)
            token = reply.next_page_token
            if not token:
                return found
            if read >= budget:
                break
        found = {}

        async def one(address: str) -> None:
            async with self._limit:
                try:
                    reply = await self._stub.SearchContacts(pb.SearchContactsRequest(query=address, page_size=3))
                except grpc.aio.AioRpcError as exc:
                    raise Unavailable(f"cannot read consent from contacts: {exc.code().name}") from None
            for contact in reply.contacts:  # exact phone or email matches come first
                c = candidate(contact, channel)
                if (c.address.lower() if channel == Channel.EMAIL else c.address) == address:
                    found[address] = (c.consent, c)
                    return

        await asyncio.gather(*(one(a) for a in sorted(addresses)))
        return found
