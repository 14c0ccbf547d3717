"""MessagingService over real gRPC, wired as main() wires it, on SQLite, with the sandbox (in this event loop) as
EUM Social and EUM SMS, contacts for consent, and moto for S3, SQS and SES: sending on every channel, the rules
that refuse (each naming its rule or field, changing nothing), idempotency, withdrawal, media and templates."""

from __future__ import annotations

import asyncio
import time

import boto3
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from localrun.sandbox import log as sandbox_log
from runtime.auth import ServiceTokens
from services.contacts.main import wire as contacts_wire
from services.messaging.domain.model import Channel, InboundMessage
from services.messaging.main import wire
from tests.messaging.support import phone_ids, sandbox_here, stores_of, whatsapp_template
from tests.support.identity import TestPool
from tests.support.servers import running
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as contacts_grpc
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

POOL = TestPool()
ADMIN = POOL.bearer("admin", sub="admin-1")
OPERATOR = POOL.bearer("operator", sub="operator-1")
VIEWER = POOL.bearer("viewer", sub="viewer-1")
PHONES = phone_ids(2)
BUCKET = "stream.wecare.digital"


@pytest.fixture(scope="module")
def aws(moto_endpoint):
    kw = {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket=BUCKET)
    boto3.client("sesv2", **kw).create_email_identity(EmailIdentity="one@wecare.digital")
    sqs = boto3.client("sqs", **kw)
    for q in ("outbound-dlq", "inbound-dlq", "whatsapp-inbound-dlq"):
        sqs.create_queue(QueueName=q)
    return moto_endpoint


@pytest.fixture
async def env(tmp_path, aws):
    """(messaging stub, contacts stub, sandbox, sandbox log path, the messaging process)."""
    log_path = tmp_path / "sandbox.jsonl"
    async with running("contacts", contacts_wire, POOL, tmp_path / "contacts") as contacts:
        async with sandbox_here(log_path, statuses=["sent"]) as (url, sandbox):
            async with running(
                "messaging",
                wire,
                POOL,
                tmp_path / "messaging",
                contacts_address=contacts.address,
                social_messaging_endpoint_url=url,
                sms_voice_endpoint_url=url,
                aws_endpoint_url=aws,
                whatsapp_phone_number_ids=tuple(PHONES),
                whatsapp_phone_rate=5.0,
                whatsapp_pair_interval_seconds=0.0,
            ) as process:
                async with (
                    grpc.aio.insecure_channel(process.address) as channel,
                    grpc.aio.insecure_channel(contacts.address) as cchannel,
                ):
                    stub = pb_grpc.MessagingServiceStub(channel)
                    await stub.SyncTemplates(pb.SyncTemplatesRequest(), metadata=ADMIN)
                    yield stub, contacts_grpc.ContactsServiceStub(cchannel), sandbox, log_path, process


async def settled(stub, name: str, within: float = 10.0) -> pb.Message:
    deadline = time.monotonic() + within
    while True:
        m = await stub.GetMessage(pb.GetMessageRequest(name=name), metadata=VIEWER)
        if m.status not in (pb.STATUS_ACCEPTED,) or time.monotonic() > deadline:
            return m
        await asyncio.sleep(0.05)


