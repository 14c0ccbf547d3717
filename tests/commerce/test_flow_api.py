"""Every WhatsApp Flow call of the forms, checked against botocore's real `socialmessaging` model with
aiobotocore's AioStubber (moto lacks the service): the parameters each call sends, what each answer becomes, how
EUM Social's errors are translated, and the forms use case driving a Flow from draft to deprecated through them,
including a create whose answer was lost."""

from __future__ import annotations

import dataclasses

import pytest
from aiobotocore.session import get_session
from aiobotocore.stub import AioStubber

from runtime.errors import FailedPrecondition, NotFound, Unavailable
from services.commerce.adapters.flows import EumSocialFlows, FlowPreview, FlowStatus, meta_time
from services.commerce.adapters.form_sqlite import SqliteFormStore
from services.commerce.domain import flow_json
from services.commerce.domain.forms import FormState
from services.commerce.usecases.forms import Forms
from tests.commerce.form_samples import DEFINITION, WABA, WABAS

FLOW_ID = "1234567890123456"


class StubAws:
    """Hands the adapter the stubbed client, whatever options it asks with."""

    def __init__(self, client):
        self.client_ = client

    async def client(self, service: str, **_options):
        assert service == "socialmessaging"
        return self.client_


@pytest.fixture
async def social():
    async with get_session().create_client(
        "socialmessaging",
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
        endpoint_url="http://sandbox.invalid",
    ) as client:
        with AioStubber(client) as stub:
            yield EumSocialFlows(StubAws(client), None), stub
            stub.assert_no_pending_responses()


BODY = b'{"version":"7.3","screens":[]}'


async def test_create_sends_the_waba_name_categories_and_json_as_a_draft(social):
    flows, stub = social
    stub.add_response(
        "create_whatsapp_flow",
        {"flowId": FLOW_ID, "validationErrors": ["INVALID_PROPERTY: x"]},
        {"id": WABA, "flowName": "Dinner [F]", "categories": ["SURVEY", "OTHER"], "flowJson": BODY, "publish": False},
    )
    created = await flows.create(WABA, "Dinner [F]", ("SURVEY", "OTHER"), BODY)
    assert created == FlowStatus(FLOW_ID, "DRAFT", ("INVALID_PROPERTY: x",))


async def test_find_pages_through_the_wabas_flows(social):
    flows, stub = social
    summary = {"flowStatus": "DRAFT", "flowCategories": ["OTHER"], "validationErrors": []}
    stub.add_response(
        "list_whatsapp_flows",
        {"flows": [{"flowId": "1", "flowName": "Other", **summary}], "nextToken": "page2"},
        {"id": WABA, "maxResults": 100},
    )
    stub.add_response(
        "list_whatsapp_flows",
        {"flows": [{"flowId": FLOW_ID, "flowName": "Dinner [F]", **summary}]},
        {"id": WABA, "maxResults": 100, "nextToken": "page2"},
    )
    assert await flows.find(WABA, "Dinner [F]") == FLOW_ID
    stub.add_response("list_whatsapp_flows", {"flows": []}, {"id": WABA, "maxResults": 100})
    assert await flows.find(WABA, "Dinner [F]") is None


async def test_update_assets_and_metadata(social):
    flows, stub = social
    stub.add_response("update_whatsapp_flow_assets", {}, {"id": WABA, "flowId": FLOW_ID, "flowJson": BODY})
    assert await flows.update_assets(WABA, FLOW_ID, BODY) == ()
    stub.add_response(
        "update_whatsapp_flow",
        {},
        {"id": WABA, "flowId": FLOW_ID, "flowName": "New name [F]", "categories": ["SURVEY"]},
    )
    await flows.update_metadata(WABA, FLOW_ID, "New name [F]", ("SURVEY",))


async def test_publish_deprecate_and_delete(social):
    flows, stub = social
    stub.add_response("publish_whatsapp_flow", {}, {"id": WABA, "flowId": FLOW_ID})
    await flows.publish(WABA, FLOW_ID)
    stub.add_response("deprecate_whatsapp_flow", {}, {"id": WABA, "flowId": FLOW_ID})
    await flows.deprecate(WABA, FLOW_ID)
    stub.add_response("delete_whatsapp_flow", {}, {"id": WABA, "flowId": FLOW_ID})
    await flows.delete(WABA, FLOW_ID)
    stub.add_client_error("delete_whatsapp_flow", "ResourceNotFoundException", "gone", 404)
    await flows.delete(WABA, FLOW_ID)  # already gone: done


