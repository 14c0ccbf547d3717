"""ContactDirectory over the contacts service (gRPC, the ai service's own service identity)."""

from __future__ import annotations

import grpc

from runtime.errors import Unavailable
from services.ai.domain.conversations import ContactCard
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

TIMEOUT_SECONDS = 5.0


class ContactsServiceDirectory:
    def __init__(self, channel: grpc.aio.Channel):
        self._stub = contacts_service_pb2_grpc.ContactsServiceStub(channel)

    async def get(self, contact_name: str) -> ContactCard | None:
        try:
            contact = await self._stub.GetContact(pb.GetContactRequest(name=contact_name), timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise Unavailable(
                f"the contacts service could not give {contact_name} ({exc.code().name}: {exc.details()}); retry",
                reason="CONTACTS_UNAVAILABLE",
            ) from exc
        return ContactCard(contact.name, contact.display_name, contact.phone_number, contact.email)