def reason(err: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    """(ErrorInfo reason, BadRequest fields) of a refusal."""
    status = rpc_status.from_call(err)
    why, fields = "", []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            why = info.reason
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return why, fields


async def test_template_send_is_accepted_then_sent_with_callback(env):
    stub, _, _, log_path, _ = env
    m = await stub.SendMessage(
        pb.SendMessageRequest(message=whatsapp_template("98123 45678", PHONES[1])), metadata=OPERATOR
    )
    assert m.status == pb.STATUS_ACCEPTED and m.recipient == "+919812345678" and m.name.startswith("messages/")
    sent = await settled(stub, m.name)
    assert sent.status == pb.STATUS_SENT and sent.provider_message_id.startswith("wamid.") and sent.attempts == 1
    [call] = sandbox_log.read(log_path)
    assert (call.channel, call.origin, call.to, call.id) == (
        "WHATSAPP",
        PHONES[1],
        "+919812345678",
        sent.provider_message_id,
    )
    assert call.ref == m.name.removeprefix("messages/")  # biz_opaque_callback_data, no key


async def test_repeated_key_returns_the_original_and_sends_once(env):
    stub, _, _, log_path, _ = env
    message = whatsapp_template("+919812345001", PHONES[0], key="orders/42/confirm")
    first = await stub.SendMessage(pb.SendMessageRequest(message=message), metadata=OPERATOR)
    again = await stub.SendMessage(pb.SendMessageRequest(message=message), metadata=OPERATOR)
    assert again.name == first.name
    await settled(stub, first.name)
    third = await stub.SendMessage(pb.SendMessageRequest(message=message), metadata=OPERATOR)
    assert third.name == first.name and third.status == pb.STATUS_SENT  # the original, in its current state
    calls = sandbox_log.read(log_path)
    assert [c.ref for c in calls] == [f"{first.name.removeprefix('messages/')}|orders/42/confirm"]


async def test_withdraw_by_prefix_then_accepted_anew(env):
    stub, _, _, log_path, _ = env
    # 5/s on this phone: the first goes at once, the rest wait their turn and can be withdrawn.
    names = []
    for i in range(6):
        m = whatsapp_template(f"+91981234{5100 + i}", PHONES[0], key=f"bulkJobs/J9/{i}")
        names.append((await stub.SendMessage(pb.SendMessageRequest(message=m), metadata=OPERATOR)).name)
    reply = await stub.WithdrawMessages(
        pb.WithdrawMessagesRequest(idempotency_key_prefix="bulkJobs/J9/"), metadata=OPERATOR
    )
    assert reply.withdrawn_count >= 3
    await asyncio.sleep(1.5)
    states = [(await stub.GetMessage(pb.GetMessageRequest(name=n), metadata=VIEWER)).status for n in names]
    assert states.count(pb.STATUS_WITHDRAWN) == reply.withdrawn_count
    assert all(s in (pb.STATUS_SENT, pb.STATUS_WITHDRAWN) for s in states)
    sent_refs = {c.ref.split("|")[0] for c in sandbox_log.read(log_path)}
    for n, s in zip(names, states, strict=True):
        assert (n.removeprefix("messages/") in sent_refs) == (s == pb.STATUS_SENT)  # withdrawn: never sent
    # A withdrawn key is accepted anew: a new message, which is sent.
    i = states.index(pb.STATUS_WITHDRAWN)
    again = await stub.SendMessage(
        pb.SendMessageRequest(message=whatsapp_template(f"+91981234{5100 + i}", PHONES[0], key=f"bulkJobs/J9/{i}")),
        metadata=OPERATOR,
    )
    assert again.name != names[i]
    assert (await settled(stub, again.name)).status == pb.STATUS_SENT
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.WithdrawMessages(pb.WithdrawMessagesRequest(idempotency_key_prefix="bulkJobs/"), metadata=OPERATOR)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and reason(err.value)[1] == ["idempotency_key_prefix"]


async def refused(stub, message: pb.Message) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SendMessage(pb.SendMessageRequest(message=message), metadata=OPERATOR)
    return err.value


async def test_rules_refuse_naming_the_rule_and_change_nothing(env):
    stub, contacts, _, log_path, process = env
    text = pb.Message(
        channel=pb.CHANNEL_WHATSAPP,
        category=pb.CATEGORY_SERVICE,
        recipient="+919812340001",
        content=pb.Content(text=pb.TextContent(body="hello")),
    )
    err = await refused(stub, text)
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(err)[0] == "WINDOW_CLOSED"

    # The customer writes: the window opens, free-form is allowed and goes in the conversation lane.
    from runtime import ids

    async with stores_of(process.settings) as (_, inbound):
        await inbound.messages.add_message(
            InboundMessage(
                ids.new_id(),
                Channel.WHATSAPP,
                PHONES[1],
                "+919812340001",
                "wamid.IN1",
                {"text": {"body": "hi"}},
                time.time(),
            )
        )
    reply = await stub.SendMessage(pb.SendMessageRequest(message=text), metadata=OPERATOR)
    assert reply.conversation_reply and reply.origination == PHONES[1]  # answered from the phone written to

    opted_out = await contacts.CreateContact(
        contacts_pb.CreateContactRequest(
            contact=contacts_pb.Contact(
                display_name="Out",
                phone_number="+919812340002",
                whatsapp_consent=contacts_pb.ChannelConsent(state=contacts_pb.CONSENT_STATE_OPTED_OUT),
            )
        ),
        metadata=OPERATOR,
    )
    err = await refused(stub, whatsapp_template("+919812340002", PHONES[0]))
    assert reason(err)[0] == "CONSENT_OPTED_OUT"
    by_contact = whatsapp_template("", PHONES[0])
    by_contact.contact = opted_out.name
    assert reason(await refused(stub, by_contact))[0] == "CONSENT_OPTED_OUT"

    short = whatsapp_template("+919812340003", PHONES[0])
    del short.content.template.body_parameters[1]
    assert reason(await refused(stub, short))[0] == "TEMPLATE_VARIABLES_INCOMPLETE"
    assert (
        reason(await refused(stub, whatsapp_template("+919812340003", PHONES[0], name="nope")))[0] == "TEMPLATE_UNKNOWN"
    )
    wrong_category = whatsapp_template("+919812340003", PHONES[0])
    wrong_category.category = pb.CATEGORY_MARKETING
    assert reason(await refused(stub, wrong_category))[0] == "CATEGORY_MISMATCH"

    promo = pb.Message(
        channel=pb.CHANNEL_WHATSAPP,
        category=pb.CATEGORY_MARKETING,
        recipient="+919812340004",
        content=pb.Content(
            template=pb.TemplateContent(
                template_name="promo_offer",
                language="en_US",
                body_parameters=[pb.TemplateParameter(text="Asha"), pb.TemplateParameter(text="10%")],
                header_media=pb.MediaContent(
                    kind=pb.MEDIA_KIND_IMAGE,
                    media_key="whatsapp-media/whatsapp-media-outgoing/p.jpg",
                    mime_type="image/jpeg",
                    size_bytes=1000,
                ),
                button_parameters=[pb.TemplateButtonParameter(index=0, sub_type="url", text="summer")],
            )
        ),
    )
    async with stores_of(process.settings) as (outbound, _):
        await outbound.suppressions.suppress("+919812340004", "marketing", time.time() + 60, "131050")
    assert reason(await refused(stub, promo))[0] == "MARKETING_SUPPRESSED"

    big = pb.Message(
        channel=pb.CHANNEL_WHATSAPP,
        category=pb.CATEGORY_SERVICE,
        recipient="+919812340001",
        content=pb.Content(
            media=pb.MediaContent(
                kind=pb.MEDIA_KIND_IMAGE,
                media_key="whatsapp-media/whatsapp-media-outgoing/big.gif",
                mime_type="image/gif",
                size_bytes=6 * 1024 * 1024,
            )
        ),
    )
    err = await refused(stub, big)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(err)[1] == ["message.content.media.mime_type", "message.content.media.size_bytes"]
    err = await refused(
        stub, pb.Message(channel=pb.CHANNEL_SMS, recipient="12", content=pb.Content(text=pb.TextContent()))
    )
    assert set(reason(err)[1]) == {"message.category", "message.recipient", "message.content.text.body"}
    await asyncio.sleep(0.5)
    assert [c.ref.split("|")[0] for c in sandbox_log.read(log_path)] == [reply.name.removeprefix("messages/")]


async def test_sms_and_email(env, aws):
    stub, _, _, log_path, _ = env
    sms = await stub.SendMessage(
        pb.SendMessageRequest(
            message=pb.Message(
                channel=pb.CHANNEL_SMS,
                category=pb.CATEGORY_UTILITY,
                recipient="+919812349999",
                idempotency_key="otp/1/x",
                content=pb.Content(text=pb.TextContent(body="Your code is 1234")),
            )
        ),
        metadata=OPERATOR,
    )
    assert (await settled(stub, sms.name)).status == pb.STATUS_SENT
    [call] = [c for c in sandbox_log.read(log_path) if c.channel == "SMS"]
    assert call.ref == f"{sms.name.removeprefix('messages/')}|otp/1/x" and call.to == "+919812349999"
    email = await stub.SendMessage(
        pb.SendMessageRequest(
            message=pb.Message(
                channel=pb.CHANNEL_EMAIL,
                category=pb.CATEGORY_UTILITY,
                recipient="Asha@Example.com",
                content=pb.Content(email=pb.EmailContent(subject="Receipt", text_body="Thanks")),
            )
        ),
        metadata=OPERATOR,
    )
    done = await settled(stub, email.name)
    assert done.status == pb.STATUS_SENT and done.recipient == "asha@example.com" and done.provider_message_id


async def test_media_upload_send_and_reuse_of_the_media_id(env, aws):
    stub, _, _, log_path, process = env
    upload = await stub.CreateMediaUpload(
        pb.CreateMediaUploadRequest(kind=pb.MEDIA_KIND_IMAGE, mime_type="image/jpeg", size_bytes=3, filename="a.jpg"),
        metadata=OPERATOR,
    )
    assert upload.media_key.startswith("whatsapp-media/whatsapp-media-outgoing/") and upload.upload_url
    import urllib.request

    put = urllib.request.Request(upload.upload_url, data=b"abc", method="PUT", headers=dict(upload.upload_headers))
    await asyncio.to_thread(urllib.request.urlopen, put)
    # Inside the window (the customer wrote), two images of the same object.
    from runtime import ids

    async with stores_of(process.settings) as (_, inbound):
        await inbound.messages.add_message(
            InboundMessage(ids.new_id(), Channel.WHATSAPP, PHONES[0], "+919812348888", "wamid.M1", {}, time.time())
        )
    names = []
    for caption in ("one", "two"):
        m = pb.Message(
            channel=pb.CHANNEL_WHATSAPP,
            category=pb.CATEGORY_SERVICE,
            recipient="+919812348888",
            origination=PHONES[0],
            content=pb.Content(
                media=pb.MediaContent(
                    kind=pb.MEDIA_KIND_IMAGE,
                    media_key=upload.media_key,
                    mime_type="image/jpeg",
                    size_bytes=3,
                    caption=caption,
                )
            ),
        )
        names.append((await stub.SendMessage(pb.SendMessageRequest(message=m), metadata=OPERATOR)).name)
        assert (await settled(stub, names[-1])).status == pb.STATUS_SENT
    calls = sandbox_log.read(log_path)
    assert [c.channel for c in calls] == ["MEDIA_POST", "WHATSAPP", "WHATSAPP"]  # registered once for the phone
    got = await stub.GetMessage(pb.GetMessageRequest(name=names[0]), metadata=VIEWER)
    assert got.content.media.download_uri.startswith(aws) and upload.media_key in got.content.media.download_uri
    err = None
    try:
        await stub.CreateMediaUpload(
            pb.CreateMediaUploadRequest(kind=pb.MEDIA_KIND_STICKER, mime_type="image/webp", size_bytes=200_000),
            metadata=OPERATOR,
        )
    except grpc.aio.AioRpcError as e:
        err = e
    assert err is not None and reason(err)[1] == ["size_bytes"]


async def test_streamed_send_totals_and_cancel_withdraws(env):
    stub, _, _, log_path, process = env
    tokens = ServiceTokens(process.settings, "bulk")
    service = (("authorization", f"Bearer {tokens.token()}"),)
    messages = [whatsapp_template(f"+9198123{i:05d}", PHONES[i % 2], key=f"bulkJobs/S1/{i}") for i in range(20)]
    messages.append(whatsapp_template("+91", PHONES[0]))  # refused: bad number
    last = None
    async for progress in stub.SendMessages(
        pb.SendMessagesRequest(messages=messages, progress_interval_ms=100), metadata=service
    ):
        last = progress
    t = last.totals
    assert (t.requested, t.accepted, t.refused, t.sent, t.pending) == (21, 20, 1, 20, 0)

    # Cancel mid-way: what was not handed off is withdrawn, never sent.
    messages = [whatsapp_template(f"+9197123{i:05d}", PHONES[i % 2], key=f"bulkJobs/S2/{i}") for i in range(40)]
    call = stub.SendMessages(pb.SendMessagesRequest(messages=messages, progress_interval_ms=50), metadata=service)
    async for progress in call:
        if progress.totals.sent >= 2:
            break
    call.cancel()
    await asyncio.sleep(1.0)
    async with stores_of(process.settings) as (outbound, _):
        store = outbound.messages
        states = [await store.get_by_key(f"bulkJobs/S2/{i}") for i in range(40)]
        withdrawn = [m for m in states if m.status.value == "WITHDRAWN"]
        assert len(withdrawn) >= 20
        await asyncio.sleep(1.0)
        refs = {c.ref for c in sandbox_log.read(log_path)}
        assert not any(m.callback_data in refs for m in withdrawn)
        assert all(m.status.value in ("SENT", "WITHDRAWN") for m in [await store.get(m.id) for m in states])
