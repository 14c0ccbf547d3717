"""The backends the gateway transcodes to: which generated module holds a service, and which setting says where
its process listens. Every `google.api.http` annotated RPC of every service listed here gets its HTTP route; a
new service is one line here and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from runtime.settings import Settings
from wecare.ai.v1 import ai_service_pb2
from wecare.audit.v1 import audit_service_pb2
from wecare.bulk.v1 import bulk_service_pb2
from wecare.commerce.v1 import commerce_service_pb2
from wecare.contacts.v1 import contacts_service_pb2
from wecare.messaging.v1 import messaging_service_pb2


@dataclass(frozen=True)
class Backend:
    module: ModuleType  # the generated *_pb2 module (importing it registers the descriptors)
    service: str  # full service name, e.g. `wecare.contacts.v1.ContactsService`
    address_setting: str  # the Settings attribute with the process's address

    def address(self, settings: Settings) -> str:
        return getattr(settings, self.address_setting)

    @property
    def process(self) -> str:
        """The process that serves it, as docs/DESIGN.md names it (`contacts_address` -> `contacts`)."""
        return self.address_setting.removesuffix("_address")


BACKENDS: tuple[Backend, ...] = (
    Backend(contacts_service_pb2, "wecare.contacts.v1.ContactsService", "contacts_address"),
    Backend(audit_service_pb2, "wecare.audit.v1.AuditService", "contacts_address"),
    Backend(messaging_service_pb2, "wecare.messaging.v1.MessagingService", "messaging_address"),
    Backend(bulk_service_pb2, "wecare.bulk.v1.BulkService", "bulk_address"),
    Backend(ai_service_pb2, "wecare.ai.v1.AIService", "ai_address"),
    Backend(commerce_service_pb2, "wecare.commerce.v1.CommerceService", "commerce_address"),
)
