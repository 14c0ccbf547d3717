"""The channel providers' AWS calls, checked against the real service models: EUM Social and EUM SMS with
aiobotocore's AioStubber (every parameter validated; the SDK's client, ProviderOptions.lean=False), SES v2 against
moto; the sends as messaging makes them (the lean call, runtime/aws_lean.py, and the SDK's) against the sandbox.
Plus the Meta message objects for every kind of content, and how each provider failure is classified for the
dispatcher."""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest
from aiobotocore.session import get_session
from aiobotocore.stub import AioStubber
from botocore.exceptions import ClientError

from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters.providers import (
    EmailProvider,
    ProviderOptions,
    SmsProvider,
    WhatsAppProvider,
    classify,
)
from services.messaging.domain import meta
from services.messaging.domain.model import Category, Channel, Lane, OutboundMessage

PHONE = "phone-number-id-" + "c" * 32
WABA = "waba-" + "d" * 32
OPTIONS = ProviderOptions(social_endpoint="http://sandbox.invalid", sms_endpoint="http://sandbox.invalid", lean=False)


class StubAws:
    """Hands the providers pre-made (stubbed) clients, whatever options they ask with."""

    def __init__(self, **clients):
        self.clients = clients

    async def client(self, service: str, **_options):
        return self.clients[service]


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
            yield client, stub
            stub.assert_no_pending_responses()


@pytest.fixture
async def sms():
    async with get_session().create_client(
        "pinpoint-sms-voice-v2", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    ) as client:
        with AioStubber(client) as stub:
            yield client, stub
            stub.assert_no_pending_responses()


def message(content: dict, channel: Channel = Channel.WHATSAPP, key: str = "", **extra) -> OutboundMessage:
    return OutboundMessage(
        id="01J00000000000000000000000",
        channel=channel,
        category=Category.UTILITY,
        origination=PHONE if channel == Channel.WHATSAPP else "pool-1",
        recipient="+919812345678",
        content=content,
        create_time=1.0,
        idempotency_key=key,
        lane=Lane.BULK,
        extra=extra,
    )


async def test_whatsapp_send_carries_the_meta_object_and_callback(social):
    client, stub = social
    m = message({"text": {"body": "hi", "preview_url": True}}, key="bulkJobs/J/1")
    expected = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+919812345678",
        "biz_opaque_callback_data": "01J00000000000000000000000|bulkJobs/J/1",
        "type": "text",
        "text": {"body": "hi", "preview_url": True},
    }
    stub.add_response(
        "send_whatsapp_message",
        {"messageId": "wamid.ONE"},
        {"originationPhoneNumberId": PHONE, "message": meta.encode(expected), "metaApiVersion": "v20.0"},
    )
    provider = WhatsAppProvider(StubAws(socialmessaging=client), OPTIONS)
    outcome = await provider.send(m, {})
    assert outcome.kind == "sent" and outcome.provider_message_id == "wamid.ONE"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottledRequestException", 429, "throttled"),
        ("InternalServiceException", 500, "in_doubt"),  # may have been taken: never sent again
        ("DependencyException", 502, "in_doubt"),
        ("ValidationException", 400, "failed"),
        ("AccessDeniedByMetaException", 403, "failed"),
        ("ResourceNotFoundException", 404, "failed"),
    ],
)
async def test_whatsapp_failures_are_classified(social, code, status, kind):
    client, stub = social
    stub.add_client_error("send_whatsapp_message", service_error_code=code, http_status_code=status)
    outcome = await WhatsAppProvider(StubAws(socialmessaging=client), OPTIONS).send(
        message({"text": {"body": "x"}}), {}
    )
    assert outcome.kind == kind and outcome.error.code == code


def test_connection_failures_before_and_after_sending():
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    assert classify(EndpointConnectionError(endpoint_url="http://x")).kind == "retry"  # never reached it
    assert classify(ReadTimeoutError(endpoint_url="http://x")).kind == "in_doubt"  # may have reached it


