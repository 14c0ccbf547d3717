"""The SNS endpoint (gateway/sns.py) on the gateway's extra-routes seam: every message verified before anything
else (signature v1 and v2, topic allow-list, age, the certificate URL's host rule, the certificate cache), the
body cap, subscription confirmation, and what SNS gets back when messaging cannot take an event. Messaging is a
recording stand-in here; tests/messaging/test_inbound_sns.py runs the whole gateway -> messaging -> contacts path."""

from __future__ import annotations

import json
import time

import grpc
import pytest

from gateway.app import Gateway
from gateway.sns import ROUTE, Refused, SnsEndpoint, SnsVerifier, sns_url
from runtime.auth import TokenVerifier
from tests.support.sns import CERT_URL, TOPIC, TestSigner, iso, load, make_certificate, restamp
from wecare.messaging.v1 import messaging_service_pb2 as pb


class Messaging:
    """IngestEvents as the endpoint calls it: records requests, answers APPLIED, or fails with `fail_with`."""

    def __init__(self):
        self.requests: list[pb.IngestEventsRequest] = []
        self.fail_with: grpc.StatusCode | None = None

    async def ingest(self, request: pb.IngestEventsRequest) -> pb.IngestEventsResponse:
        if self.fail_with is not None:
            raise grpc.aio.AioRpcError(self.fail_with, grpc.aio.Metadata(), grpc.aio.Metadata(), "down")
        self.requests.append(request)
        return pb.IngestEventsResponse(
            results=[
                pb.IngestResult(sns_message_id=e.sns_message_id, outcome=pb.INGEST_OUTCOME_APPLIED)
                for e in request.events
            ]
        )


class Confirmations:
    def __init__(self):
        self.urls: list[str] = []

    async def get(self, url: str) -> bytes:
        self.urls.append(url)
        return b"<ConfirmSubscriptionResponse/>"


@pytest.fixture
def signer() -> TestSigner:
    return TestSigner()


@pytest.fixture
async def sns(settings_for, make_client, signer):
    settings = settings_for("127.0.0.1:1", sns_topic_arns=(TOPIC,), sns_max_body_bytes=20_000)
    messaging, confirmations = Messaging(), Confirmations()
    endpoint = SnsEndpoint(
        settings, SnsVerifier(settings, signer.certificates()), messaging.ingest, confirm=confirmations.get
    )
    client = await make_client(Gateway(settings, TokenVerifier(settings), extra_routes=endpoint.routes()))

    async def post(message, headers=None):
        body = message if isinstance(message, bytes | str) else json.dumps(message)
        response = await client.post(ROUTE, data=body, headers={"Content-Type": "text/plain", **(headers or {})})
        return response.status

    post.messaging, post.confirmations, post.signer = messaging, confirmations, signer
    return post


@pytest.mark.parametrize("version", ["1", "2"])
async def test_a_signed_notification_is_ingested_with_the_service_identity_path(sns, version):
    message = sns.signer.sign(restamp(load("inbound-text")), version)
    assert await sns(message, {"x-amz-sns-message-type": "Notification"}) == 200
    [request] = sns.messaging.requests
    [event] = request.events
    assert event.sns_message_id == message["MessageId"]
    assert event.payload == message["Message"]
    assert event.source == "sns"
    assert abs(event.publish_time.seconds - time.time()) < 5


