"""Submitting answers when contacts cannot take their effects (the Responses use case on SQLite, contacts a
double that fails on cue): stored first and left PENDING while contacts is unavailable (the call fails UNAVAILABLE
so messaging retries), written by the retry even though it is a duplicate, never written twice once applied, and
recorded FAILED with the reason when contacts refuses for good. A form that maps nothing never calls contacts."""

from __future__ import annotations

import dataclasses
import json

import pytest

from runtime.errors import Unavailable
from services.commerce.adapters.contacts import ContactWriteRefused
from services.commerce.adapters.form_sqlite import SqliteFormStore
from services.commerce.domain.answers import ContactChanges
from services.commerce.domain.forms import Definition, Field, FieldType, FormState
from services.commerce.domain.invitations import InvitationRequest
from services.commerce.domain.responses import ContactSync
from services.commerce.usecases.responses import Invitations, Responses, Submission
from tests.commerce.form_samples import GOOD_ANSWERS, form

CUSTOMER = "+919812345678"


class Contacts:
    """A ContactWriter whose next calls fail as told."""

    def __init__(self):
        self.failures: list[Exception] = []
        self.applied: list[tuple[ContactChanges, str, str, str]] = []

    async def apply(self, changes, *, contact_id, phone, at, source):
        if self.failures:
            raise self.failures.pop(0)
        self.applied.append((changes, contact_id, phone, source))


@pytest.fixture
async def env(tmp_path):
    store = SqliteFormStore(tmp_path / "forms.sqlite3")
    published = form(FormState.PUBLISHED)
    await store.create_form(published)
    contacts = Contacts()
    invitations = Invitations(store, "IN")
    yield published, store, invitations, Responses(store, contacts, "IN"), contacts
    await store.close()


async def invite(invitations: Invitations, form_id: str) -> str:
    _, (made,) = await invitations.create(form_id, [InvitationRequest(recipient=CUSTOMER)], [""], "service:bulk")
    return made.token


def submission(token: str, wamid: str, answers: dict = GOOD_ANSWERS) -> Submission:
    return Submission(json.dumps({"flow_token": token, **answers}), CUSTOMER, wamid)


async def test_contacts_unavailable_leaves_it_pending_and_the_retry_applies_it_once(env):
    published, store, invitations, responses, contacts = env
    token = await invite(invitations, published.id)
    contacts.failures.append(Unavailable("contacts: UNAVAILABLE; retry"))
    with pytest.raises(Unavailable):
        await responses.submit(submission(token, "wamid.1"))
    stored = await store.get_response(token)
    assert stored is not None and stored.contact_sync is ContactSync.PENDING and contacts.applied == []
    retried, duplicate = await responses.submit(submission(token, "wamid.1"))
    assert duplicate and retried.id == stored.id and retried.contact_sync is ContactSync.APPLIED
    ((changes, contact_id, phone, source),) = contacts.applied
    assert changes.opt_ins == ("whatsapp",) and changes.display_name == "Asha Rao"
    assert (contact_id, phone, source) == ("", CUSTOMER, f"form:{published.name}")
    await responses.submit(submission(token, "wamid.2"))
    assert len(contacts.applied) == 1  # applied: a later repeat writes nothing
    assert (await store.get_response(token)).contact_sync is ContactSync.APPLIED


async def test_contacts_refusing_for_good_is_recorded_with_the_reason(env):
    published, store, invitations, responses, contacts = env
    token = await invite(invitations, published.id)
    contacts.failures.append(ContactWriteRefused("no contact has the number +919812345678"))
    response, duplicate = await responses.submit(submission(token, "wamid.1"))
    assert not duplicate and response.contact_sync is ContactSync.FAILED
    assert "no contact has the number" in response.contact_sync_error
    assert (await store.get_response(token)).contact_sync_error == response.contact_sync_error
    await responses.submit(submission(token, "wamid.1"))
    assert contacts.applied == []  # FAILED is final: reported, not retried forever


async def test_a_form_that_maps_nothing_never_calls_contacts(env):
    _, store, invitations, responses, contacts = env
    plain = dataclasses.replace(
        form(FormState.PUBLISHED),
        id="01J00000000000000000000001",
        definition=Definition("Survey", fields=(Field("q", "Question", FieldType.TEXT, required=True),)),
    )
    await store.create_form(plain)
    token = await invite(invitations, plain.id)
    contacts.failures.append(Unavailable("would fail"))
    response, _ = await responses.submit(submission(token, "wamid.1", {"q": "Fine"}))
    assert response.contact_sync is ContactSync.NONE and contacts.failures  # untouched


async def test_the_sender_is_read_as_whatsapp_writes_it(env):
    published, _, invitations, responses, _ = env
    _, (made,) = await invitations.create(
        published.id, [InvitationRequest(recipient="+1 415 555 0123")], [""], "service:bulk"
    )
    answer = json.dumps({"flow_token": made.token, **GOOD_ANSWERS})
    response, _ = await responses.submit(Submission(answer, "14155550123", "wamid.us"))  # wa_id: no `+`
    assert response.recipient == "+14155550123"