def test_only_a_refusal_is_retried():
    def refused(code: str, status: int):
        return classify(ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Send"))

    assert refused("ServiceQuotaExceededException", 402).kind == "retry"  # SMS: refused for now, not taken
    assert refused("ServiceUnavailable", 503).kind == "in_doubt"
    assert refused("InternalServerException", 500).kind == "in_doubt"
    assert refused("ConflictException", 409).kind == "failed"


async def test_media_post_get_and_templates(social):
    client, stub = social
    provider = WhatsAppProvider(StubAws(socialmessaging=client), OPTIONS)
    key = "whatsapp-media/whatsapp-media-outgoing/01J.jpg"
    stub.add_response(
        "post_whatsapp_message_media",
        {"mediaId": "998877"},
        {"originationPhoneNumberId": PHONE, "sourceS3File": {"bucketName": "stream.wecare.digital", "key": key}},
    )
    assert await provider.post_media(PHONE, key) == ("998877", None)
    stub.add_response(
        "get_whatsapp_message_media",
        {"mimeType": "image/jpeg", "fileSize": 12},
        {
            "mediaId": "123",
            "originationPhoneNumberId": PHONE,
            "destinationS3File": {
                "bucketName": "stream.wecare.digital",
                "key": "whatsapp-media/whatsapp-media-incoming/",
            },
        },
    )
    assert await provider.get_media(PHONE, "123", "whatsapp-media/whatsapp-media-incoming/") == {
        "mimeType": "image/jpeg",
        "fileSize": 12,
    }
    page1 = {"templates": [{"templateName": "a", "metaTemplateId": "1", "templateLanguage": "en_US"}], "nextToken": "n"}
    page2 = {"templates": [{"templateName": "b", "metaTemplateId": "2", "templateLanguage": "hi"}]}
    stub.add_response("list_whatsapp_message_templates", page1, {"id": WABA, "maxResults": 100})
    stub.add_response("list_whatsapp_message_templates", page2, {"id": WABA, "maxResults": 100, "nextToken": "n"})
    assert [t["templateName"] for t in await provider.list_templates(WABA)] == ["a", "b"]
    definition = json.dumps({"components": [{"type": "BODY", "text": "Hi {{1}}"}]})
    stub.add_response("get_whatsapp_message_template", {"template": definition}, {"id": WABA, "metaTemplateId": "1"})
    assert await provider.get_template(WABA, "1") == definition


async def test_sms_send_carries_the_reference_in_the_context(sms):
    client, stub = sms
    m = message({"text": {"body": "code 1234"}}, channel=Channel.SMS, key="otp/1/a")
    stub.add_response(
        "send_text_message",
        {"MessageId": "sms-1"},
        {
            "DestinationPhoneNumber": "+919812345678",
            "OriginationIdentity": "pool-1",
            "MessageBody": "code 1234",
            "MessageType": "TRANSACTIONAL",
            "Context": {"ref": "01J00000000000000000000000|otp/1/a"},
        },
    )
    outcome = await SmsProvider(StubAws(**{"pinpoint-sms-voice-v2": client}), OPTIONS).send(m, {})
    assert outcome.kind == "sent" and outcome.provider_message_id == "sms-1"
    stub.add_client_error("send_text_message", service_error_code="ThrottlingException", http_status_code=400)
    assert (await SmsProvider(StubAws(**{"pinpoint-sms-voice-v2": client}), OPTIONS).send(m, {})).kind == "throttled"


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "sdk"])
async def test_sends_through_the_sandbox_both_ways(tmp_path, lean):
    """WhatsApp and SMS sends as the dispatcher makes them, the lean way (the default) and the SDK's: the sandbox
    takes each once with its callback data, and refuses a bad one as the same outcome."""
    from localrun.sandbox import log as sandbox_log
    from tests.messaging.support import phone_ids, sandbox_here

    phone = phone_ids(1)[0]
    async with sandbox_here(tmp_path / "sent.jsonl") as (url, _sandbox):
        aws = AwsClients(Settings())
        options = ProviderOptions(social_endpoint=url, sms_endpoint=url, lean=lean)
        try:
            whatsapp, sms = WhatsAppProvider(aws, options), SmsProvider(aws, options)
            wa = dataclasses.replace(message({"text": {"body": "hi"}}, key="k/1"), origination=phone)
            sent = await whatsapp.send(wa, {})
            assert sent.kind == "sent" and sent.provider_message_id.startswith("wamid."), sent
            text = message({"text": {"body": "code 1234"}}, channel=Channel.SMS, key="otp/1/a")
            assert (await sms.send(text, {})).kind == "sent"
            bad = dataclasses.replace(wa, origination="phone-number-id-nothex")
            refused = await whatsapp.send(bad, {})
            assert refused.kind == "failed" and refused.error.code == "ValidationException", refused
        finally:
            await aws.close()
    calls = sandbox_log.read(tmp_path / "sent.jsonl")
    assert [(c.channel, c.ref) for c in calls] == [
        ("WHATSAPP", "01J00000000000000000000000|k/1"),
        ("SMS", "01J00000000000000000000000|otp/1/a"),
    ]


