"""`POST /v1/events/sns`: the SNS HTTPS subscription carrying the WhatsApp events (docs/DESIGN.md "Inbound events").

Exempt from user authentication, not from verification: every message is verified before anything else is
done with it, and refused with 403 (changing nothing) unless
- its Type is one SNS sends and its signed fields are all there;
- its TopicArn is on the allow-list (WECARE_SNS_TOPIC_ARNS: full ARNs, since SNS signs every account's topics
  with the same certificate);
- it is no older than WECARE_SNS_MAX_AGE_SECONDS (default one hour), nor from the future;
- its SigningCertURL (and a confirmation's SubscribeURL) is https on a host `sns.<region>.amazonaws.com` or
  `.amazonaws.com.cn`, nothing else (no user info, no other port);
- its Signature verifies: SignatureVersion 1 (SHA1withRSA) or 2 (SHA256withRSA) over the canonical string of
  its type, with the certificate from that URL (fetched only over HTTPS, cached; the source is injectable).
Then: a Notification goes to messaging's IngestEvents with the gateway's service identity (5xx when messaging
cannot take it, so SNS retries and finally dead-letters it to whatsapp-inbound-dlq); a SubscriptionConfirmation
is confirmed by a GET of its SubscribeURL; an UnsubscribeConfirmation is noted. The body is capped
(WECARE_SNS_MAX_BODY_BYTES, 413 past it)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import grpc
from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from runtime.auth import ServiceTokens
from runtime.clients import service_channel
from runtime.names import timestamp
from runtime.settings import Settings
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc

log = logging.getLogger("wecare.gateway.sns")

ROUTE = "/v1/events/sns"
SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
OPTIONAL_FIELDS = frozenset({"Subject"})
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
FUTURE_SKEW_SECONDS = 300.0
INGEST_TIMEOUT = 20.0  # under SNS's own request timeout, so a slow messaging is a retry, not a hang
RETRY_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


class Refused(Exception):
    """The message is not a verified SNS message for us: 403, nothing done. `str()` says why (for the log)."""


def sns_url(url: Any, what: str) -> str:
    """The URL if it is https on an SNS host; Refused otherwise."""
    if not isinstance(url, str):
        raise Refused(f"{what} is missing")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(f"{what} is not a URL") from None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or parts.username or parts.password or port not in (None, 443):
        raise Refused(f"{what} must be plain https")
    if not SNS_HOST.match(host) or parts.netloc.lower() not in (host, f"{host}:443"):
        raise Refused(f"{what} host {host!r} is not sns.<region>.amazonaws.com")
    return url


def canonical(message: dict[str, Any]) -> bytes:
    """The string SNS signs: `Name\\nvalue\\n` for the type's fields in order (an absent Subject is left out)."""
    out = []
    for name in SIGNED_FIELDS[message["Type"]]:
        if name in message:
            out.append(f"{name}\n{message[name]}\n")
    return "".join(out).encode()


class CertificateSource(Protocol):
    async def certificate(self, url: str) -> x509.Certificate:
        """The signing certificate at an SNS URL (already checked by the caller); Refused when unusable."""
        ...


Fetch = Callable[[str], Awaitable[bytes]]