async def test_preview_and_get(social):
    flows, stub = social
    stub.add_response(
        "get_whatsapp_flow_preview",
        {
            "flowId": FLOW_ID,
            "preview": {"previewUrl": "https://business.facebook.com/p/1", "expiresAt": "2030-01-31T10:00:00+0000"},
        },
        {"id": WABA, "flowId": FLOW_ID, "invalidate": True},
    )
    assert await flows.preview(WABA, FLOW_ID, True) == FlowPreview("https://business.facebook.com/p/1", 1896084000.0)
    stub.add_response(
        "get_whatsapp_flow",
        {
            "flowId": FLOW_ID,
            "flowName": "Dinner [F]",
            "flowStatus": "PUBLISHED",
            "jsonVersion": "7.3",
            "validationErrors": [],
        },
        {"id": WABA, "flowId": FLOW_ID},
    )
    assert await flows.get(WABA, FLOW_ID) == FlowStatus(FLOW_ID, "PUBLISHED", (), "7.3")


@pytest.mark.parametrize(
    ("code", "status", "raised", "reason"),
    [
        ("ValidationException", 400, FailedPrecondition, "FLOW_REFUSED"),
        ("InvalidParametersException", 400, FailedPrecondition, "FLOW_REFUSED"),
        ("AccessDeniedByMetaException", 403, FailedPrecondition, "FLOW_ACCESS_DENIED"),
        ("ResourceNotFoundException", 404, NotFound, ""),
        ("ThrottledRequestException", 429, Unavailable, "FLOW_API_UNAVAILABLE"),
        ("DependencyException", 424, Unavailable, "FLOW_API_UNAVAILABLE"),
    ],
)
async def test_errors_are_translated_naming_the_call(social, code, status, raised, reason):
    flows, stub = social
    stub.add_client_error("publish_whatsapp_flow", code, "Meta says no", status)
    with pytest.raises(raised) as refused:
        await flows.publish(WABA, FLOW_ID)
    assert "PublishWhatsAppFlow" in refused.value.message and refused.value.reason == reason


def test_meta_times_read_in_their_shapes():
    assert meta_time("2030-01-31T10:00:00+0000") == meta_time("2030-01-31T10:00:00Z") == 1896084000.0
    assert meta_time("2030-01-31T10:00:00.500+00:00") == 1896084000.5
    assert meta_time("") is None and meta_time("soon") is None


# -- the use case through the stubbed calls ------------------------------------------------------------------------


@pytest.fixture
async def forms(social, tmp_path):
    flows, stub = social
    store = SqliteFormStore(tmp_path / "forms.sqlite3")
    clock = iter(range(1_900_000_000, 1_900_001_000))
    yield Forms(store, flows, WABAS, clock=lambda: float(next(clock))), stub, store
    await store.close()


def flow_status(status: str) -> dict:
    return {"flowId": FLOW_ID, "flowName": "x", "flowStatus": status, "validationErrors": []}


async def test_a_form_from_draft_to_published_to_deprecated(forms):
    use, stub, _ = forms
    form = await use.create(DEFINITION, "op-1")
    body = flow_json.encoded(form)
    expected_create = {
        "id": WABA,
        "flowName": f"Dinner booking [{form.id}]",
        "categories": ["APPOINTMENT_BOOKING"],
        "flowJson": body,
        "publish": False,
    }
    stub.add_response("create_whatsapp_flow", {"flowId": FLOW_ID}, expected_create)
    stub.add_response(
        "get_whatsapp_flow_preview",
        {"flowId": FLOW_ID, "preview": {"previewUrl": "https://p.example/1", "expiresAt": "2030-01-31T10:00:00+0000"}},
        {"id": WABA, "flowId": FLOW_ID, "invalidate": False},
    )
    previewed = await use.preview(form.id, form.etag, invalidate=False)
    assert previewed.state is FormState.DRAFT
    assert (previewed.flow.flow_id, previewed.flow.preview_url) == (FLOW_ID, "https://p.example/1")
    assert previewed.flow.synced_digest == DEFINITION.digest() and previewed.flow.json_version == "7.3"
    # unchanged since the preview: publishing sends no JSON again
    stub.add_response("get_whatsapp_flow", flow_status("DRAFT"), {"id": WABA, "flowId": FLOW_ID})
    stub.add_response("publish_whatsapp_flow", {}, {"id": WABA, "flowId": FLOW_ID})
    stub.add_response("get_whatsapp_flow", flow_status("PUBLISHED"), {"id": WABA, "flowId": FLOW_ID})
    published = await use.publish(form.id, previewed.etag)
    assert published.state is FormState.PUBLISHED and published.flow.status == "PUBLISHED"
    assert await use.publish(form.id, "") == published  # again: nothing to do, no call
    stub.add_response("get_whatsapp_flow", flow_status("PUBLISHED"), {"id": WABA, "flowId": FLOW_ID})
    stub.add_response("deprecate_whatsapp_flow", {}, {"id": WABA, "flowId": FLOW_ID})
    stub.add_response("get_whatsapp_flow", flow_status("DEPRECATED"), {"id": WABA, "flowId": FLOW_ID})
    deprecated = await use.deprecate(form.id, "")
    assert deprecated.state is FormState.DEPRECATED and deprecated.flow.status == "DEPRECATED"


