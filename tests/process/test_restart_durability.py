"""Durability across a restart: the embedded store keeps everything on disk.

Contacts created, updated and deleted through one contacts process (stopped with SIGTERM, exit 0) are read back,
unchanged to the etag, by a fresh process on the same data dir; the deleted one stays deleted, and the audit log
of those changes survives too."""

from __future__ import annotations

from collections import Counter

import grpc
import pytest
from google.protobuf import field_mask_pb2

from tests.process.localstack import start_contacts
from wecare.audit.v1 import audit_service_pb2, audit_service_pb2_grpc
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

pytestmark = pytest.mark.process


def test_a_fresh_process_reads_what_the_last_one_wrote(stack, tmp_path):
    data = tmp_path / "data"
    admin = [("authorization", f"Bearer {stack.token('admin')}")]

    first = start_contacts(stack, data, tmp_path / "first.log")
    with grpc.insecure_channel(first.address) as channel:
        contacts = contacts_service_pb2_grpc.ContactsServiceStub(channel)
        written = [
            contacts.CreateContact(
                pb.CreateContactRequest(
                    contact=pb.Contact(
                        display_name=f"Durable {i}", phone_number=f"+91 98123 46{i:03d}", attributes={"i": str(i)}
                    )
                ),
                metadata=admin,
            )
            for i in range(5)
        ]
        updated = contacts.UpdateContact(
            pb.UpdateContactRequest(
                contact=pb.Contact(name=written[0].name, display_name="Durable zero", etag=written[0].etag),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            ),
            metadata=admin,
        )
        written[0] = updated
        contacts.DeleteContact(pb.DeleteContactRequest(name=written[4].name), metadata=admin)
        kept, deleted = written[:4], written[4]
        audit_before = audit_service_pb2_grpc.AuditServiceStub(channel).ListAuditRecords(
            audit_service_pb2.ListAuditRecordsRequest(page_size=100), metadata=admin
        )
    assert first.stop() == 0, first.log.read_text()

    second = start_contacts(stack, data, tmp_path / "second.log")
    try:
        with grpc.insecure_channel(second.address) as channel:
            contacts = contacts_service_pb2_grpc.ContactsServiceStub(channel)
            for contact in kept:
                assert contacts.GetContact(pb.GetContactRequest(name=contact.name), metadata=admin) == contact
            assert updated.display_name == "Durable zero"
            with pytest.raises(grpc.RpcError) as gone:
                contacts.GetContact(pb.GetContactRequest(name=deleted.name), metadata=admin)
            assert gone.value.code() == grpc.StatusCode.NOT_FOUND
            listed = contacts.ListContacts(pb.ListContactsRequest(page_size=100), metadata=admin)
            assert sorted(c.name for c in listed.contacts) == sorted(c.name for c in kept)
            audit_after = audit_service_pb2_grpc.AuditServiceStub(channel).ListAuditRecords(
                audit_service_pb2.ListAuditRecordsRequest(page_size=100), metadata=admin
            )
            changes = Counter(r.method.rpartition("/")[2] for r in audit_before.audit_records if r.outcome == "OK")
            assert changes["CreateContact"] == 5 and changes["UpdateContact"] == changes["DeleteContact"] == 1
            after = {r.name: r for r in audit_after.audit_records}
            assert all(after.get(r.name) == r for r in audit_before.audit_records)
    finally:
        assert second.stop() == 0
