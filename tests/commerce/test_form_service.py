"""CommerceService's form RPCs over real gRPC, wired as main() wires them (SQLite), with the contacts service
running beside it and the sandbox as EUM Social: forms created, changed and refused naming the field with
nothing changed; previewed, published and deprecated through the Flow API; invitations with their flow tokens;
answers submitted as messaging's ingest will (invalid ones refused naming the field, stored once whatever the
repeats, written onto the contact, the opt-in's consent recorded with the form as its source); responses listed
per form, contact and job, and exported as CSV; roles, the service identity and the audit trail."""

from __future__ import annotations

import csv
import io
import json

import grpc
import pytest
from google.protobuf import field_mask_pb2

from localrun.sandbox import flows as sandbox_flows
from runtime import ids
from runtime.audit.model import AuditQuery
from runtime.audit.sqlite_store import SqliteAuditStore
from runtime.auth import ServiceTokens
from services.commerce.main import wire
from services.contacts.main import wire as wire_contacts
from tests.commerce.flow_sandbox import sandbox_serving
from tests.commerce.form_samples import GOOD_ANSWERS, WABA, proto_form
from tests.support.identity import TestPool
from tests.support.rpc import violations
from tests.support.servers import running
from wecare.commerce.v1 import commerce_service_pb2_grpc as pb_grpc
from wecare.commerce.v1 import forms_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as contacts_grpc

POOL = TestPool()
ADMIN = POOL.bearer("admin", sub="admin-1")
OPERATOR = POOL.bearer("operator", sub="operator-1")
VIEWER = POOL.bearer("viewer", sub="viewer-1")
CUSTOMER = "+919812345678"


class Env:
    def __init__(self, stub, contacts, service, sandbox, data_dir):
        self.stub, self.contacts, self.service, self.sandbox, self.data_dir = stub, contacts, service, sandbox, data_dir

    async def create(self, form: pb.Form | None = None, md=OPERATOR) -> pb.Form:
        return await self.stub.CreateForm(pb.CreateFormRequest(form=form or proto_form()), metadata=md)

    async def published(self) -> pb.Form:
        made = await self.create()
        return await self.stub.PublishForm(pb.PublishFormRequest(name=made.name), metadata=ADMIN)

    async def invite(self, form: pb.Form, recipient: str = CUSTOMER, **fields) -> pb.FormInvitation:
        request_id = fields.pop("request_id", "")
        invitation = pb.FormInvitation(recipient=recipient, **fields)
        return await self.stub.CreateFormInvitation(
            pb.CreateFormInvitationRequest(parent=form.name, invitation=invitation, request_id=request_id),
            metadata=self.service,
        )

    async def submit(self, token: str, answers: dict, wamid: str = "", sender: str = CUSTOMER):
        return await self.stub.SubmitFormResponse(
            pb.SubmitFormResponseRequest(
                response_json=json.dumps({"flow_token": token, **answers}),
                sender=sender.lstrip("+"),
                reply_wamid=wamid or f"wamid.{ids.new_id()}",
                reply_message=f"messages/{ids.new_id()}",
            ),
            metadata=self.service,
        )

    async def responses(self, parent: str, **filters) -> list[pb.FormResponse]:
        reply = await self.stub.ListFormResponses(
            pb.ListFormResponsesRequest(parent=parent, page_size=1000, **filters), metadata=VIEWER
        )
        return list(reply.responses)


@pytest.fixture
async def env(tmp_path):
    async with (
        sandbox_serving(tmp_path) as sandbox,
        running("contacts", wire_contacts, POOL, tmp_path / "contacts") as contacts_process,
        running(
            "commerce",
            wire,
            POOL,
            tmp_path / "commerce",
            social_messaging_endpoint_url=sandbox.url,
            contacts_address=contacts_process.address,
        ) as process,
    ):
        service = (("authorization", f"Bearer {ServiceTokens(process.settings, 'messaging').token()}"),)
        async with (
            grpc.aio.insecure_channel(process.address) as channel,
            grpc.aio.insecure_channel(contacts_process.address) as contacts_channel,
        ):
            contacts = contacts_grpc.ContactsServiceStub(contacts_channel)
            yield Env(pb_grpc.CommerceServiceStub(channel), contacts, service, sandbox, tmp_path / "commerce")


