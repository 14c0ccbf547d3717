"""The contacts service as forms use it (ContactsService over gRPC, with this service's identity): a response's
answers written onto the contact that gave them, and an opt-in's consent recorded with the form as its source.

The order matters: WhatsApp and SMS opt-ins first (RecordConsentChange by phone number finds the contact, or
creates it, and says which it is), then the mapped fields (GetContact, the attributes merged, UpdateContact with
the etag just read, again when another change won), then an email opt-in (by the email the form just wrote).
Every write is idempotent (the same values again; a consent change at the same time from the same source is no
change), so a repeat after a failure part way is safe. Contacts unreachable: Unavailable (retry). Contacts
refusing for good (no contact to write to, an email that is another's): ContactWriteRefused."""

from __future__ import annotations

from typing import Protocol

import grpc
from google.protobuf import field_mask_pb2

from runtime.errors import Unavailable
from runtime.names import timestamp
from services.commerce.domain.answers import ContactChanges
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as pb_grpc

CHANNELS = {"whatsapp": pb.CHANNEL_WHATSAPP, "sms": pb.CHANNEL_SMS, "email": pb.CHANNEL_EMAIL}
TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,
    }
)
UPDATE_ATTEMPTS = 4
TIMEOUT = 10


class ContactWriteRefused(Exception):
    """Contacts will not take the change, whatever the retries (the message says why)."""


class ContactWriter(Protocol):
    async def apply(self, changes: ContactChanges, *, contact_id: str, phone: str, at: float, source: str) -> None:
        """Writes the changes onto the contact (by id when known, else by phone number)."""
        ...


class ContactsClient:
    def __init__(self, channel: grpc.aio.Channel):
        self._stub = pb_grpc.ContactsServiceStub(channel)

    async def apply(self, changes: ContactChanges, *, contact_id: str, phone: str, at: float, source: str) -> None:
        try:
            for channel in ("whatsapp", "sms"):
                if channel in changes.opt_ins:
                    found = await self._opt_in(channel, at, source, phone=phone)
                    contact_id = contact_id or found.name.removeprefix("contacts/")
            if changes.fields:
                contact_id = contact_id or await self._by_phone(phone)
                await self._write_fields(contact_id, changes)
            if "email" in changes.opt_ins:
                await self._opt_in("email", at, source, email=changes.email)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in TRANSIENT:
                raise Unavailable(
                    f"contacts: {exc.code().name} ({exc.details()}); retry", reason="CONTACTS_UNAVAILABLE"
                ) from None
            raise ContactWriteRefused(f"contacts refused: {exc.code().name}: {exc.details()}") from None

    async def _opt_in(self, channel: str, at: float, source: str, *, phone: str = "", email: str = "") -> pb.Contact:
        return await self._stub.RecordConsentChange(
            pb.RecordConsentChangeRequest(
                phone_number=phone,
                email=email,
                channel=CHANNELS[channel],
                state=pb.CONSENT_STATE_OPTED_IN,
                event_time=timestamp(at),
                source=source,
            ),
            timeout=TIMEOUT,
        )

    async def _by_phone(self, phone: str) -> str:
        found = await self._stub.SearchContacts(pb.SearchContactsRequest(query=phone, page_size=1), timeout=TIMEOUT)
        for contact in found.contacts:
            if contact.phone_number == phone:  # search ranks the exact number first
                return contact.name.removeprefix("contacts/")
        raise ContactWriteRefused(f"no contact has the number {phone} to write the answers to")

    async def _write_fields(self, contact_id: str, changes: ContactChanges) -> None:
        name = f"contacts/{contact_id}"
        for attempt in range(UPDATE_ATTEMPTS):
            current = await self._stub.GetContact(pb.GetContactRequest(name=name), timeout=TIMEOUT)
            wanted = pb.Contact(name=name, etag=current.etag)
            paths = []
            if changes.display_name:
                wanted.display_name = changes.display_name
                paths.append("display_name")
            if changes.email:
                wanted.email = changes.email
                paths.append("email")
            if changes.attributes:
                wanted.attributes.update(current.attributes)
                wanted.attributes.update(dict(changes.attributes))
                paths.append("attributes")
            try:
                await self._stub.UpdateContact(
                    pb.UpdateContactRequest(contact=wanted, update_mask=field_mask_pb2.FieldMask(paths=paths)),
                    timeout=TIMEOUT,
                )
                return
            except grpc.aio.AioRpcError as exc:
                if exc.code() is not grpc.StatusCode.ABORTED or attempt == UPDATE_ATTEMPTS - 1:
                    raise  # ABORTED: another change won since the read; read it again
