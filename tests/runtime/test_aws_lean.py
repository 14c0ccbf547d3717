"""runtime/aws_lean.py: a lean call is the SDK's own request, made without the SDK's per-call work.

- On the wire: the same call made through the SDK's client and the lean way, with the clock, the credentials and
  the invocation id frozen, arrives at a recording server as the same method, path, headers and body, byte for
  byte (the signature included); with a session token too, and for both protocols (rest-json: EUM Social;
  json: EUM SMS). Against AWS's own endpoints, the request botocore would send, seen just before it goes.
- The signature is botocore's for any secret and any day (the derived key it keeps follows a rotation and the
  date), and credentials are asked for at every call (a refreshable provider refreshes as for the SDK).
- Answers and failures come back as the SDK's: the client's own exception classes with the same code, message and
  status from the sandbox's errors; a refused connection, a silent server and a dropped one as botocore's
  exceptions (so the dispatcher classifies them alike: retry, in doubt), within the client's timeouts.
- What it cannot make exactly is refused when prepared (SES SendEmail: its endpoint rules read a parameter; a
  proxy), and every lean call is in the AWS call log."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
import uuid

import botocore.auth
import pytest
from aiohttp import web
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from localrun.procs import free_port
from runtime import aws_lean
from runtime.aws import AwsClients
from runtime.aws_lean import SigV4, Unsupported
from runtime.settings import Settings
from services.messaging.adapters.providers import classify
from tests.messaging.support import phone_ids, sandbox_here

PHONE = phone_ids(1)[0]
FROZEN = datetime.datetime(2026, 12, 3, 10, 25, 24, tzinfo=datetime.UTC)
INVOCATION = uuid.UUID("6f1c3a52-9d4e-4b7a-8c21-0e5d9f3b7a10")
WHATSAPP = (
    "socialmessaging",
    "SendWhatsAppMessage",
    "send_whatsapp_message",
    {
        "originationPhoneNumberId": PHONE,
        "message": json.dumps({"messaging_product": "whatsapp", "to": "+919812345678", "text": {"body": "नमस्ते"}}),
        "metaApiVersion": "v20.0",
    },
)
SMS = (
    "pinpoint-sms-voice-v2",
    "SendTextMessage",
    "send_text_message",
    {
        "DestinationPhoneNumber": "+919812345678",
        "OriginationIdentity": "pool-1",
        "MessageBody": "Your code is 1234 ü",
        "MessageType": "TRANSACTIONAL",
        "Context": {"ref": "01J00000000000000000000000|k"},
    },
)


@pytest.fixture
def frozen(monkeypatch):
    """botocore's clock and the invocation id held still; the lean call's clock is frozen per operation."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FROZEN)
    monkeypatch.setattr(uuid, "uuid4", lambda: INVOCATION)  # botocore's
    monkeypatch.setattr(aws_lean, "invocation_id", lambda: str(INVOCATION))