async def code_of(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


# -- forms ----------------------------------------------------------------------------------------------------------


async def test_create_get_list_update_delete(env):
    made = await env.create()
    assert made.name.startswith("forms/") and made.state == pb.FORM_STATE_DRAFT and made.creator == "operator-1"
    assert made.waba == WABA and len(made.fields) == 10 and not made.HasField("flow")
    assert await env.stub.GetForm(pb.GetFormRequest(name=made.name), metadata=VIEWER) == made
    other = await env.create()
    first = await env.stub.ListForms(pb.ListFormsRequest(page_size=1), metadata=VIEWER)
    second = await env.stub.ListForms(
        pb.ListFormsRequest(page_size=1, page_token=first.next_page_token), metadata=VIEWER
    )
    assert [f.name for f in (*first.forms, *second.forms)] == [made.name, other.name] and not second.next_page_token
    changed = await env.stub.UpdateForm(
        pb.UpdateFormRequest(
            form=pb.Form(name=made.name, display_name="Lunch booking", etag=made.etag),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
        metadata=OPERATOR,
    )
    assert changed.display_name == "Lunch booking" and changed.etag != made.etag and len(changed.fields) == 10
    stale = env.stub.UpdateForm(
        pb.UpdateFormRequest(form=pb.Form(name=made.name, heading="x", etag=made.etag)), metadata=OPERATOR
    )
    assert await code_of(stale) is grpc.StatusCode.ABORTED
    assert await code_of(env.stub.DeleteForm(pb.DeleteFormRequest(name=made.name), metadata=OPERATOR)) is (
        grpc.StatusCode.PERMISSION_DENIED
    )
    await env.stub.DeleteForm(pb.DeleteFormRequest(name=made.name), metadata=ADMIN)
    assert await code_of(env.stub.GetForm(pb.GetFormRequest(name=made.name), metadata=VIEWER)) is (
        grpc.StatusCode.NOT_FOUND
    )


def broken(**changes) -> pb.Form:
    form = proto_form()
    for path, value in changes.items():
        target, _, name = path.rpartition(".")
        holder = form.fields[int(target)] if target else form
        if name == "state":
            holder.state = value
        else:
            setattr(holder, name, value)
    return form


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (broken(display_name=""), "form.display_name"),
        (broken(**{"0.key": "Bad Key"}), "form.fields[0].key"),
        (broken(**{"0.label": "A label that is much too long"}), "form.fields[0].label"),
        (broken(**{"0.type": pb.FIELD_TYPE_UNSPECIFIED}), "form.fields[0].type"),
        (broken(**{"3.max_value": "ten"}), "form.fields[3].max_value"),
        (broken(**{"3.pattern": "x"}), "form.fields[3].pattern"),
        (broken(**{"5.min_date": "tomorrow"}), "form.fields[5].min_date"),
        (broken(**{"2.contact_field": "phone_number"}), "form.fields[2].contact_field"),
        (broken(waba="waba-" + "f" * 32), "form.waba"),
        (broken(state=pb.FORM_STATE_PUBLISHED), "form.state"),
        (broken(name="forms/01J00000000000000000000000"), "form.name"),
    ],
)
async def test_bad_forms_name_the_field_and_change_nothing(env, form, field):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.create(form)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(refused.value)
    assert not (await env.stub.ListForms(pb.ListFormsRequest(), metadata=VIEWER)).forms


