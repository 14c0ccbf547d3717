"""Service identities: which service is calling, proven so that one service's key cannot speak for another.

Each service that calls others holds its own Ed25519 private key (WECARE_SERVICE_KEY, a secret of that service
alone) and mints short-lived EdDSA JWTs naming itself: the `service` claim, and `sub` = `service:<name>`. Every
process holds every service's public keys (WECARE_SERVICE_PUBLIC_KEYS, `<service>=<key>` entries: not secret)
and checks a token only against the keys of the service it names, so a token signed with the gateway's key that
names bulk is refused. Which service may call which RPC is the access table of the protos (wecare.auth.v1.access
`services`, enforced by runtime.auth).

Why asymmetric keys: with one shared HMAC key (what this replaced) whoever can verify a token can also mint one,
so every pod held the power to be every service; with an HMAC key per service, every verifier would still hold
every caller's secret. With a key pair per service, verifying needs no secret at all, and a leaked gateway key
mints gateway tokens only, which the table lets ingest events and nothing else. Ed25519: 32-byte keys (one
line of base64url in a Secret or a ConfigMap), fast signatures, no parameters to choose wrong.

Rotation: a service may have several public keys at once; a token's `kid` (the fingerprint of its public key)
picks one. Publish the new public key, then give the service its new private key, then withdraw the old public
key (docs/RUNBOOK.md). A token lives service_token_ttl_seconds (300) and never more than MAX_TTL_SECONDS, so a
withdrawn key stops working within that.

In the local environment with no keys configured, each service's key pair is derived from its name, so tests
and a bare process work without set-up. Any other environment (dev, production) must publish real keys:
Settings.check refuses missing, malformed, well-known or weak ones there. `make run` generates real ones too
(localrun/keys.py)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

if TYPE_CHECKING:
    from runtime.settings import Settings

ISSUER = "wecare:service"
AUDIENCE = "wecare"
ALGORITHM = "EdDSA"
MAX_TTL_SECONDS = 3600  # a token claiming a longer life is refused, whoever signed it
NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")  # a service's name, as deploy/services.py names its process
KEY_SETTING = "WECARE_SERVICE_KEY"
PUBLIC_SETTING = "WECARE_SERVICE_PUBLIC_KEYS"
_LOCAL_SEED = b"wecare-local-only-service-key:"


class KeyRefused(ValueError):
    """A key setting that cannot be used, saying which and why."""


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise KeyRefused(f"{what} is not a base64url Ed25519 key of 32 bytes (python -m deploy.keys makes them)")
    return raw


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """The `kid` of tokens signed by the key's private half."""
    return _encode(hashlib.sha256(_raw_public(key)).digest()[:9])


def generate() -> tuple[str, str]:
    """A new (private, public) key pair as the settings hold them."""
    private = Ed25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    seed = private.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return _encode(seed), _encode(_raw_public(private.public_key()))


def private_key(text: str, what: str = KEY_SETTING) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_decode(text, what))


def public_text(private: str) -> str:
    """The public half, as WECARE_SERVICE_PUBLIC_KEYS lists it."""
    return _encode(_raw_public(private_key(private).public_key()))


def local_private(service: str) -> str:
    """The well-known key of a service in a local run without keys: never a deployment's (Settings.check)."""
    return _encode(hashlib.sha256(_LOCAL_SEED + service.encode()).digest())


def weak(private: str) -> bool:
    """A seed nobody drew at random (32 random bytes have about 31 distinct values)."""
    return len(set(_decode(private, KEY_SETTING))) < 16


def public_keys(entries: tuple[str, ...]) -> dict[str, dict[str, Ed25519PublicKey]]:
    """WECARE_SERVICE_PUBLIC_KEYS as service -> {kid: key}; several keys a service while one is rotated."""
    keys: dict[str, dict[str, Ed25519PublicKey]] = {}
    for i, entry in enumerate(entries):
        service, sep, text = entry.partition("=")
        service = service.strip()
        if not sep or not NAME.match(service):
            raise KeyRefused(f"{PUBLIC_SETTING}[{i}] is not <service>=<public key> ({service!r})")
        key = Ed25519PublicKey.from_public_bytes(_decode(text, f"{PUBLIC_SETTING}[{i}] ({service})"))
        keys.setdefault(service, {})[fingerprint(key)] = key
    return keys