async def test_forged_unsigned_wrong_topic_stale_and_bad_versions_get_403_and_change_nothing(sns):
    good = restamp(load("status-delivered"))
    forged = sns.signer.sign(good)
    forged["Message"] = forged["Message"].replace("delivered", "read")
    unsigned = dict(good)
    unsigned.pop("Signature")
    bad_base64 = dict(sns.signer.sign(good), Signature="not base64!")
    other_key, _ = make_certificate()
    signed_by_another_key = sns.signer.sign(good, key=other_key)
    wrong_topic = sns.signer.sign(dict(good, TopicArn="arn:aws:sns:us-east-1:111111111111:base-wecare-digital"))
    stale = sns.signer.sign(restamp(good, at=time.time() - 3601))
    future = sns.signer.sign(restamp(good, at=time.time() + 3600))
    version_3 = sns.signer.sign(good, "3")
    no_zone = sns.signer.sign(dict(good, Timestamp=iso(time.time()).rstrip("Z")))
    for message in (
        forged,
        unsigned,
        bad_base64,
        signed_by_another_key,
        wrong_topic,
        stale,
        future,
        version_3,
        no_zone,
        {"Type": "Notification"},
        [1, 2],
        "not json at all",
    ):
        assert await sns(message) == 403, message
    # A genuine message that says it is something else in the header.
    assert await sns(sns.signer.sign(good), {"x-amz-sns-message-type": "SubscriptionConfirmation"}) == 403
    assert sns.messaging.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/SimpleNotificationService-0.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-0.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
        "https://attacker@sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-0.pem",
        "https://s3.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
        "file:///etc/passwd",
    ],
)
async def test_hostile_certificate_urls_get_403_without_a_fetch(sns, url):
    message = sns.signer.sign(dict(restamp(load("inbound-text")), SigningCertURL=url))
    assert await sns(message) == 403
    assert sns.signer.fetched == []
    assert sns.messaging.requests == []


def test_the_host_rule():
    assert sns_url("https://sns.eu-west-1.amazonaws.com/x.pem", "u")
    assert sns_url("https://sns.cn-north-1.amazonaws.com.cn/x.pem", "u")
    assert sns_url("https://sns.us-east-1.amazonaws.com:443/x.pem", "u")
    for bad in ("https://sns.amazonaws.com/x.pem", "https://sns.us-east-1.amazonaws.co/x", "https://[::1]/x", None):
        with pytest.raises(Refused):
            sns_url(bad, "u")


async def test_the_certificate_is_fetched_once_and_cached(sns):
    for name in ("inbound-text", "status-read", "call-terminate"):
        assert await sns(sns.signer.sign(restamp(load(name)))) == 200
    assert sns.signer.fetched == [CERT_URL]
    assert len(sns.messaging.requests) == 3


async def test_a_certificate_that_cannot_be_fetched_refuses(sns):
    other = CERT_URL.replace("4f2a9c7e1b3d5a8c", "1111111111111111")
    message = sns.signer.sign(dict(restamp(load("inbound-text")), SigningCertURL=other))
    assert await sns(message) == 403
    assert sns.signer.fetched == [other]


async def test_subscription_confirmation_is_confirmed_only_after_the_checks(sns):
    confirmation = restamp(load("subscription-confirmation"))
    assert await sns(sns.signer.sign(confirmation)) == 200
    assert sns.confirmations.urls == [confirmation["SubscribeURL"]]

    hostile = dict(confirmation, SubscribeURL="https://evil.example.com/?Action=ConfirmSubscription")
    assert await sns(sns.signer.sign(hostile)) == 403
    forged = sns.signer.sign(confirmation)
    forged["Token"] = "0" * 64
    assert await sns(forged) == 403
    stale = sns.signer.sign(restamp(confirmation, at=time.time() - 7200))
    assert await sns(stale) == 403
    assert sns.confirmations.urls == [confirmation["SubscribeURL"]]
    assert sns.messaging.requests == []


async def test_a_body_over_the_cap_is_413(sns):
    message = sns.signer.sign(restamp(load("inbound-text")))
    message["Padding"] = "x" * 25_000
    assert await sns(message) == 413
    assert sns.messaging.requests == []


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 503),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.INVALID_ARGUMENT, 500),
    ],
)
async def test_messaging_that_cannot_take_the_event_gives_5xx_so_sns_retries(sns, code, status):
    sns.messaging.fail_with = code
    assert await sns(sns.signer.sign(restamp(load("inbound-image")))) == status


async def test_no_allowed_topic_refuses_everything(settings_for, make_client, signer):
    settings = settings_for("127.0.0.1:1")  # WECARE_SNS_TOPIC_ARNS unset
    messaging = Messaging()
    endpoint = SnsEndpoint(settings, SnsVerifier(settings, signer.certificates()), messaging.ingest)
    client = await make_client(Gateway(settings, TokenVerifier(settings), extra_routes=endpoint.routes()))
    response = await client.post(ROUTE, data=json.dumps(signer.sign(restamp(load("inbound-text")))))
    assert response.status == 403
    assert messaging.requests == []