async def test_a_bad_update_names_the_field_and_changes_nothing(env):
    made = await env.create()
    for request, field in (
        (pb.UpdateFormRequest(form=pb.Form(name=made.name, submit_label="x" * 40)), "form.submit_label"),
        (
            pb.UpdateFormRequest(form=pb.Form(name=made.name), update_mask=field_mask_pb2.FieldMask(paths=["state"])),
            "update_mask.paths[0]",
        ),
        (pb.UpdateFormRequest(form=pb.Form(name="forms/x", heading="y")), "form.name"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await env.stub.UpdateForm(request, metadata=OPERATOR)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT and field in violations(refused.value)
    assert await env.stub.GetForm(pb.GetFormRequest(name=made.name), metadata=VIEWER) == made


async def test_preview_publish_and_deprecate_through_the_flow_api(env):
    made = await env.create()
    previewed = await env.stub.PreviewForm(pb.PreviewFormRequest(name=made.name), metadata=OPERATOR)
    flow = env.sandbox.sandbox.flows.flows[previewed.flow.flow_id]
    assert flow.status == "DRAFT" and flow.name == f"Dinner booking [{made.name.removeprefix('forms/')}]"
    assert flow.categories == ["APPOINTMENT_BOOKING"] and flow.flow_json["screens"][0]["id"] == "FORM"
    assert previewed.flow.preview_url.startswith(env.sandbox.url) and previewed.flow.json_version == "7.3"
    assert previewed.state == pb.FORM_STATE_DRAFT
    assert await code_of(env.stub.PublishForm(pb.PublishFormRequest(name=made.name), metadata=OPERATOR)) is (
        grpc.StatusCode.PERMISSION_DENIED
    )
    published = await env.stub.PublishForm(pb.PublishFormRequest(name=made.name), metadata=ADMIN)
    assert published.state == pb.FORM_STATE_PUBLISHED and published.flow.status == "PUBLISHED"
    assert flow.status == "PUBLISHED" and published.flow.flow_id == previewed.flow.flow_id
    for call in (
        env.stub.UpdateForm(pb.UpdateFormRequest(form=pb.Form(name=made.name, heading="New")), metadata=OPERATOR),
        env.stub.DeleteForm(pb.DeleteFormRequest(name=made.name), metadata=ADMIN),
    ):
        assert await code_of(call) is grpc.StatusCode.FAILED_PRECONDITION
    deprecated = await env.stub.DeprecateForm(pb.DeprecateFormRequest(name=made.name), metadata=ADMIN)
    assert deprecated.state == pb.FORM_STATE_DEPRECATED and flow.status == "DEPRECATED"
    assert await code_of(env.invite(deprecated)) is grpc.StatusCode.FAILED_PRECONDITION


async def test_metas_validation_errors_refuse_publishing(env, monkeypatch):
    made = await env.create()
    # Meta checks more than the sandbox does: make the sandbox find a problem in any Flow JSON.
    monkeypatch.setattr(sandbox_flows, "check_flow_json", lambda document: ["INVALID_PROPERTY_VALUE: sandbox says so"])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.stub.PublishForm(pb.PublishFormRequest(name=made.name), metadata=ADMIN)
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION and "sandbox says so" in refused.value.details()
    kept = await env.stub.GetForm(pb.GetFormRequest(name=made.name), metadata=VIEWER)
    assert kept.state == pb.FORM_STATE_DRAFT and list(kept.flow.validation_errors) == [
        "INVALID_PROPERTY_VALUE: sandbox says so"
    ]


# -- invitations ----------------------------------------------------------------------------------------------------


async def test_an_invitation_carries_its_token_in_the_flow_message(env):
    form = await env.published()
    contact, job, message = (f"{c}/{ids.new_id()}" for c in ("contacts", "bulkJobs", "messages"))
    made = await env.invite(form, "98123 45678", contact=contact, job=job, request_id=f"{job}/{CUSTOMER}")
    token = made.flow_token
    assert made.name == f"{form.name}/invitations/{token}" and len(token) == 22
    assert (made.recipient, made.contact, made.job, made.message) == (CUSTOMER, contact, job, "")
    interactive = json.loads(made.flow_message.interactive_json)
    parameters = interactive["action"]["parameters"]
    assert (parameters["flow_token"], parameters["flow_id"]) == (token, form.flow.flow_id)
    assert interactive["body"]["text"] == form.invitation_text and parameters["flow_cta"] == form.open_label
    button = json.loads(made.flow_message.template_button_json)
    assert button["sub_type"] == "flow" and button["parameters"][0]["action"]["flow_token"] == token
    again = await env.invite(form, CUSTOMER, contact=contact, job=job, request_id=f"{job}/{CUSTOMER}")
    assert again.flow_token == token  # a retried send mints no second token
    conflict = env.invite(form, "+919812345679", contact=contact, job=job, request_id=f"{job}/{CUSTOMER}")
    assert await code_of(conflict) is grpc.StatusCode.ALREADY_EXISTS
    recorded = await env.stub.UpdateFormInvitation(
        pb.UpdateFormInvitationRequest(invitation=pb.FormInvitation(name=made.name, message=message)),
        metadata=env.service,
    )
    assert recorded.message == message
    other = env.stub.UpdateFormInvitation(
        pb.UpdateFormInvitationRequest(
            invitation=pb.FormInvitation(name=made.name, message=f"messages/{ids.new_id()}")
        ),
        metadata=env.service,
    )
    assert await code_of(other) is grpc.StatusCode.FAILED_PRECONDITION
    got = await env.stub.GetFormInvitation(pb.GetFormInvitationRequest(name=made.name), metadata=VIEWER)
    assert got.message == message and got.flow_token == token


async def test_invitations_refuse_drafts_and_bad_input(env):
    draft = await env.create()
    assert await code_of(env.invite(draft)) is grpc.StatusCode.FAILED_PRECONDITION
    form = await env.published()
    for fields, field in (
        ({"recipient": "12"}, "invitation.recipient"),
        ({"recipient": ""}, "invitation.recipient"),
        ({"contact": "people/1"}, "invitation.contact"),
        ({"flow_token": "T" * 22}, "invitation.flow_token"),
    ):
        recipient = fields.pop("recipient", CUSTOMER)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await env.invite(form, recipient, **fields)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT and field in violations(refused.value)
    batch = pb.BatchCreateFormInvitationsRequest(
        parent=form.name,
        requests=[
            pb.CreateFormInvitationRequest(invitation=pb.FormInvitation(recipient=CUSTOMER)),
            pb.CreateFormInvitationRequest(invitation=pb.FormInvitation(recipient="nope")),
        ],
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.stub.BatchCreateFormInvitations(batch, metadata=env.service)
    assert violations(refused.value) == ["requests[1].invitation.recipient"]
    assert env.sandbox.sandbox.flows.sent == {}  # nothing was sent: invitations only prepare
    del batch.requests[1]
    made = await env.stub.BatchCreateFormInvitations(batch, metadata=env.service)
    assert len(made.invitations) == 1 and made.invitations[0].recipient == CUSTOMER


# -- answers --------------------------------------------------------------------------------------------------------


async def test_an_answer_is_stored_once_and_written_onto_the_contact(env):
    form = await env.published()
    contact = await env.contacts.CreateContact(
        contacts_pb.CreateContactRequest(
            contact=contacts_pb.Contact(display_name="A. Rao", phone_number=CUSTOMER, attributes={"tier": "gold"})
        ),
        metadata=OPERATOR,
    )
    job = f"bulkJobs/{ids.new_id()}"
    invitation = await env.invite(form, contact=contact.name, job=job)
    wamid = f"wamid.{ids.new_id()}"
    submitted = await env.submit(invitation.flow_token, GOOD_ANSWERS, wamid)
    response = submitted.response
    assert not submitted.duplicate and response.contact_sync == pb.CONTACT_SYNC_APPLIED
    assert response.invitation == invitation.name and response.reply_wamid == wamid
    assert (response.contact, response.recipient, response.job) == (contact.name, CUSTOMER, job)
    assert {a.key: list(a.values) for a in response.answers}["diet"] == ["veg", "vegan"]
    updated = await env.contacts.GetContact(contacts_pb.GetContactRequest(name=contact.name), metadata=VIEWER)
    assert (updated.display_name, updated.email) == ("Asha Rao", "asha@example.com")
    assert dict(updated.attributes) == {"tier": "gold", "budget": "120.5", "table": "large"}
    assert updated.whatsapp_consent.state == contacts_pb.CONSENT_STATE_OPTED_IN
    assert updated.whatsapp_consent.source == f"form:{form.name}"
    # the same invitation answered again (other answers, another event), and the same event replayed
    again = await env.submit(invitation.flow_token, {**GOOD_ANSWERS, "guests": "9"})
    replay = await env.submit(invitation.flow_token, GOOD_ANSWERS, wamid)
    assert again.duplicate and replay.duplicate and again.response == replay.response == response
    assert [r.name for r in await env.responses(form.name)] == [response.name]
    got = await env.stub.GetFormInvitation(pb.GetFormInvitationRequest(name=invitation.name), metadata=VIEWER)
    assert got.response == response.name


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"guests": "12"}, "response_json.guests"),
        ({"email": "nope"}, "response_json.email"),
        ({"terms": False}, "response_json.terms"),
        ({"size": "xl"}, "response_json.size"),
        ({"surprise": 1}, "response_json.surprise"),
    ],
)
async def test_an_invalid_answer_is_refused_naming_the_field_and_nothing_is_stored(env, changes, field):
    form = await env.published()
    invitation = await env.invite(form)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.submit(invitation.flow_token, {**GOOD_ANSWERS, **changes})
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT and field in violations(refused.value)
    assert await env.responses(form.name) == []
    # the invitation may still be answered properly
    assert not (await env.submit(invitation.flow_token, GOOD_ANSWERS)).duplicate


