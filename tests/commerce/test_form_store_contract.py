"""The FormStore contract, run against every implementation: SQLite in a temporary directory and DynamoDB on
moto (server mode, a fresh table per test). Volumes stay small: moto copies a table on every transaction."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from runtime import dynamo, ids
from runtime.aws import AwsClients
from runtime.errors import Aborted, NotFound
from runtime.settings import Settings
from services.commerce.adapters import form_dynamodb
from services.commerce.adapters.form_dynamodb import DynamoFormStore
from services.commerce.adapters.form_sqlite import SqliteFormStore
from services.commerce.domain.answers import Answer
from services.commerce.domain.forms import Flow, Form, FormState
from services.commerce.domain.invitations import Invitation, new_token
from services.commerce.domain.responses import ContactSync, Response
from tests.commerce.form_samples import DEFINITION

NOW = 1_718_000_000.25


@pytest.fixture(params=["sqlite", "dynamodb"])
async def store(request, tmp_path, monkeypatch):
    aws = None
    if request.param == "sqlite":
        made = SqliteFormStore(tmp_path / "forms.sqlite3")
    else:
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        table = f"forms-{uuid.uuid4().hex[:12]}"
        await form_dynamodb.ensure_table(await aws.client("dynamodb"), table)
        made = DynamoFormStore(aws, table)
        # moto restores a whole-table copy when it cancels a transaction, undoing one that committed meanwhile:
        # one transaction at a time keeps it honest (see the link store's contract suite).
        monkeypatch.setattr(form_dynamodb, "WRITE_CONCURRENCY", 1)
        one_at_a_time = asyncio.Lock()
        transact = dynamo.transact_write

        async def serialised(*args, **kwargs):
            async with one_at_a_time:
                return await transact(*args, **kwargs)

        monkeypatch.setattr(form_dynamodb.dynamo, "transact_write", serialised)
    yield made
    await made.close()
    if aws is not None:
        await aws.close()


def a_form(**changes) -> Form:
    return Form(id=ids.new_id(), definition=DEFINITION, create_time=NOW, update_time=NOW, creator="op-1", **changes)


def invitation(form_id: str, **fields) -> Invitation:
    fields.setdefault("recipient", "+919812345678")
    return Invitation(token=new_token(), form_id=form_id, create_time=NOW, creator="op-1", **fields)


def response(inv: Invitation, **fields) -> Response:
    fields.setdefault("reply_wamid", "wamid." + uuid.uuid4().hex)
    return Response(
        id=fields.pop("id", ids.new_id()),
        token=inv.token,
        form_id=inv.form_id,
        recipient=inv.recipient,
        answers=(Answer("name", ("Asha",)), Answer("diet", ("veg", "gf"))),
        submit_time=NOW + 5,
        create_time=NOW + 6,
        contact=inv.contact,
        message=inv.message,
        job=inv.job,
        contact_sync=ContactSync.PENDING,
        **fields,
    )


# -- forms --------------------------------------------------------------------------------------------------------


async def test_a_form_round_trips_whole(store):
    made = a_form(
        state=FormState.PUBLISHED,
        flow=Flow(
            flow_id="1234567890",
            status="PUBLISHED",
            json_version="7.3",
            validation_errors=("a", "b"),
            preview_url="https://preview.example/x",
            preview_expire_time=NOW + 86400.5,
            sync_time=NOW,
            synced_digest="abc",
        ),
    )
    await store.create_form(made)
    assert await store.get_form(made.id) == made
    assert await store.get_form(ids.new_id()) is None


async def test_forms_list_in_creation_order_after_an_id(store):
    made = [a_form() for _ in range(5)]
    for form in reversed(made):
        await store.create_form(form)
    assert [f.id for f in await store.list_forms(None, 10)] == [f.id for f in made]
    assert [f.id for f in await store.list_forms(made[1].id, 2)] == [made[2].id, made[3].id]


async def test_replace_and_delete_are_conditional_on_the_version(store):
    form = a_form()
    await store.create_form(form)
    changed = form.changed(NOW + 1, state=FormState.PUBLISHED)
    await store.replace_form(changed, form.version)
    assert await store.get_form(form.id) == changed
    with pytest.raises(Aborted):
        await store.replace_form(changed.changed(NOW + 2), form.version)  # stale: another change won
    with pytest.raises(Aborted):
        await store.delete_form(form.id, form.version)
    assert await store.get_form(form.id) == changed
    assert await store.delete_form(form.id, changed.version) == changed
    assert await store.get_form(form.id) is None
    assert await store.delete_form(form.id, changed.version) is None
    with pytest.raises(NotFound):
        await store.replace_form(changed.changed(NOW + 3), changed.version)


# -- invitations --------------------------------------------------------------------------------------------------


async def test_invitations_by_token_and_a_repeated_request_id_gives_the_first(store):
    form_id = ids.new_id()
    first = invitation(form_id, contact=ids.new_id(), job=ids.new_id(), request_id="bulkJobs/J/+919812345678")
    other = invitation(form_id, request_id="bulkJobs/J/+919812345679", recipient="+919812345679")
    assert await store.create_invitations([first, other]) == [first, other]
    again = invitation(form_id, request_id=first.request_id)
    plain = invitation(form_id)
    assert await store.create_invitations([again, plain]) == [first, plain]
    assert await store.get_invitation(first.token) == first
    assert await store.get_invitation(again.token) is None  # the repeat stored nothing
    assert await store.get_invitation(new_token()) is None


async def test_the_message_is_recorded_once(store):
    inv = invitation(ids.new_id())
    await store.create_invitations([inv])
    first, second = ids.new_id(), ids.new_id()
    assert (await store.set_invitation_message(inv.token, first)).message == first
    assert (await store.set_invitation_message(inv.token, second)).message == first
    assert (await store.get_invitation(inv.token)).message == first
    assert await store.set_invitation_message(new_token(), first) is None


# -- responses ----------------------------------------------------------------------------------------------------


async def test_a_response_is_stored_once_by_token_and_by_wamid(store):
    inv = invitation(ids.new_id(), contact=ids.new_id(), message=ids.new_id(), job=ids.new_id())
    other = invitation(inv.form_id)
    await store.create_invitations([inv, other])
    made = response(inv)
    assert await store.record_response(made) == (made, True)
    assert await store.get_response(inv.token) == made
    assert (await store.get_invitation(inv.token)).response_id == made.id
    # the same token again, with other answers and another wamid: the first stays
    assert await store.record_response(dataclasses.replace(response(inv), answers=())) == (made, False)
    # the same event replayed under another token: the first stays, the other invitation stays unanswered
    assert await store.record_response(response(other, reply_wamid=made.reply_wamid)) == (made, False)
    assert await store.get_response(other.token) is None
    assert (await store.get_invitation(other.token)).response_id == ""
    assert await store.responses_of_form(inv.form_id, None, 10) == [made]


async def test_a_response_needs_its_invitation(store):
    with pytest.raises(NotFound):
        await store.record_response(response(invitation(ids.new_id())))


async def test_the_contact_sync_is_recorded(store):
    inv = invitation(ids.new_id())
    await store.create_invitations([inv])
    await store.record_response(response(inv))
    await store.set_contact_sync(inv.token, ContactSync.FAILED, "no contact has the number")
    stored = await store.get_response(inv.token)
    assert (stored.contact_sync, stored.contact_sync_error) == (ContactSync.FAILED, "no contact has the number")
    await store.set_contact_sync(inv.token, ContactSync.APPLIED)
    assert (await store.get_response(inv.token)).contact_sync is ContactSync.APPLIED
    assert (await store.responses_of_form(inv.form_id, None, 1))[0].contact_sync is ContactSync.APPLIED
    with pytest.raises(NotFound):
        await store.set_contact_sync(new_token(), ContactSync.APPLIED)


async def test_responses_by_form_contact_and_job_in_id_order_across_shards(store):
    form_a, form_b, contact, job = ids.new_id(), ids.new_id(), ids.new_id(), ids.new_id()
    invitations = [invitation(form_a, job=job) for _ in range(10)]
    invitations += [invitation(form_a, contact=contact), invitation(form_b, contact=contact, job=job)]
    await store.create_invitations(invitations)
    made = [response(i) for i in invitations]  # ids in creation order
    for r in reversed(made):
        await store.record_response(r)
    of_a = await store.responses_of_form(form_a, None, 100)
    assert [r.id for r in of_a] == [r.id for r in made[:11]]
    assert [r.id for r in await store.responses_of_form(form_a, made[3].id, 4)] == [r.id for r in made[4:8]]
    assert [r.id for r in await store.responses_of_contact(contact, None, 10)] == [made[10].id, made[11].id]
    assert [r.id for r in await store.responses_of_contact(contact, made[10].id, 10)] == [made[11].id]
    of_job = await store.responses_of_job(job, None, 100)
    assert [r.id for r in of_job] == [r.id for r in made[:10]] + [made[11].id]
    assert await store.responses_of_job(ids.new_id(), None, 10) == []
    assert await store.responses_of_form(form_b, None, 10) == [made[11]]
