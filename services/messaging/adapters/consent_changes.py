"""Consent changes messaging writes into the contacts service: an inbound STOP (or START) becomes a WhatsApp
consent change there, and a number that is not a contact yet becomes one, opted out. Over gRPC with
messaging's own service identity (runtime.clients.service_channel + runtime.auth.ServiceTokens). Reading
consent is adapters.consent's."""

from __future__ import annotations

from typing import Protocol

import grpc

from runtime.names import timestamp
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as contacts_grpc

TIMEOUT = 5.0


class ConsentNotRecorded(Exception):
    """Contacts did not take the change (down, overloaded, or it refused it); `str()` says why."""


class ConsentRecorder(Protocol):
    async def record(self, phone_number: str, opted_out: bool, at: float, source: str, display_name: str) -> str:
        """Records a WhatsApp consent change as of `at` (older than the recorded one: ignored by contacts), creating
        the contact when there is none; returns its name `contacts/{id}`. Raises ConsentNotRecorded."""
        ...


class ContactsConsentRecorder:
    def __init__(self, channel: grpc.aio.Channel):
        self._stub = contacts_grpc.ContactsServiceStub(channel)

    async def record(self, phone_number: str, opted_out: bool, at: float, source: str, display_name: str) -> str:
        request = contacts_pb.RecordConsentChangeRequest(
            phone_number=phone_number,
            channel=contacts_pb.CHANNEL_WHATSAPP,
            state=contacts_pb.CONSENT_STATE_OPTED_OUT if opted_out else contacts_pb.CONSENT_STATE_OPTED_IN,
            event_time=timestamp(at),
            source=source,
            display_name=display_name,
        )
        try:
            contact = await self._stub.RecordConsentChange(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            raise ConsentNotRecorded(f"RecordConsentChange: {exc.code().name}: {exc.details()}") from exc
        return contact.name