async def test_who_may_submit_and_what_is_not_ours(env):
    form = await env.published()
    invitation = await env.invite(form)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.submit(invitation.flow_token, GOOD_ANSWERS, sender="+919812345679")
    assert violations(refused.value) == ["sender"]
    unknown = env.submit("Z" * 22, GOOD_ANSWERS)
    assert await code_of(unknown) is grpc.StatusCode.NOT_FOUND
    as_operator = env.stub.SubmitFormResponse(
        pb.SubmitFormResponseRequest(response_json="{}", sender=CUSTOMER, reply_wamid="wamid.x"), metadata=ADMIN
    )
    assert await code_of(as_operator) is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.stub.SubmitFormResponse(pb.SubmitFormResponseRequest(response_json="[]"), metadata=env.service)
    assert {"response_json"} <= set(violations(refused.value))
    assert await env.responses(form.name) == []


async def test_an_opt_in_without_a_contact_creates_one_with_its_consent(env):
    form = await env.published()
    invitation = await env.invite(form, "+919812300001")
    answers = {k: v for k, v in GOOD_ANSWERS.items() if k not in ("name", "email", "budget", "size")}
    answers |= {"name": "New Customer", "size": "small"}
    submitted = await env.submit(invitation.flow_token, answers, sender="+919812300001")
    assert submitted.response.contact_sync == pb.CONTACT_SYNC_APPLIED
    found = await env.contacts.SearchContacts(contacts_pb.SearchContactsRequest(query="+919812300001"), metadata=VIEWER)
    (contact,) = found.contacts
    assert contact.whatsapp_consent.source == f"form:{form.name}" and contact.display_name == "New Customer"
    assert contact.attributes["table"] == "small"


