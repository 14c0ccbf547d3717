"""EUM Social's template management calls (adapters.template_api) against the installed service model with
aiobotocore's AioStubber (every parameter validated): create, create from the library, a header's media, update,
delete; and what the service's refusals become."""

from __future__ import annotations

import json

import pytest
from aiobotocore.session import get_session
from aiobotocore.stub import AioStubber

from runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.messaging.adapters.template_api import WhatsAppTemplateApi
from tests.messaging.test_providers import StubAws

WABA = "waba-" + "d" * 32
BUCKET = "stream.wecare.digital"
DEFINITION = {
    "name": "spring_sale",
    "language": "en_US",
    "category": "MARKETING",
    "parameter_format": "POSITIONAL",
    "components": [{"type": "BODY", "text": "Hi {{1}}, 20% off.", "example": {"body_text": [["Asha"]]}}],
}


@pytest.fixture
async def api():
    async with get_session().create_client(
        "socialmessaging",
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
        endpoint_url="http://sandbox.invalid",
    ) as client:
        with AioStubber(client) as stub:
            yield WhatsAppTemplateApi(StubAws(socialmessaging=client), "http://sandbox.invalid", BUCKET), stub
            stub.assert_no_pending_responses()


async def test_create_sends_the_definition_as_a_json_blob(api):
    templates, stub = api
    stub.add_response(
        "create_whatsapp_message_template",
        {"metaTemplateId": "1234567", "templateStatus": "PENDING", "category": "MARKETING"},
        {"id": WABA, "templateDefinition": json.dumps(DEFINITION, separators=(",", ":")).encode()},
    )
    created = await templates.create(WABA, DEFINITION)
    assert (created.meta_template_id, created.status, created.category) == ("1234567", "PENDING", "MARKETING")


async def test_create_from_the_library_and_a_header_example(api):
    templates, stub = api
    library = {
        "templateName": "order_shipped",
        "libraryTemplateName": "shipment_confirmation_2",
        "templateCategory": "UTILITY",
        "templateLanguage": "en_US",
        "libraryTemplateButtonInputs": [{"type": "URL", "url": {"base_url": "https://wecare.digital/track/{{1}}"}}],
    }
    stub.add_response(
        "create_whatsapp_message_template_from_library",
        {"metaTemplateId": "55", "templateStatus": "APPROVED", "category": "UTILITY"},
        {"id": WABA, "metaLibraryTemplate": library},
    )
    created = await templates.create_from_library(WABA, library)
    assert created.status == "APPROVED"
    key = "whatsapp-media/whatsapp-media-outgoing/spring.jpg"
    stub.add_response(
        "create_whatsapp_message_template_media",
        {"metaHeaderHandle": "4::aW1hZ2U="},
        {"id": WABA, "sourceS3File": {"bucketName": BUCKET, "key": key}},
    )
    assert await templates.upload_media(WABA, key) == "4::aW1hZ2U="


async def test_update_and_delete(api):
    templates, stub = api
    components = DEFINITION["components"]
    stub.add_response(
        "update_whatsapp_message_template",
        {},
        {
            "id": WABA,
            "metaTemplateId": "1234567",
            "templateComponents": json.dumps(components, separators=(",", ":")).encode(),
            "parameterFormat": "positional",
            "templateCategory": "MARKETING",
        },
    )
    await templates.update(WABA, "1234567", components, "MARKETING", "POSITIONAL")
    stub.add_response(
        "delete_whatsapp_message_template",
        {},
        {"id": WABA, "templateName": "spring_sale", "metaTemplateId": "1234567"},
    )
    await templates.delete(WABA, "spring_sale", "1234567")


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ValidationException", 400, InvalidArgument),
        ("ResourceNotFoundException", 404, NotFound),
        ("AccessDeniedByMetaException", 403, FailedPrecondition),
        ("ThrottledRequestException", 429, Unavailable),
        ("InternalServiceException", 500, Unavailable),
    ],
)
async def test_refusals_become_the_platforms_errors(api, code, status, error):
    templates, stub = api
    stub.add_client_error(
        "create_whatsapp_message_template", service_error_code=code, service_message="no", http_status_code=status
    )
    with pytest.raises(error):
        await templates.create(WABA, DEFINITION)
