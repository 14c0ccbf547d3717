"""Test identities: an RSA key that plays the Cognito user pool, tokens shaped like Cognito's, and a JWKS the
verifier can be given directly. Each token can be made wrong in exactly one way, so a refusal is for that.
Services: a deployment's key pairs (Keyset), each process given its own private key and every public key."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from runtime.auth import TokenVerifier, service_identities
from runtime.errors import Unauthenticated
from runtime.service_identity import generate
from runtime.settings import Settings

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"
CLIENT_ID = "test-client-id"


class StaticJwks:
    """The verifier's key source, holding the test pool's public key."""

    def __init__(self, keys: dict[str, Any]):
        self._keys = keys

    async def key(self, kid: str):
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthenticated("token signed by an unknown key") from None


class TestPool:
    __test__ = False  # a fixture class, not a test
    """A stand-in Cognito user pool: mints RS256 access and ID tokens with `cognito:groups`."""

    def __init__(self, issuer: str = ISSUER, client_id: str = CLIENT_ID):
        self.issuer = issuer
        self.client_id = client_id
        self.kid = "test-kid-1"
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwks = StaticJwks({self.kid: self.private_key.public_key()})

    def settings(self, **overrides: Any) -> Settings:
        return Settings(cognito_issuer=self.issuer, cognito_client_id=self.client_id, **overrides)

    def verifier(self, settings: Settings | None = None) -> TokenVerifier:
        return TokenVerifier(settings or self.settings(), jwks=self.jwks)

    def token(self, *groups: str, token_use: str = "access", key=None, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "sub": claims.pop("sub", str(uuid.uuid4())),
            "iss": self.issuer,
            "token_use": token_use,
            "cognito:groups": list(groups),
            "iat": now,
            "exp": now + 3600,
        }
        if token_use == "id":
            body["aud"] = self.client_id
        else:
            body["client_id"] = self.client_id
        body.update(claims)
        return jwt.encode(body, key or self.private_key, algorithm="RS256", headers={"kid": kid or self.kid})

    def bearer(self, *groups: str, **claims: Any) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.token(*groups, **claims)}"),)


class Keyset:
    """A deployment's service keys, freshly made: one key pair for every service the access table names."""

    def __init__(self, services: tuple[str, ...] | None = None):
        self.private = {name: generate() for name in services or service_identities()}

    def public(self) -> tuple[str, ...]:
        return tuple(f"{name}={public}" for name, (_, public) in sorted(self.private.items()))

    def settings(self, service: str | None = None) -> dict[str, Any]:
        """Settings overrides of one process: its own private key (when it has an identity), every public key."""
        own = self.private[service][0] if service in self.private else ""
        return {"service_key": own, "service_public_keys": self.public()}