async def test_responses_by_form_contact_and_job_and_the_csv(env):
    form = await env.published()
    job = f"bulkJobs/{ids.new_id()}"
    contact = f"contacts/{ids.new_id()}"
    tokens = []
    for i in range(3):
        number = f"+9198123000{i + 10}"
        invitation = await env.invite(form, number, job=job, **({"contact": contact} if i == 0 else {}))
        tokens.append((invitation.flow_token, number))
    unanswered = await env.invite(form, "+919812300099", job=job)
    for token, number in tokens:
        await env.submit(token, {**GOOD_ANSWERS, "name": f"=cmd {number}"}, sender=number)
    assert unanswered.response == ""
    of_form = await env.responses(form.name)
    assert len(of_form) == 3 and [r.recipient for r in of_form] == [n for _, n in tokens]
    assert [r.recipient for r in await env.responses("forms/-", job=job)] == [n for _, n in tokens]
    assert [r.recipient for r in await env.responses("forms/-", contact=contact)] == [tokens[0][1]]
    assert [r.recipient for r in await env.responses(form.name, contact=contact)] == [tokens[0][1]]
    first = await env.stub.ListFormResponses(
        pb.ListFormResponsesRequest(parent=form.name, page_size=2), metadata=VIEWER
    )
    rest = await env.stub.ListFormResponses(
        pb.ListFormResponsesRequest(parent=form.name, page_size=2, page_token=first.next_page_token), metadata=VIEWER
    )
    assert [r.name for r in (*first.responses, *rest.responses)] == [r.name for r in of_form]
    for request, field in (
        (pb.ListFormResponsesRequest(parent="forms/-"), "parent"),
        (pb.ListFormResponsesRequest(parent=form.name, job="jobs/1"), "job"),
        (pb.ListFormResponsesRequest(parent=form.name, page_token=first.next_page_token, job=job), "page_token"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await env.stub.ListFormResponses(request, metadata=VIEWER)
        assert field in violations(refused.value)

    chunks = [
        c async for c in env.stub.ExportFormResponses(pb.ExportFormResponsesRequest(parent=form.name), metadata=VIEWER)
    ]
    assert {c.content_type for c in chunks} == {"text/csv; charset=utf-8"}
    rows = list(csv.DictReader(io.StringIO(b"".join(c.data for c in chunks).decode())))
    assert [r["response"] for r in rows] == [r.name for r in of_form]
    assert [r["recipient"] for r in rows] == [n for _, n in tokens]
    assert rows[0]["contact"] == contact and all(r["job"] == job for r in rows)
    assert rows[0]["name"] == f"'=cmd {tokens[0][1]}" and rows[0]["diet"] == "veg;vegan" and rows[0]["offers"] == "true"
    empty = await env.create()
    chunks = [
        c async for c in env.stub.ExportFormResponses(pb.ExportFormResponsesRequest(parent=empty.name), metadata=VIEWER)
    ]
    assert b"".join(c.data for c in chunks).decode().startswith("response,submit_time,contact")
    missing = env.stub.ExportFormResponses(
        pb.ExportFormResponsesRequest(parent=f"forms/{ids.new_id()}"), metadata=VIEWER
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in missing:
            pass
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND


async def test_changes_are_audited_without_the_answers(env):
    form = await env.published()
    invitation = await env.invite(form)
    await env.submit(invitation.flow_token, GOOD_ANSWERS)
    audit = SqliteAuditStore(env.data_dir / "AuditTable.sqlite3")
    try:
        of_form = await audit.list(AuditQuery(resource=form.name), None, 10)
        of_invitation = await audit.list(AuditQuery(resource=invitation.name), None, 10)
        entries = [e for e in await audit.list(AuditQuery(), None, 100) if "Submit" in e.method]
    finally:
        await audit.close()
    assert sorted(e.method.rsplit("/", 1)[1] for e in of_form) == ["CreateForm", "PublishForm"]
    assert [e.method.rsplit("/", 1)[1] for e in of_invitation] == ["CreateFormInvitation"]
    assert len(entries) == 1 and entries[0].actor == "service:messaging"
    everything = repr(of_form + of_invitation + entries)
    assert "asha@example.com" not in everything and CUSTOMER not in everything
