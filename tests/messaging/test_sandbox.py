"""The sandbox as EUM Social and EUM SMS: the very same aiobotocore clients work against it (ids, validation
errors, throttling on request), it never deduplicates, it logs each accepted call in the contract's format,
and it delivers sent/delivered/read/failed events in batches to IngestEvents with a service token, retrying
with backoff while ingest is unavailable."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from localrun.sandbox import log as sandbox_log
from localrun.sandbox.events import EventSink
from runtime.auth import TokenVerifier
from runtime.settings import Settings
from tests.messaging.support import phone_ids, sandbox_here
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

PHONE = phone_ids(1)[0]


def meta_text(to: str, ref: str = "", **extra) -> bytes:
    body = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}, **extra}
    if ref:
        body["biz_opaque_callback_data"] = ref
    return json.dumps(body).encode()


@pytest.fixture
async def clients():
    session = get_session()
    made = []

    async def make(service: str, url: str):
        ctx = session.create_client(
            service,
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="t",
            aws_secret_access_key="t",
            config=AioConfig(retries={"mode": "standard", "total_max_attempts": 1}),  # see each answer as it is
        )
        client = await ctx.__aenter__()
        made.append(ctx)
        return client

    yield make
    for ctx in made:
        await ctx.__aexit__(None, None, None)


async def test_wire_protocols_errors_and_the_log(tmp_path, clients):
    log_path = tmp_path / "log.jsonl"
    async with sandbox_here(log_path) as (url, sandbox):
        social = await clients("socialmessaging", url)
        sms = await clients("pinpoint-sms-voice-v2", url)
        first = await social.send_whatsapp_message(
            originationPhoneNumberId=PHONE, message=meta_text("+919812345678", "M1|k"), metaApiVersion="v20.0"
        )
        again = await social.send_whatsapp_message(
            originationPhoneNumberId=PHONE, message=meta_text("+919812345678", "M1|k"), metaApiVersion="v20.0"
        )
        assert first["messageId"].startswith("wamid.") and again["messageId"] != first["messageId"]  # no dedup

        with pytest.raises(social.exceptions.ValidationException):
            await social.send_whatsapp_message(
                originationPhoneNumberId="phone-number-id-nothex", message=meta_text("+91981"), metaApiVersion="v20.0"
            )
        with pytest.raises(social.exceptions.ValidationException):
            await social.send_whatsapp_message(
                originationPhoneNumberId=PHONE, message=b'{"messaging_product": "whatsapp"}', metaApiVersion="v20.0"
            )
        with pytest.raises(social.exceptions.ValidationException):
            await social.send_whatsapp_message(
                originationPhoneNumberId=PHONE, message=meta_text("+919812345678", "x" * 513), metaApiVersion="v20.0"
            )
        sandbox.config.throttle_next = 1
        with pytest.raises(social.exceptions.ThrottledRequestException):
            await social.send_whatsapp_message(
                originationPhoneNumberId=PHONE, message=meta_text("+919812345678"), metaApiVersion="v20.0"
            )
        media = await social.post_whatsapp_message_media(
            originationPhoneNumberId=PHONE, sourceS3File={"bucketName": "bucket", "key": "a/b.jpg"}
        )
        with pytest.raises(social.exceptions.InvalidParametersException):
            await social.post_whatsapp_message_media(originationPhoneNumberId=PHONE)
        got = await social.get_whatsapp_message_media(
            mediaId=media["mediaId"], originationPhoneNumberId=PHONE, metadataOnly=True
        )
        assert got["mimeType"] == "image/jpeg"
        sent = await sms.send_text_message(
            DestinationPhoneNumber="+919812345678",
            OriginationIdentity="pool-1",
            MessageBody="hi",
            Context={"ref": "S1"},
        )
        with pytest.raises(sms.exceptions.ValidationException):
            await sms.send_text_message(DestinationPhoneNumber="12", OriginationIdentity="pool-1", MessageBody="hi")
        templates = await social.list_whatsapp_message_templates(id="waba-" + "0" * 32, maxResults=2)
        assert len(templates["templates"]) == 2 and templates["nextToken"]

    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert all(list(line) == ["t_ns", "channel", "origin", "to", "id", "ref"] for line in lines)
    assert [(line["channel"], line["ref"]) for line in lines] == [
        ("WHATSAPP", "M1|k"),
        ("WHATSAPP", "M1|k"),
        ("MEDIA_POST", "s3://bucket/a/b.jpg"),
        ("MEDIA_GET", ""),
        ("SMS", "S1"),
    ]
    assert lines[0]["id"] == first["messageId"] and lines[4]["id"] == sent["MessageId"]
    assert lines[0]["t_ns"] <= lines[1]["t_ns"]
    report = sandbox_log.report(sandbox_log.read(log_path))
    assert report.duplicate_refs == ["M1|k"] and report.counts["WHATSAPP"] == 2


class Ingest(pb_grpc.MessagingServiceServicer):
    """A stand-in IngestEvents: unavailable for the first calls, then takes events, checking the token."""

    def __init__(self, verifier: TokenVerifier, fail_first: int):
        self.verifier = verifier
        self.fail_first = fail_first
        self.calls: list[list[pb.InboundEvent]] = []
        self.subjects: set[str] = set()

    async def IngestEvents(self, request, context):
        token = dict(context.invocation_metadata())["authorization"].removeprefix("Bearer ")
        self.subjects.add((await self.verifier.verify(token)).subject)
        if self.fail_first > 0:
            self.fail_first -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "not yet")
        self.calls.append(list(request.events))
        return pb.IngestEventsResponse()


async def test_status_events_in_batches_with_retry(tmp_path, clients):
    settings = Settings()
    ingest = Ingest(TokenVerifier(settings), fail_first=2)
    server = grpc.aio.server()
    pb_grpc.add_MessagingServiceServicer_to_server(ingest, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with sandbox_here(
            tmp_path / "log.jsonl",
            f"127.0.0.1:{port}",
            sent_after=0.0,
            delivered_after=0.05,
            read_after=0.1,
            ingest_interval=0.05,
            fail_recipients={"+919800000002": "131026"},
        ) as (url, _):
            social = await clients("socialmessaging", url)
            for i, to in enumerate(["+919800000001", "+919800000002"]):
                await social.send_whatsapp_message(
                    originationPhoneNumberId=PHONE, message=meta_text(to, f"M{i}"), metaApiVersion="v20.0"
                )
            for _ in range(200):
                if sum(len(c) for c in ingest.calls) >= 5:
                    break
                await asyncio.sleep(0.05)
    finally:
        await server.stop(0)
    events = [e for call in ingest.calls for e in call]
    assert ingest.subjects == {"service:gateway"}  # the sandbox delivers as the gateway's SNS endpoint does
    assert len(ingest.calls) < len(events)  # batched
    seen = []
    for e in events:
        body = json.loads(e.payload)
        assert body["messageId"] == e.sns_message_id and e.source == "sandbox"
        assert body["context"]["MetaPhoneNumberIds"][0]["arn"].endswith("phone-number-id/" + PHONE[-32:])
        entry = json.loads(body["whatsAppWebhookEntry"])
        status = entry["changes"][0]["value"]["statuses"][0]
        seen.append((status["biz_opaque_callback_data"], status["status"], status.get("errors", [{}])[0].get("code")))
    assert sorted(seen) == [
        ("M0", "delivered", None),
        ("M0", "read", None),
        ("M0", "sent", None),
        ("M1", "failed", 131026),
        ("M1", "sent", None),
    ]


async def test_a_sink_keeps_events_while_ingest_is_down():
    sink = EventSink(Settings(messaging_address="127.0.0.1:9"), batch=10, interval=0.01)
    sink.schedule(0.0, {"messageId": "e1"})
    task = asyncio.create_task(sink.run())
    await asyncio.sleep(0.8)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert sink.pending() == 1 and sink.delivered == 0  # kept for the next try, not dropped


def test_the_log_read_while_a_line_is_being_written_takes_the_complete_lines(tmp_path):
    """CI caught a reader mid-append (the file grows page by page): the complete lines are read, the half line
    waits for the next read, and a broken line before the last newline still fails loudly."""
    path = tmp_path / "sent.jsonl"
    first = sandbox_log.Call(1, "WHATSAPP", PHONE, "+919800000001", "wamid.1", "job/a/1")
    second = sandbox_log.Call(2, "WHATSAPP", PHONE, "+919800000002", "wamid.2", "job/a/2").line()
    path.write_bytes(first.line() + second[:58])
    assert sandbox_log.read(path) == [first]

    path.write_bytes(first.line() + second)
    assert [c.t_ns for c in sandbox_log.read(path)] == [1, 2]

    path.write_bytes(second[:58] + b"\n" + first.line())
    with pytest.raises(json.JSONDecodeError):
        sandbox_log.read(path)
