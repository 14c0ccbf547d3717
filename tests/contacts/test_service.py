"""ContactsService and AuditService over real gRPC, wired as main() wires them, on SQLite: every method, the
rules that refuse input (naming the field, changing nothing), roles, and the audit trail."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2

from runtime.auth import ServiceTokens
from services.contacts.main import wire
from tests.support.identity import TestPool
from tests.support.rpc import violations
from tests.support.servers import running
from wecare.audit.v1 import audit_service_pb2 as audit_pb
from wecare.audit.v1 import audit_service_pb2_grpc as audit_grpc
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as pb_grpc

POOL = TestPool()
ADMIN = POOL.bearer("admin", sub="admin-1")
OPERATOR = POOL.bearer("operator", sub="operator-1")
VIEWER = POOL.bearer("viewer", sub="viewer-1")


@pytest.fixture
async def stubs(tmp_path):
    async with running("contacts", wire, POOL, tmp_path) as process:
        async with grpc.aio.insecure_channel(process.address) as channel:
            yield pb_grpc.ContactsServiceStub(channel), audit_grpc.AuditServiceStub(channel)


async def create(stub, md=OPERATOR, **fields) -> pb.Contact:
    return await stub.CreateContact(pb.CreateContactRequest(contact=pb.Contact(**fields)), metadata=md)


async def test_create_get_update_delete(stubs):
    contacts, _ = stubs
    made = await create(contacts, display_name="Asha Verma", phone_number="098123 45678", tags=["VIP"])
    assert made.phone_number == "+919812345678" and made.name.startswith("contacts/") and made.etag
    assert list(made.tags) == ["vip"]
    got = await contacts.GetContact(pb.GetContactRequest(name=made.name), metadata=VIEWER)
    assert got == made

    changed = await contacts.UpdateContact(
        pb.UpdateContactRequest(
            contact=pb.Contact(name=made.name, email="asha@example.com", etag=made.etag),
            update_mask=field_mask_pb2.FieldMask(paths=["email"]),
        ),
        metadata=OPERATOR,
    )
    assert changed.email == "asha@example.com" and changed.display_name == "Asha Verma"
    assert changed.etag != made.etag

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await contacts.UpdateContact(
            pb.UpdateContactRequest(
                contact=pb.Contact(name=made.name, display_name="Lost update", etag=made.etag),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            ),
            metadata=OPERATOR,
        )
    assert stale.value.code() is grpc.StatusCode.ABORTED
    assert (await contacts.GetContact(pb.GetContactRequest(name=made.name), metadata=VIEWER)) == changed

    await contacts.DeleteContact(pb.DeleteContactRequest(name=made.name), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await contacts.GetContact(pb.GetContactRequest(name=made.name), metadata=VIEWER)
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND
    # The number is free again once its contact is deleted.
    assert (await create(contacts, phone_number="+919812345678")).phone_number == "+919812345678"


async def test_a_number_or_an_address_belongs_to_one_contact(stubs):
    contacts, _ = stubs
    await create(contacts, phone_number="+919812345678", email="a@example.com")
    for fields in ({"phone_number": "98123 45678"}, {"email": "A@Example.com"}):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await create(contacts, **fields)
        assert err.value.code() is grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"phone_number": "12345"}, "contact.phone_number"),
        ({"email": "nope"}, "contact.email"),
        ({"display_name": "no way to reach"}, "contact.phone_number"),
        ({"phone_number": "+919812345678", "tags": ["bad tag"]}, "contact.tags[0]"),
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(stubs, fields, field):
    contacts, _ = stubs
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(contacts, **fields)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(err.value)
    listed = await contacts.ListContacts(pb.ListContactsRequest(), metadata=VIEWER)
    assert len(listed.contacts) == 0


async def test_update_mask_paths_are_checked(stubs):
    contacts, _ = stubs
    made = await create(contacts, phone_number="+919812345678")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await contacts.UpdateContact(
            pb.UpdateContactRequest(
                contact=pb.Contact(name=made.name), update_mask=field_mask_pb2.FieldMask(paths=["etag"])
            ),
            metadata=OPERATOR,
        )
    assert violations(err.value) == ["update_mask.paths[0]"]


async def test_list_pages_in_creation_order_and_refuses_foreign_tokens(stubs):
    contacts, _ = stubs
    made = [await create(contacts, email=f"p{i}@example.com") for i in range(7)]
    seen, token = [], ""
    while True:
        page = await contacts.ListContacts(pb.ListContactsRequest(page_size=3, page_token=token), metadata=VIEWER)
        seen += [c.name for c in page.contacts]
        token = page.next_page_token
        if not token:
            break
    assert seen == [c.name for c in made]
    search_token = (
        await contacts.SearchContacts(pb.SearchContactsRequest(query="example", page_size=1), metadata=VIEWER)
    ).next_page_token
    for foreign in (search_token, "garbage"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await contacts.ListContacts(pb.ListContactsRequest(page_token=foreign), metadata=VIEWER)
        assert violations(err.value) == ["page_token"]


async def test_list_by_tags_pages_the_tag_index_and_binds_its_tokens(stubs):
    contacts, _ = stubs
    tags = [["vip"] if i % 3 else ["vip", "pune"] for i in range(8)]
    made = [await create(contacts, email=f"t{i}@example.com", tags=tags[i]) for i in range(8)]
    await create(contacts, email="plain@example.com")

    async def listed(*tags: str, size: int = 2) -> list[str]:
        seen, token = [], ""
        while True:
            page = await contacts.ListContacts(
                pb.ListContactsRequest(page_size=size, page_token=token, tags=list(tags)), metadata=VIEWER
            )
            seen += [c.name for c in page.contacts]
            token = page.next_page_token
            if not token:
                return seen

    assert await listed("vip") == [c.name for c in made]
    assert await listed("VIP", "Pune") == [c.name for i, c in enumerate(made) if i % 3 == 0]  # as tags are kept
    assert await listed("nobody") == []
    # A token is for its own tags; a position in the whole book (bulk's cursor from before the index) is one too
    vip_token = (
        await contacts.ListContacts(pb.ListContactsRequest(page_size=1, tags=["vip"]), metadata=VIEWER)
    ).next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await contacts.ListContacts(pb.ListContactsRequest(page_token=vip_token, tags=["pune"]), metadata=VIEWER)
    assert violations(err.value) == ["page_token"]
    book_token = (await contacts.ListContacts(pb.ListContactsRequest(page_size=3), metadata=VIEWER)).next_page_token
    rest = await contacts.ListContacts(pb.ListContactsRequest(page_token=book_token, tags=["vip"]), metadata=VIEWER)
    assert [c.name for c in rest.contacts] == [c.name for c in made[3:]]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await contacts.ListContacts(pb.ListContactsRequest(tags=["vip", "not a tag"]), metadata=VIEWER)
    assert violations(err.value) == ["tags[1]"]


async def test_search_ranks_exact_then_prefix_then_words(stubs):
    contacts, _ = stubs
    word = await create(contacts, display_name="Ravi Asha Kumar", email="ravi@example.com")
    prefix = await create(contacts, display_name="Asha Verma", email="asha.v@example.com")
    exact = await create(contacts, display_name="Zed", phone_number="+919812345678", email="z@example.com")
    await create(contacts, display_name="Unrelated Person", email="u@example.com")

    found = await contacts.SearchContacts(pb.SearchContactsRequest(query="asha"), metadata=VIEWER)
    assert [c.name for c in found.contacts] == [prefix.name, word.name]
    by_phone = await contacts.SearchContacts(pb.SearchContactsRequest(query="098123-45678"), metadata=VIEWER)
    assert by_phone.contacts[0].name == exact.name
    by_email = await contacts.SearchContacts(pb.SearchContactsRequest(query="ASHA.V@example.com"), metadata=VIEWER)
    assert by_email.contacts[0].name == prefix.name


async def test_batch_create_gives_per_item_results(stubs):
    contacts, _ = stubs
    requests = [
        pb.CreateContactRequest(contact=pb.Contact(phone_number="+919812345601")),
        pb.CreateContactRequest(contact=pb.Contact(phone_number="not a number")),
        pb.CreateContactRequest(contact=pb.Contact(phone_number="98123 45601")),  # same number as the first
        pb.CreateContactRequest(contact=pb.Contact(email="ok@example.com")),
    ]
    result = await contacts.BatchCreateContacts(pb.BatchCreateContactsRequest(requests=requests), metadata=OPERATOR)
    kinds = [r.WhichOneof("result") for r in result.results]
    assert kinds == ["contact", "error", "error", "contact"]
    assert result.results[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "requests[1].contact.phone_number" in result.results[1].error.message
    assert result.results[2].error.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await contacts.BatchCreateContacts(pb.BatchCreateContactsRequest(requests=requests * 251), metadata=OPERATOR)
    assert violations(err.value) == ["requests"]


async def test_consent_from_a_stranger_creates_the_contact_and_moves_forward_only(stubs):
    contacts, _ = stubs
    service = (("authorization", "Bearer " + ServiceTokens(POOL.settings(), "messaging").token()),)

    def change(state, seconds):
        return pb.RecordConsentChangeRequest(
            phone_number="919812345678",
            channel=pb.CHANNEL_WHATSAPP,
            state=state,
            source="whatsapp:keyword:test",
            event_time=timestamp_pb2.Timestamp(seconds=seconds),
            display_name="Asha",
        )

    stopped = await contacts.RecordConsentChange(change(pb.CONSENT_STATE_OPTED_OUT, 2000), metadata=service)
    assert stopped.phone_number == "+919812345678"
    assert stopped.whatsapp_consent.state == pb.CONSENT_STATE_OPTED_OUT
    late = await contacts.RecordConsentChange(change(pb.CONSENT_STATE_OPTED_IN, 1000), metadata=service)
    assert late.whatsapp_consent.state == pb.CONSENT_STATE_OPTED_OUT and late.etag == stopped.etag
    started = await contacts.RecordConsentChange(change(pb.CONSENT_STATE_OPTED_IN, 3000), metadata=service)
    # The history: the changes that took effect, oldest first (the late one took none)
    assert [(c.state, c.update_time.seconds) for c in started.whatsapp_consent.history] == [
        (pb.CONSENT_STATE_OPTED_OUT, 2000),
        (pb.CONSENT_STATE_OPTED_IN, 3000),
    ]
    assert started.whatsapp_consent.history[-1].source == "whatsapp:keyword:test"
    listed = await contacts.ListContacts(pb.ListContactsRequest(), metadata=VIEWER)
    assert len(listed.contacts) == 1
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await contacts.RecordConsentChange(
            pb.RecordConsentChangeRequest(email="a@b.co", channel=pb.CHANNEL_SMS), metadata=service
        )
    assert set(violations(err.value)) == {"channel", "state", "source"}


async def test_roles(stubs):
    contacts, audit = stubs
    made = await create(contacts, phone_number="+919812345678")
    for call in (
        contacts.DeleteContact(pb.DeleteContactRequest(name=made.name), metadata=VIEWER),
        contacts.CreateContact(pb.CreateContactRequest(contact=pb.Contact(email="v@example.com")), metadata=VIEWER),
        audit.ListAuditRecords(audit_pb.ListAuditRecordsRequest(), metadata=OPERATOR),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await contacts.GetContact(pb.GetContactRequest(name=made.name))
    assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_every_mutation_is_audited_without_personal_data(stubs):
    contacts, audit = stubs
    made = await create(contacts, display_name="Asha Verma", phone_number="+919812345678")
    await contacts.UpdateContact(
        pb.UpdateContactRequest(
            contact=pb.Contact(name=made.name, tags=["vip"]), update_mask=field_mask_pb2.FieldMask(paths=["tags"])
        ),
        metadata=OPERATOR,
    )
    with pytest.raises(grpc.aio.AioRpcError):
        await contacts.DeleteContact(pb.DeleteContactRequest(name=made.name), metadata=VIEWER)
    await contacts.DeleteContact(pb.DeleteContactRequest(name=made.name), metadata=ADMIN)

    records = (
        await audit.ListAuditRecords(audit_pb.ListAuditRecordsRequest(resource=made.name), metadata=ADMIN)
    ).audit_records
    summary = [(r.method.rsplit("/", 1)[1], r.outcome, r.actor) for r in records]
    assert summary == [
        ("DeleteContact", "OK", "admin-1"),
        ("DeleteContact", "PERMISSION_DENIED", "viewer-1"),
        ("UpdateContact", "OK", "operator-1"),
        ("CreateContact", "OK", "operator-1"),
    ]
    update = records[2]
    assert list(update.before["tags"]) == [] and list(update.after["tags"]) == ["vip"]
    everything = str(records)
    assert "Asha" not in everything and "9812345678" not in everything
    by_actor = await audit.ListAuditRecords(audit_pb.ListAuditRecordsRequest(actor="admin-1"), metadata=ADMIN)
    assert [r.method.rsplit("/", 1)[1] for r in by_actor.audit_records] == ["DeleteContact"]
    future = timestamp_pb2.Timestamp(seconds=4_000_000_000)
    empty = await audit.ListAuditRecords(audit_pb.ListAuditRecordsRequest(start_time=future), metadata=ADMIN)
    assert len(empty.audit_records) == 0