class Recorder:
    """A server that records each request as it arrives (method, path, headers, body) and answers 200."""

    def __init__(self):
        self.seen: list[tuple[str, str, list[tuple[str, str]], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        headers = [(k.decode().lower(), v.decode()) for k, v in request.raw_headers]
        self.seen.append((request.method, request.path_qs, sorted(headers), await request.read()))
        return web.json_response({"messageId": "wamid.X", "MessageId": "sms-1"})


@pytest.fixture
async def recorder():
    r = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", r.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", r
    await runner.cleanup()


async def lean_of(aws: AwsClients, service: str, operation: str, endpoint: str | None):
    op = await aws.lean(service, operation, endpoint, read_timeout=2.0)
    op._wall = FROZEN.timestamp  # the frozen clock, for this operation alone
    return op


@pytest.mark.parametrize("call", [WHATSAPP, SMS], ids=["rest-json", "json"])
@pytest.mark.parametrize("token", ["", "FwoGZXIvYXdzEB8aDO5Tok/en+with=odd chars"], ids=["static", "session"])
async def test_on_the_wire_the_lean_request_is_the_sdks(recorder, frozen, monkeypatch, call, token):
    url, seen = recorder
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    service, operation, method, params = call
    aws = AwsClients(Settings(), "messaging")
    try:
        sdk = await aws.client(service, url, max_attempts=1, read_timeout=2)
        assert await getattr(sdk, method)(**params)
        lean = await lean_of(aws, service, operation, url)
        assert await lean.call(params) == {"messageId": "wamid.X", "MessageId": "sms-1"}
    finally:
        await aws.close()
    (sdk_method, sdk_path, sdk_headers, sdk_body), (lean_method, lean_path, lean_headers, lean_body) = seen.seen
    assert (lean_method, lean_path, lean_body) == (sdk_method, sdk_path, sdk_body)
    assert lean_headers == sdk_headers
    names = dict(lean_headers)
    assert names["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/20261203/us-east-1/")
    assert ("x-amz-security-token" in names) == bool(token)


@pytest.mark.parametrize("call", [WHATSAPP, SMS], ids=["rest-json", "json"])
@pytest.mark.parametrize("region", ["us-east-1", "ap-south-1"])
async def test_against_aws_the_request_is_the_one_botocore_would_send(frozen, call, region):
    service, operation, method, params = call
    captured = []

    class Seen(Exception):
        pass

    def grab(request, **_):
        captured.append(request)
        raise Seen

    aws = AwsClients(Settings(region=region), "messaging")
    try:
        sdk = await aws.client(service, max_attempts=1, read_timeout=2)
        sdk.meta.events.register("before-send", grab)
        with pytest.raises(Seen):
            await getattr(sdk, method)(**params)
        lean = await lean_of(aws, service, operation, None)
        body, headers = lean.request(params, await (await aws._session.get_credentials()).get_frozen_credentials())
    finally:
        await aws.close()
    (request,) = captured
    assert lean.url == request.url and lean.url.startswith("https://") and region in lean.url
    assert body == request.body
    sdk_headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    # The HTTP layer adds these two to the SDK's request after this point (aiobotocore's session, aiohttp).
    assert headers.pop("Accept-Encoding") == "identity"
    assert headers.pop("Host") == request.url.split("/")[2]
    assert headers == sdk_headers


def test_the_signature_is_botocores_for_any_secret_and_any_day(monkeypatch):
    signer = SigV4(
        "ap-south-1",
        "social-messaging",
        "POST",
        "/v1/whatsapp/send",
        "example.com:8443",
        {"Content-Type": "application/json"},
    )
    body = b'{"a": "b"}'
    days = [FROZEN, FROZEN, FROZEN + datetime.timedelta(days=1), FROZEN + datetime.timedelta(days=1, seconds=3)]
    secrets = ["first-secret", "rotated-secret", "rotated-secret", "first-secret"]
    for when, secret in zip(days, secrets, strict=True):
        for token in (None, "tok"):
            monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda when=when: when)
            request = AWSRequest("POST", "https://example.com:8443/v1/whatsapp/send", data=body)
            request.headers["Content-Type"] = "application/json"
            botocore.auth.SigV4Auth(Credentials("AKID", secret, token), "social-messaging", "ap-south-1").add_auth(
                request
            )
            ours = signer.sign(body, when.strftime("%Y%m%dT%H%M%SZ"), "AKID", secret, token)
            assert ours["Authorization"] == request.headers["Authorization"], (when, secret, token)
            assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"]
            assert ours.get("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")


async def test_credentials_are_asked_for_at_every_call(recorder, monkeypatch):
    """A refreshable provider hands out new keys when it rotates: each call signs with what it is given then."""
    url, seen = recorder
    keys = iter([Credentials("KEY1", "s1"), Credentials("KEY2", "s2", "t2"), Credentials("KEY3", "s3")])

    class Rotating:
        async def get_frozen_credentials(self):
            return next(keys).get_frozen_credentials()

    aws = AwsClients(Settings(), "messaging")

    async def credentials():
        return Rotating()

    try:
        await aws.client("socialmessaging", url, max_attempts=1, read_timeout=2.0)  # made with the usual ones
        monkeypatch.setattr(aws._session, "get_credentials", credentials)
        op = await aws.lean("socialmessaging", "SendWhatsAppMessage", url, read_timeout=2.0)
        for _ in range(3):
            await op.call(WHATSAPP[3])
    finally:
        await aws.close()
    used = [dict(headers)["authorization"].split("Credential=")[1].split("/")[0] for _, _, headers, _ in seen.seen]
    assert used == ["KEY1", "KEY2", "KEY3"]
    assert [("x-amz-security-token" in dict(h)) for _, _, h, _ in seen.seen] == [False, True, False]


async def test_answers_and_errors_are_the_sdks(tmp_path):
    """The same calls through the SDK and the lean way against the sandbox: the same answer shape, and for each
    error the same exception class, code, message and status."""
    async with sandbox_here(tmp_path / "sent.jsonl") as (url, sandbox):
        aws = AwsClients(Settings(), "messaging")
        try:
            social = await aws.client("socialmessaging", url, max_attempts=1, read_timeout=2)
            sms = await aws.client("pinpoint-sms-voice-v2", url, max_attempts=1, read_timeout=2)
            lean_social = await aws.lean("socialmessaging", "SendWhatsAppMessage", url)
            lean_sms = await aws.lean("pinpoint-sms-voice-v2", "SendTextMessage", url)
            ok = WHATSAPP[3] | {
                "message": json.dumps(
                    {"messaging_product": "whatsapp", "to": "+919812345678", "type": "text", "text": {"body": "hi"}}
                )
            }
            assert (await lean_social.call(ok))["messageId"].startswith("wamid.")
            assert (await lean_sms.call(SMS[3]))["MessageId"]

            async def both(sdk_call, lean_call, params, configure=None):
                outcomes = []
                for call in (lambda: sdk_call(**params), lambda: lean_call(params)):
                    if configure:
                        sandbox.config.update(configure)
                    with pytest.raises(ClientError) as caught:
                        await call()
                    outcomes.append(caught.value)
                sdk_error, lean_error = outcomes
                assert type(lean_error) is type(sdk_error)
                assert lean_error.response["Error"] == {
                    k: sdk_error.response["Error"][k] for k in ("Code", "Message")
                }, (lean_error.response, sdk_error.response)
                status = lean_error.response["ResponseMetadata"]["HTTPStatusCode"]
                assert status == sdk_error.response["ResponseMetadata"]["HTTPStatusCode"]
                return lean_error

            bad_phone = ok | {"originationPhoneNumberId": "phone-number-id-nothex"}
            e = await both(social.send_whatsapp_message, lean_social.call, bad_phone)
            assert isinstance(e, social.exceptions.ValidationException) and classify(e).kind == "failed"
            e = await both(social.send_whatsapp_message, lean_social.call, ok, {"throttle_next": 1})
            assert isinstance(e, social.exceptions.ThrottledRequestException) and classify(e).kind == "throttled"
            e = await both(social.send_whatsapp_message, lean_social.call, ok, {"error_next": 1})
            assert isinstance(e, social.exceptions.InternalServiceException)
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
            assert classify(e).error.code == "InternalServiceException"  # retry or in doubt: classify()'s to say
            e = await both(sms.send_text_message, lean_sms.call, SMS[3] | {"DestinationPhoneNumber": "12"})
            assert isinstance(e, sms.exceptions.ValidationException) and classify(e).kind == "failed"
        finally:
            await aws.close()


async def silent_server(close_at_once: bool):
    """A TCP server that reads a request and never answers (or drops the connection at once)."""

    async def handle(reader, writer):
        await reader.read(65536)
        if close_at_once:
            writer.close()
            return
        await asyncio.sleep(30)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_connection_failures_are_botocores_within_the_clients_timeouts():
    aws = AwsClients(Settings(), "messaging")
    try:
        refused = await aws.lean("socialmessaging", "SendWhatsAppMessage", f"http://127.0.0.1:{free_port()}")
        with pytest.raises(EndpointConnectionError) as caught:
            await refused.call(WHATSAPP[3])
        assert classify(caught.value).kind == "retry"  # never reached it

        server, url = await silent_server(close_at_once=False)
        async with server:
            silent = await aws.lean("socialmessaging", "SendWhatsAppMessage", url, read_timeout=0.3)
            began = time.monotonic()
            with pytest.raises(ReadTimeoutError) as caught:
                await silent.call(WHATSAPP[3])
            assert time.monotonic() - began < 2.0
            assert classify(caught.value).kind == "in_doubt"  # it may have reached it

        server, url = await silent_server(close_at_once=True)
        async with server:
            dropped = await aws.lean("pinpoint-sms-voice-v2", "SendTextMessage", url)
            with pytest.raises(ConnectionClosedError) as caught:
                await dropped.call(SMS[3])
            assert classify(caught.value).kind == "in_doubt"
    finally:
        await aws.close()


async def test_what_it_cannot_make_exactly_is_refused(monkeypatch):
    aws = AwsClients(Settings(), "messaging")
    try:
        with pytest.raises(Unsupported, match="endpoint parameters"):
            await aws.lean("sesv2", "SendEmail", "http://127.0.0.1:1")
        with pytest.raises(Unsupported, match="a header, URI or query parameter"):
            await aws.lean("socialmessaging", "GetWhatsAppMessageTemplate", "http://127.0.0.1:1")
        monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with pytest.raises(Unsupported, match="a proxy"):
            await aws.lean("socialmessaging", "SendWhatsAppMessage", "http://sandbox.example:4599")
    finally:
        await aws.close()


async def test_every_lean_call_is_in_the_call_log(recorder, tmp_path):
    url, _ = recorder
    log = tmp_path / "calls.jsonl"
    aws = AwsClients(Settings(aws_call_log=str(log)), "messaging")
    try:
        op = await aws.lean("socialmessaging", "SendWhatsAppMessage", url)
        await op.call(WHATSAPP[3])
    finally:
        await aws.close()
    (line,) = [json.loads(x) for x in log.read_text().splitlines()]
    assert line["operation"] == "SendWhatsAppMessage" and line["owner"] == "messaging"
    assert line["params"] == {"originationPhoneNumberId": PHONE}  # resources only, never the message


def test_invocation_ids_are_uuid4s():
    made = {aws_lean.invocation_id() for _ in range(1000)}
    assert len(made) == 1000 and all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in made)


def test_the_encoder_refuses_what_it_would_not_encode_as_botocore():
    """The shapes the lean call takes, and one it must not (a timestamp, which botocore converts)."""
    import botocore.session

    session = botocore.session.get_session()
    for service, operation in (
        ("socialmessaging", "SendWhatsAppMessage"),
        ("pinpoint-sms-voice-v2", "SendTextMessage"),
    ):
        aws_lean._body_encoder(session.get_service_model(service).operation_model(operation))
    with pytest.raises(Unsupported, match="timestamp"):
        aws_lean._encoder(session.get_service_model("events").shape_for("PutEventsRequestEntry"), {})