async def https_get(url: str) -> bytes:
    """GET over HTTPS with the system's trust store, no redirects, a short timeout."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(sns_url(url, "the URL"), allow_redirects=False) as response:
            response.raise_for_status()
            return await response.read()


class HttpsCertificates:
    """Signing certificates fetched over HTTPS from SNS hosts only, cached by URL (SNS rotates them rarely)."""

    def __init__(self, fetch: Fetch = https_get, size: int = 32, clock: Callable[[], float] = time.time):
        self._fetch = fetch
        self._size = size
        self._clock = clock
        self._cache: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def certificate(self, url: str) -> x509.Certificate:
        sns_url(url, "SigningCertURL")  # the host rule holds here too, whoever calls
        cert = self._cache.get(url)
        if cert is None:
            async with self._locks.setdefault(url, asyncio.Lock()):
                cert = self._cache.get(url)
                if cert is None:
                    cert = await self._load(url)
                    self._cache[url] = cert
                    while len(self._cache) > self._size:
                        self._cache.popitem(last=False)
            self._locks.pop(url, None)
        self._cache.move_to_end(url)
        now = self._clock()
        if not cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp():
            raise Refused("the signing certificate is not valid now")
        return cert

    async def _load(self, url: str) -> x509.Certificate:
        try:
            pem = await self._fetch(url)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Refused(f"the signing certificate could not be fetched: {exc}") from None
        try:
            return x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise Refused("the signing certificate is not a PEM certificate") from None


class SnsVerifier:
    def __init__(self, settings: Settings, certificates: CertificateSource, clock: Callable[[], float] = time.time):
        self._topics = frozenset(settings.sns_topic_arns)
        self._max_age = settings.sns_max_age_seconds
        self._certificates = certificates
        self._clock = clock

    async def verify(self, message: Any) -> dict[str, Any]:
        """The message if SNS sent it to us, now; Refused otherwise."""
        if not isinstance(message, dict):
            raise Refused("not an SNS message")
        kind = message.get("Type")
        if kind not in SIGNED_FIELDS:
            raise Refused(f"unknown message type {kind!r}")
        for name in (*SIGNED_FIELDS[kind], "Signature", "SignatureVersion", "SigningCertURL"):
            if name in OPTIONAL_FIELDS and name not in message:
                continue
            if not isinstance(message.get(name), str):
                raise Refused(f"{name} is missing")
        if message["TopicArn"] not in self._topics:
            raise Refused(f"topic {message['TopicArn']!r} is not allowed")
        algorithm = HASHES.get(message["SignatureVersion"])
        if algorithm is None:
            raise Refused(f"SignatureVersion {message['SignatureVersion']!r} is not 1 or 2")
        self._check_time(message["Timestamp"])
        cert_url = sns_url(message["SigningCertURL"], "SigningCertURL")
        if kind != "Notification":
            sns_url(message["SubscribeURL"], "SubscribeURL")
        try:
            signature = base64.b64decode(message["Signature"], validate=True)
        except (binascii.Error, ValueError):
            raise Refused("the Signature is not base64") from None
        key = (await self._certificates.certificate(cert_url)).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Refused("the signing certificate has no RSA key")
        try:
            key.verify(signature, canonical(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise Refused("the signature does not verify") from None
        return message

    def _check_time(self, stamp: str) -> None:
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            raise Refused(f"Timestamp {stamp!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            raise Refused(f"Timestamp {stamp!r} has no time zone")
        at = parsed.timestamp()
        age = self._clock() - at
        if age > self._max_age:
            raise Refused(f"the message is {age:.0f}s old (at most {self._max_age:g}s)")
        if age < -FUTURE_SKEW_SECONDS:
            raise Refused("the message is from the future")


Ingest = Callable[[pb.IngestEventsRequest], Awaitable[pb.IngestEventsResponse]]


class SnsEndpoint:
    def __init__(self, settings: Settings, verifier: SnsVerifier, ingest: Ingest, confirm: Fetch = https_get):
        self._max_body = settings.sns_max_body_bytes
        self._verifier = verifier
        self._ingest = ingest
        self._confirm = confirm
        self._closers: list[Callable[[], Awaitable[Any]]] = []

    @classmethod
    def for_settings(cls, settings: Settings, certificates: CertificateSource | None = None) -> SnsEndpoint:
        """Production wiring: certificates over HTTPS (unless given), IngestEvents on messaging with the gateway's
        service identity."""
        tokens = ServiceTokens(settings, "gateway")
        channel = service_channel(settings.messaging_address, tokens.token)
        stub = messaging_service_pb2_grpc.MessagingServiceStub(channel)

        async def ingest(request: pb.IngestEventsRequest) -> pb.IngestEventsResponse:
            return await stub.IngestEvents(request, timeout=INGEST_TIMEOUT)

        if not settings.sns_topic_arns:
            log.warning("no SNS topic allowed (WECARE_SNS_TOPIC_ARNS): every SNS message will be refused")
        endpoint = cls(settings, SnsVerifier(settings, certificates or HttpsCertificates()), ingest)
        endpoint._closers.append(channel.close)
        return endpoint

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(ROUTE, self.handle)]

    async def close(self) -> None:
        for close in self._closers:
            await close()

    async def handle(self, request: web.Request) -> web.Response:
        body = await self._read(request)
        if body is None:
            return _answer(413, f"the body is over the limit of {self._max_body} bytes")
        try:
            message = json.loads(body)
        except ValueError:
            log.warning("sns refused", extra={"why": "not JSON"})
            return _answer(403, "not a verified SNS message")
        try:
            message = await self._verifier.verify(message)
            header = request.headers.get("x-amz-sns-message-type")
            if header is not None and header != message["Type"]:
                raise Refused("x-amz-sns-message-type does not match the message")
        except Refused as exc:
            log.warning("sns refused", extra={"why": str(exc), "sns_message_id": _id_of(message)})
            return _answer(403, "not a verified SNS message")
        kind = message["Type"]
        if kind == "Notification":
            return await self._notification(message)
        if kind == "SubscriptionConfirmation":
            try:
                await self._confirm(message["SubscribeURL"])
            except Exception as exc:  # SNS sends the confirmation again; nothing is lost
                log.error("subscription not confirmed", extra={"topic": message["TopicArn"], "error": str(exc)})
                return _answer(502, "the subscription could not be confirmed")
            log.info("subscription confirmed", extra={"topic": message["TopicArn"]})
            return _answer(200, "confirmed")
        log.warning("unsubscribed from the topic", extra={"topic": message["TopicArn"]})
        return _answer(200, "noted")

    async def _read(self, request: web.Request) -> bytes | None:
        if request.content_length is not None and request.content_length > self._max_body:
            return None
        chunks, size = [], 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > self._max_body:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _notification(self, message: dict[str, Any]) -> web.Response:
        published = datetime.fromisoformat(message["Timestamp"]).timestamp()
        request = pb.IngestEventsRequest(
            events=[
                pb.InboundEvent(
                    sns_message_id=message["MessageId"],
                    payload=message["Message"],
                    publish_time=timestamp(published),
                    source="sns",
                )
            ]
        )
        try:
            reply = await self._ingest(request)
        except grpc.aio.AioRpcError as exc:
            status = 503 if exc.code() in RETRY_CODES else 500
            log.error(
                "ingest failed; SNS will retry",
                extra={"sns_message_id": message["MessageId"], "code": exc.code().name, "detail": exc.details()},
            )
            return _answer(status, "messaging could not take the event; retry")
        result = reply.results[0] if reply.results else None
        outcome = pb.IngestOutcome.Name(result.outcome) if result else "INGEST_OUTCOME_UNSPECIFIED"
        if result is not None and result.outcome == pb.INGEST_OUTCOME_REJECTED:
            log.error("event rejected", extra={"sns_message_id": message["MessageId"], "why": result.detail})
        return _answer(200, outcome)


def _id_of(message: Any) -> str:
    return str(message.get("MessageId", ""))[:100] if isinstance(message, dict) else ""


def _answer(status: int, text: str) -> web.Response:
    return web.json_response({"status": text}, status=status)