async def test_email_through_ses_v2_on_moto(moto_endpoint):
    boto3.client("sesv2", endpoint_url=moto_endpoint, region_name="us-east-1").create_email_identity(
        EmailIdentity="one@wecare.digital"
    )
    aws = AwsClients(Settings(aws_endpoint_url=moto_endpoint))
    try:
        provider = EmailProvider(aws, OPTIONS)
        m = OutboundMessage(
            id="01J00000000000000000000001",
            channel=Channel.EMAIL,
            category=Category.UTILITY,
            origination="one@wecare.digital",
            recipient="asha@example.com",
            content={"email": {"subject": "Receipt", "text_body": "Thanks", "html_body": "<p>Thanks</p>"}},
            create_time=1.0,
        )
        outcome = await provider.send(m, {})
        assert outcome.kind == "sent" and outcome.provider_message_id
        unverified = m.replace(origination="nobody@elsewhere.example")
        refused = await provider.send(unverified, {})
        assert refused.kind == "failed" and refused.error.code == "MessageRejected"
    finally:
        await aws.close()


def test_meta_objects_for_every_kind_of_content():
    media_ids = {"k/img.jpg": "111", "k/doc.pdf": "222"}
    image = meta.message_object(
        message({"media": {"kind": "MEDIA_KIND_IMAGE", "media_key": "k/img.jpg", "caption": "c", "filename": "x"}}),
        media_ids,
    )
    assert image["type"] == "image" and image["image"] == {"id": "111", "caption": "c"}
    document = meta.message_object(
        message({"media": {"kind": "MEDIA_KIND_DOCUMENT", "media_key": "k/doc.pdf", "filename": "bill.pdf"}}),
        media_ids,
    )
    assert document["document"] == {"id": "222", "filename": "bill.pdf"}
    template = meta.message_object(
        message(
            {
                "template": {
                    "template_name": "promo_offer",
                    "language": "en_US",
                    "body_parameters": [{"text": "Asha"}, {"name": "pct", "text": "10%"}],
                    "header_media": {"kind": "MEDIA_KIND_IMAGE", "media_key": "k/img.jpg"},
                    "button_parameters": [{"index": 0, "sub_type": "url", "text": "summer"}],
                }
            }
        ),
        media_ids,
    )
    assert template["template"] == {
        "name": "promo_offer",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "111"}}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Asha"},
                    {"type": "text", "text": "10%", "parameter_name": "pct"},
                ],
            },
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "summer"}]},
        ],
    }
    location = meta.message_object(message({"location": {"latitude": 12.9, "longitude": 77.6, "name": "HQ"}}), {})
    assert location["location"] == {"latitude": 12.9, "longitude": 77.6, "name": "HQ"}
    cards = meta.message_object(
        message({"contacts": {"contacts": [{"formatted_name": "Asha", "phone_numbers": ["+91981"]}]}}), {}
    )
    assert cards["contacts"] == [
        {"name": {"formatted_name": "Asha", "first_name": "Asha"}, "phones": [{"phone": "+91981"}]}
    ]
    buttons = meta.message_object(
        message(
            {
                "interactive": {
                    "kind": "INTERACTIVE_KIND_BUTTON",
                    "body_text": "Pick",
                    "buttons": [{"id": "y", "title": "Yes"}],
                }
            }
        ),
        {},
    )
    assert buttons["interactive"] == {
        "type": "button",
        "body": {"text": "Pick"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
    }
    cta = meta.message_object(
        message(
            {
                "interactive": {
                    "kind": "INTERACTIVE_KIND_CTA_URL",
                    "body_text": "See",
                    "cta_display_text": "Open",
                    "cta_url": "https://wecare.digital",
                }
            }
        ),
        {},
    )
    assert cta["interactive"]["action"] == {
        "name": "cta_url",
        "parameters": {"display_text": "Open", "url": "https://wecare.digital"},
    }
    reaction = meta.message_object(
        message(
            {"reaction": {"message": "messages/X", "emoji": "👍"}}, reaction_wamid="wamid.R", context_wamid="wamid.C"
        ),
        {},
    )
    assert reaction["reaction"] == {"message_id": "wamid.R", "emoji": "👍"}
    assert reaction["context"] == {"message_id": "wamid.C"}


def test_template_definition_parsing():
    definition = json.dumps(
        {
            "components": [
                {"type": "HEADER", "format": "IMAGE"},
                {"type": "BODY", "text": "{{name}}, get {{pct}} off; {{name}} again"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY"}, {"type": "URL", "url": "https://x/{{1}}"}]},
            ]
        }
    )
    summary = {
        "templateName": "promo",
        "templateLanguage": "en_US",
        "templateCategory": "MARKETING",
        "templateStatus": "APPROVED",
        "metaTemplateId": "9",
    }
    t = meta.parse_template(summary, definition, WABA, 5.0)
    assert (t.body_variables, t.header_media_kind, t.dynamic_buttons) == (("name", "pct"), "IMAGE", (1,))
    assert t.category == Category.MARKETING and t.key == "promo.en_US" and t.waba == WABA
