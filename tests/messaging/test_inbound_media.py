"""The inbound media copy (services/messaging/inbound/media.py) over the real socialmessaging client with
aiobotocore's AioStubber (every GetWhatsAppMessageMedia request is checked against the service model): the
destination key is the incoming PREFIX, throttling and internal errors are retried with backoff, a refusal is
not, an object an earlier try left is used without a call, and the media-get slot is held around each call."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest
from aiobotocore.stub import AioStubber

from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters import sqlite_store
from services.messaging.adapters.incoming_media import StoredObject
from services.messaging.adapters.providers import ProviderOptions, WhatsAppProvider
from services.messaging.adapters.store import InboundMessageStore
from services.messaging.domain.model import Channel, InboundMessage
from services.messaging.inbound.media import MediaCopy, MediaCopyFailed

BUCKET = "stream.wecare.digital"
PREFIX = "whatsapp-media/whatsapp-media-incoming/"
PHONE = "phone-number-id-6a0e2c4b8d1f3a5c7e9b0d2f4a6c8e1b"
MEDIA_ID = "1234567890123456"
EXPECTED = {
    "mediaId": MEDIA_ID,
    "originationPhoneNumberId": PHONE,
    "destinationS3File": {"bucketName": BUCKET, "key": PREFIX},
}


class Bucket:
    """Where copies land. A stubbed call writes nothing, so Landing puts the object there as AWS would."""

    def __init__(self):
        self.objects: dict[str, StoredObject] = {}
        self.land_on_call = True

    async def find(self, media_id: str) -> StoredObject | None:
        return self.objects.get(media_id)


class Landing:
    """The provider's get_media, and then the object AWS would have written (`<prefix><id>.jpg`)."""

    def __init__(self, provider: WhatsAppProvider, bucket: Bucket):
        self.provider = provider
        self.bucket = bucket

    async def get_media(self, origination: str, media_id: str, prefix: str) -> dict[str, object]:
        reply = await self.provider.get_media(origination, media_id, prefix)
        if self.bucket.land_on_call:
            self.bucket.objects[media_id] = StoredObject(f"{prefix}{media_id}.jpg", 2900)
        return reply


class Slots:
    def __init__(self):
        self.held = 0
        self.calls = 0

    @contextlib.asynccontextmanager
    async def slot(self):
        self.held += 1
        self.calls += 1
        try:
            yield
        finally:
            self.held -= 1


@dataclass
class Parts:
    copy: MediaCopy
    stubber: AioStubber
    bucket: Bucket
    slots: Slots
    sleeps: list[float]
    store: InboundMessageStore


@pytest.fixture
async def parts(tmp_path):
    aws = AwsClients(Settings(social_messaging_endpoint_url="https://social.example"))
    provider = WhatsAppProvider(aws, ProviderOptions("https://social.example", None, media_bucket=BUCKET))
    client = await provider._client()  # the client the provider calls with: stub it
    stores = sqlite_store.open_inbound(tmp_path / "in.sqlite3")
    store = stores.messages
    bucket, slots, sleeps = Bucket(), Slots(), []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    copy = MediaCopy(Landing(provider, bucket), bucket, store, PREFIX, slots.slot, backoff=0.25, sleep=sleep)
    with AioStubber(client) as stubber:
        yield Parts(copy, stubber, bucket, slots, sleeps, store)
        stubber.assert_no_pending_responses()
    await stores.close()
    await aws.close()


async def image(store) -> InboundMessage:
    message = InboundMessage(
        id="01M89MSM895Q5441JX39QHG6Y7",
        channel=Channel.WHATSAPP,
        origination=PHONE,
        customer="+919812345678",
        provider_message_id="wamid.image",
        content={"media": {"kind": "MEDIA_KIND_IMAGE", "mime_type": "image/jpeg", "provider_media_id": MEDIA_ID}},
        receive_time=1795167100.0,
    )
    stored, _ = await store.add_message(message)
    return stored


async def test_throttled_and_internal_errors_are_retried_with_backoff(parts: Parts):

    parts.stubber.add_client_error("get_whatsapp_message_media", "ThrottledRequestException", http_status_code=429)
    parts.stubber.add_client_error("get_whatsapp_message_media", "InternalServiceException", http_status_code=500)
    parts.stubber.add_response("get_whatsapp_message_media", {"mimeType": "image/jpeg", "fileSize": 3}, EXPECTED)
    message = await image(parts.store)
    copied = await parts.copy.copy(message)
    assert copied.content["media"]["media_key"] == PREFIX + MEDIA_ID + ".jpg"
    assert copied.content["media"]["size_bytes"] == 2900
    assert parts.sleeps == [0.25, 0.5]  # backoff doubles
    assert parts.slots.calls == 3 and parts.slots.held == 0
    assert (await parts.store.get(message.id)).content["media"]["media_key"] == PREFIX + MEDIA_ID + ".jpg"


async def test_a_refusal_is_not_retried(parts: Parts):

    parts.stubber.add_client_error("get_whatsapp_message_media", "ResourceNotFoundException", http_status_code=404)
    message = await image(parts.store)
    with pytest.raises(MediaCopyFailed) as failed:
        await parts.copy.copy(message)
    assert "ResourceNotFoundException" in str(failed.value) and "1 attempt(s)" in str(failed.value)
    assert parts.sleeps == [] and parts.slots.calls == 1
    assert "media_key" not in (await parts.store.get(message.id)).content["media"]


async def test_out_of_retries(parts: Parts):

    for _ in range(4):
        parts.stubber.add_client_error("get_whatsapp_message_media", "DependencyException", http_status_code=424)
    with pytest.raises(MediaCopyFailed) as failed:
        await parts.copy.copy(await image(parts.store))
    assert "4 attempt(s)" in str(failed.value) and "DependencyException" in str(failed.value)
    assert parts.sleeps == [0.25, 0.5, 1.0]


async def test_an_answer_without_an_object_is_a_failed_try(parts: Parts):

    parts.bucket.land_on_call = False
    for _ in range(4):
        parts.stubber.add_response("get_whatsapp_message_media", {"mimeType": "image/jpeg", "fileSize": 3}, EXPECTED)
    with pytest.raises(MediaCopyFailed) as failed:
        await parts.copy.copy(await image(parts.store))
    assert "nothing landed" in str(failed.value)


async def test_an_object_an_earlier_try_left_is_used_without_a_call(parts: Parts):

    parts.bucket.objects[MEDIA_ID] = StoredObject(PREFIX + MEDIA_ID + ".jpg", 10)
    copied = await parts.copy.copy(await image(parts.store))
    assert copied.content["media"]["media_key"] == PREFIX + MEDIA_ID + ".jpg"
    assert parts.slots.calls == 0
