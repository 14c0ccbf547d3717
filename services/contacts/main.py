"""Wiring of the contacts process: its store, its two services (ContactsService, AuditService), health probes."""

from __future__ import annotations

from runtime.aws import AwsClients
from runtime.pagination import PageTokens
from runtime.process import main as run_main
from runtime.server import GrpcProcess
from runtime.settings import Settings
from runtime.storage import open_table
from services.contacts.adapters.dynamodb_store import DynamoContactStore
from services.contacts.adapters.sqlite_store import SqliteContactStore
from services.contacts.adapters.store import ContactStore
from services.contacts.servicer import AuditServicer, ContactsServicer
from wecare.audit.v1 import audit_service_pb2_grpc
from wecare.contacts.v1 import contacts_service_pb2_grpc


def contact_store(settings: Settings, aws: AwsClients) -> ContactStore:
    return open_table(settings, aws, settings.contacts_table, sqlite=SqliteContactStore, dynamodb=DynamoContactStore)


async def wire(process: GrpcProcess, aws: AwsClients) -> None:
    settings = process.settings
    store = contact_store(settings, aws)
    tokens = PageTokens(settings.effective_page_token_key)
    process.add_service(
        contacts_service_pb2_grpc.add_ContactsServiceServicer_to_server,
        ContactsServicer(store, settings.default_phone_region, tokens),
        "wecare.contacts.v1.ContactsService",
    )
    process.add_service(
        audit_service_pb2_grpc.add_AuditServiceServicer_to_server,
        AuditServicer(process.audit, tokens),
        "wecare.audit.v1.AuditService",
    )
    process.depends_on("contacts-store", store.ping)
    process.on_close(store.close)


def main() -> None:
    run_main("contacts", lambda s: s.contacts_address, wire)


if __name__ == "__main__":
    main()
