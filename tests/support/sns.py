"""SNS messages for tests: the fixtures of tests/fixtures/sns (SNS notifications carrying EUM Social events),
re-stamped to now and signed by a test certificate of our own, which the verifier is pointed at through its
injectable fetch (the host rule and the cache stay the production code's)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from gateway.sns import HttpsCertificates, canonical

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sns"
TOPIC = "arn:aws:sns:us-east-1:412905873316:base-wecare-digital"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-4f2a9c7e1b3d5a8c0e6f2b4d7a9c1e3f.pem"
META_PHONE = "118364502977451"
PHONE_ID = "phone-number-id-c3a8f1d26e7b4095a1d4e8b7f2c60a19"  # the fixtures' phone, as its ARN maps it
CUSTOMER = "+919845012345"
WA_TIME_FIELDS = ("timestamp", "start_time", "end_time")


def make_certificate(common_name: str = "sns.amazonaws.com") -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


class TestSigner:
    """Signs SNS messages as SNS would, with a key whose certificate is served at CERT_URL to the verifier."""

    __test__ = False

    def __init__(self):
        self.key, self.cert = make_certificate()
        self.fetched: list[str] = []

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    async def fetch(self, url: str) -> bytes:
        """Stands in for the HTTPS GET: serves our certificate at CERT_URL (and counts every fetch)."""
        self.fetched.append(url)
        if url != CERT_URL:
            raise OSError(f"no certificate at {url}")
        return self.pem()

    def certificates(self) -> HttpsCertificates:
        return HttpsCertificates(fetch=self.fetch)

    def sign(self, message: dict[str, Any], version: str = "2", key: rsa.RSAPrivateKey | None = None) -> dict:
        signed = dict(message, SignatureVersion=version)
        signed.setdefault("SigningCertURL", CERT_URL)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(canonical(signed), padding.PKCS1v15(), algorithm)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def restamp(message: dict[str, Any], *, at: float | None = None, wa_at: float | None = None) -> dict[str, Any]:
    """The notification published at `at` (default now); with `wa_at`, the WhatsApp times inside its event
    shifted so that its (first) event happened then (to open a 24-hour window, say)."""
    out = copy.deepcopy(message)
    out["Timestamp"] = iso(time.time() if at is None else at)
    if wa_at is not None and out.get("Type") == "Notification":
        event = json.loads(out["Message"])
        entry = json.loads(event["whatsAppWebhookEntry"])
        items = [
            item
            for change in entry["changes"]
            for kind in ("messages", "statuses", "calls")
            for item in change["value"].get(kind, [])
        ]
        delta = wa_at - float(items[0]["timestamp"])
        for item in items:
            for name in WA_TIME_FIELDS:
                if name in item:
                    item[name] = str(int(float(item[name]) + delta))
        event["whatsAppWebhookEntry"] = json.dumps(entry)
        out["Message"] = json.dumps(event)
    return out


def with_event(message: dict[str, Any], change: Any) -> dict[str, Any]:
    """A copy whose EUM event's webhook entry is changed by `change(entry)` (and a fresh MessageId)."""
    out = copy.deepcopy(message)
    event = json.loads(out["Message"])
    entry = json.loads(event["whatsAppWebhookEntry"])
    change(entry)
    event["whatsAppWebhookEntry"] = json.dumps(entry)
    out["Message"] = json.dumps(event)
    return out