async def test_a_changed_draft_sends_its_new_json_and_name(forms):
    use, stub, _ = forms
    form = await use.create(DEFINITION, "op-1")
    stub.add_response("create_whatsapp_flow", {"flowId": FLOW_ID}, None)
    stub.add_response(
        "get_whatsapp_flow_preview", {"flowId": FLOW_ID, "preview": {"previewUrl": "u", "expiresAt": "x"}}, None
    )
    await use.preview(form.id, "", False)
    changed = await use.update(
        form.id, dataclasses.replace(DEFINITION, display_name="Lunch booking"), ("display_name",), ""
    )
    stub.add_response(
        "update_whatsapp_flow",
        {},
        {
            "id": WABA,
            "flowId": FLOW_ID,
            "flowName": f"Lunch booking [{form.id}]",
            "categories": ["APPOINTMENT_BOOKING"],
        },
    )
    stub.add_response(
        "update_whatsapp_flow_assets", {}, {"id": WABA, "flowId": FLOW_ID, "flowJson": flow_json.encoded(changed)}
    )
    stub.add_response(
        "get_whatsapp_flow_preview", {"flowId": FLOW_ID, "preview": {"previewUrl": "u2", "expiresAt": "x"}}, None
    )
    again = await use.preview(form.id, "", False)
    assert again.flow.preview_url == "u2" and again.flow.preview_expire_time is None


async def test_a_create_whose_answer_was_lost_finds_its_flow(forms):
    use, stub, _ = forms
    form = await use.create(DEFINITION, "op-1")
    name = f"Dinner booking [{form.id}]"
    stub.add_client_error("create_whatsapp_flow", "ValidationException", "Flow name already exists", 400)
    stub.add_response(
        "list_whatsapp_flows",
        {
            "flows": [
                {
                    "flowId": FLOW_ID,
                    "flowName": name,
                    "flowStatus": "DRAFT",
                    "flowCategories": ["OTHER"],
                    "validationErrors": [],
                }
            ]
        },
        {"id": WABA, "maxResults": 100},
    )
    stub.add_response(
        "update_whatsapp_flow_assets", {}, {"id": WABA, "flowId": FLOW_ID, "flowJson": flow_json.encoded(form)}
    )
    stub.add_response(
        "get_whatsapp_flow_preview", {"flowId": FLOW_ID, "preview": {"previewUrl": "u", "expiresAt": "x"}}, None
    )
    assert (await use.preview(form.id, "", False)).flow.flow_id == FLOW_ID


async def test_metas_validation_errors_refuse_the_step_and_are_kept(forms):
    use, stub, store = forms
    form = await use.create(DEFINITION, "op-1")
    stub.add_response("create_whatsapp_flow", {"flowId": FLOW_ID, "validationErrors": ["MISSING_FOOTER"]}, None)
    with pytest.raises(FailedPrecondition) as refused:
        await use.publish(form.id, "")
    assert refused.value.reason == "FLOW_INVALID" and "MISSING_FOOTER" in refused.value.message
    kept = await store.get_form(form.id)
    assert kept.state is FormState.DRAFT
    assert (kept.flow.flow_id, kept.flow.validation_errors) == (FLOW_ID, ("MISSING_FOOTER",))


async def test_a_publish_that_went_through_is_not_repeated(forms):
    use, stub, _ = forms
    form = await use.create(DEFINITION, "op-1")
    stub.add_response("create_whatsapp_flow", {"flowId": FLOW_ID}, None)
    stub.add_response("get_whatsapp_flow", flow_status("DRAFT"), None)
    stub.add_client_error("publish_whatsapp_flow", "InternalServiceException", "boom", 500)
    with pytest.raises(Unavailable):
        await use.publish(form.id, "")
    # the publish had reached Meta after all: the retry sees PUBLISHED and does not call publish again
    stub.add_response("get_whatsapp_flow", flow_status("PUBLISHED"), None)
    assert (await use.publish(form.id, "")).state is FormState.PUBLISHED


async def test_deleting_a_draft_deletes_its_flow(forms):
    use, stub, store = forms
    form = await use.create(DEFINITION, "op-1")
    stub.add_response("create_whatsapp_flow", {"flowId": FLOW_ID}, None)
    stub.add_response(
        "get_whatsapp_flow_preview", {"flowId": FLOW_ID, "preview": {"previewUrl": "u", "expiresAt": "x"}}, None
    )
    await use.preview(form.id, "", False)
    stub.add_response("delete_whatsapp_flow", {}, {"id": WABA, "flowId": FLOW_ID})
    await use.delete(form.id, "")
    assert await store.get_form(form.id) is None