def local_public_keys(entries: tuple[str, ...]) -> list[str]:
    """The entries that are a local run's well-known key of their service."""
    found = []
    for entry in entries:
        service, _, text = entry.partition("=")
        if text.strip() == public_text(local_private(service.strip())):
            found.append(service.strip())
    return found


def check(settings: Settings) -> list[str]:
    """What is wrong with the key settings (Settings.check): malformed anywhere; a private key whose public half
    is not published; missing, well-known or weak outside the local environment."""
    problems = []
    try:
        published = public_keys(settings.service_public_keys)
    except KeyRefused as exc:
        return [str(exc)]
    if settings.service_key:
        try:
            kid = fingerprint(private_key(settings.service_key).public_key())
        except KeyRefused as exc:
            return [str(exc)]
        if not any(kid in keys for keys in published.values()):
            problems.append(f"{KEY_SETTING}'s public half is not in {PUBLIC_SETTING}: publish it there first")
    if settings.environment != "local":
        if not published:
            problems.append(f"{PUBLIC_SETTING} must list every service's public key (python -m deploy.keys)")
        if local := local_public_keys(settings.service_public_keys):
            problems.append(f"{PUBLIC_SETTING} holds the local run's well-known keys of {', '.join(local)}")
        if settings.service_key and weak(settings.service_key):
            problems.append(f"{KEY_SETTING} is not a random key: make one with python -m deploy.keys")
    return problems


class ServiceTokens:
    """Mints this service's own identity token and renews it before it expires."""

    def __init__(self, settings: Settings, service: str):
        if not NAME.match(service):
            raise ValueError(f"{service!r} is not a service name")
        text = settings.service_key
        if not text:
            if settings.service_public_keys or settings.environment != "local":
                raise ValueError(f"{service} calls other services: give it its own key in {KEY_SETTING}")
            text = local_private(service)
        self._key = private_key(text)
        self._kid = fingerprint(self._key.public_key())
        if settings.service_public_keys and self._kid not in public_keys(settings.service_public_keys).get(service, {}):
            raise ValueError(f"{KEY_SETTING} is not {service}'s: its public half is not listed for {service}")
        self._ttl = min(settings.service_token_ttl_seconds, MAX_TTL_SECONDS)
        self._service = service
        self._token = ""
        self._renew_at = 0.0

    def token(self) -> str:
        now = time.time()
        if now >= self._renew_at:
            claims = {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": f"service:{self._service}",
                "service": self._service,
                "iat": int(now),
                "exp": int(now + self._ttl),
            }
            self._token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})
            self._renew_at = now + self._ttl / 2
        return self._token


@dataclass(frozen=True)
class Verified:
    service: str
    expires_at: float


class ServiceKeys:
    """Every service's public keys: a token is checked against the keys of the service it names, and only those."""

    def __init__(self, settings: Settings):
        self._keys = public_keys(settings.service_public_keys)
        # Nothing published in the local environment (a test, a bare process): keys follow from service names.
        self._derive = not settings.service_public_keys and settings.environment == "local"

    def _key(self, service: str, kid: str) -> Ed25519PublicKey | None:
        if self._derive:
            key = private_key(local_private(service)).public_key()
            return key if fingerprint(key) == kid else None
        return self._keys.get(service, {}).get(kid)

    def verify(self, token: str, kid: str) -> Verified:
        """The calling service, or jwt.PyJWTError saying why the token is refused."""
        claimed = jwt.decode(token, options={"verify_signature": False}).get("service")
        if not isinstance(claimed, str) or not NAME.match(claimed):
            raise jwt.InvalidTokenError("the token names no service")
        key = self._key(claimed, kid if isinstance(kid, str) else "")
        if key is None:
            raise jwt.InvalidTokenError(f"not signed by a key of {claimed}")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "service"]},
        )
        if claims["sub"] != f"service:{claimed}":
            raise jwt.InvalidTokenError("the subject is not the service the token names")
        if claims["exp"] - claims["iat"] > MAX_TTL_SECONDS:
            raise jwt.InvalidTokenError(f"a service token lives at most {MAX_TTL_SECONDS} s")
        return Verified(claimed, float(claims["exp"]))
