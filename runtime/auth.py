"""Who is calling, and may they: Cognito JWTs for people, short-lived service tokens for work with no person
behind it, and the per-RPC access table declared in the protos (wecare.auth.v1.access).

People: RS256 tokens from the Cognito user pool, checked against the pool's JWKS (issuer, token_use,
client id — `client_id` in access tokens, `aud` in ID tokens — and expiry); roles from `cognito:groups`.
Services: EdDSA tokens, each service signing with its own key and naming itself (runtime/service_identity.py);
an RPC takes the services its access rule lists, and no other."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import jwt
from google.protobuf import descriptor_pool

import wecare
from runtime.errors import PermissionDenied, Unauthenticated
from runtime.service_identity import AUDIENCE as SERVICE_AUDIENCE
from runtime.service_identity import ISSUER as SERVICE_ISSUER
from runtime.service_identity import ServiceKeys, ServiceTokens
from runtime.settings import Settings
from wecare.auth.v1 import access_pb2

__all__ = ["SERVICE_AUDIENCE", "SERVICE_ISSUER", "ServiceTokens"]  # minting lives in runtime.service_identity
PERSON_ROLES = {"viewer": access_pb2.ROLE_VIEWER, "operator": access_pb2.ROLE_OPERATOR, "admin": access_pb2.ROLE_ADMIN}
# moto's Cognito signs with a key published in its source. A production deployment must never trust it.
MOTO_JWKS_MODULUS_SHA256 = "a546642aa4c7ab20f8c4f44630d64157359052f3b7ca6f75f2d3609d7b0aa150"


@dataclass(frozen=True)
class Identity:
    subject: str  # a person's Cognito `sub`, or `service:<name>`
    roles: tuple[str, ...]
    is_service: bool
    token: str
    expires_at: float
    service: str = ""  # the calling service's name (services only)

    @property
    def level(self) -> int:
        """The person's highest role as an access_pb2.Role value (0 for services)."""
        return max((PERSON_ROLES.get(r, 0) for r in self.roles), default=0)


def allows(access: access_pb2.Access | None, who: Identity) -> bool:
    if access is None:
        return False  # fail closed: an RPC without a declared access rule is nobody's
    if who.is_service:
        return who.service in access.services
    return access.min_role != access_pb2.ROLE_UNSPECIFIED and who.level >= access.min_role


def access_table(service_names: list[str]) -> dict[str, access_pb2.Access]:
    """`/pkg.Service/Method` -> its declared Access, read from the generated descriptors."""
    pool = descriptor_pool.Default()
    table: dict[str, access_pb2.Access] = {}
    for service_name in service_names:
        service = pool.FindServiceByName(service_name)
        for method in service.methods:
            options = method.GetOptions()
            if options.HasExtension(access_pb2.access):
                table[f"/{service_name}/{method.name}"] = options.Extensions[access_pb2.access]
    return table


def service_identities() -> tuple[str, ...]:
    """Every service the access table lets call an RPC: the ones that need a key of their own."""
    names: set[str] = set()
    for root in wecare.__path__:  # a namespace package (gen/ has no __init__.py): its files, not pkgutil
        for path in sorted(Path(root).glob("*/*/*_service_pb2.py")):
            module = ".".join(("wecare", *path.relative_to(root).with_suffix("").parts))
            services = importlib.import_module(module).DESCRIPTOR.services_by_name.values()
            for access in access_table([s.full_name for s in services]).values():
                names.update(access.services)
    return tuple(sorted(names))


def require(access: access_pb2.Access | None, who: Identity, method: str) -> None:
    if not allows(access, who):
        raise PermissionDenied(f"{', '.join(who.roles) or 'this caller'} may not call {method}")


class Jwks:
    """The user pool's signing keys, fetched without blocking the event loop, cached, refreshed when a token
    names a key we have not seen (at most once every `min_refresh` seconds)."""

    def __init__(self, url: str, *, production: bool, min_refresh: float = 30.0):
        self._url = url
        self._production = production
        self._min_refresh = min_refresh
        self._keys: dict[str, object] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str):
        if kid not in self._keys:
            # Callers that arrive while a fetch runs wait for it: checking the refresh interval outside the lock
            # refused every concurrent first call of a fresh process ("unknown key").
            async with self._lock:
                if kid not in self._keys and time.monotonic() - self._fetched_at > self._min_refresh:
                    await self._fetch()
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthenticated("token signed by an unknown key") from None

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
                async with http.get(self._url) as response:
                    response.raise_for_status()
                    document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Unauthenticated(f"cannot fetch the user pool's keys from {self._url}: {exc}") from exc
        keys = {}
        for entry in document.get("keys", []):
            if self._production and _is_moto_key(entry):
                raise Unauthenticated("the JWKS is moto's well-known test key; refusing it in production")
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256").key
        self._keys = keys


def _is_moto_key(entry: dict) -> bool:
    return hashlib.sha256(entry.get("n", "").encode()).hexdigest() == MOTO_JWKS_MODULUS_SHA256


class TokenVerifier:
    """Turns a bearer token into an Identity, or raises Unauthenticated saying why.

    Verified tokens are remembered until they expire, so a busy caller pays for the signature check once."""

    def __init__(self, settings: Settings, jwks: Jwks | None = None, cache_size: int = 4096):
        self._issuer = settings.cognito_issuer
        self._client_id = settings.cognito_client_id
        self._services = ServiceKeys(settings)
        self._jwks = jwks or Jwks(settings.cognito_jwks_url, production=settings.environment == "production")
        self._cache: OrderedDict[str, Identity] = OrderedDict()
        self._cache_size = cache_size

    async def verify(self, token: str) -> Identity:
        if not token:
            raise Unauthenticated("missing bearer token: send `authorization: Bearer <token>`")
        cached = self._cache.get(token)
        if cached is not None and cached.expires_at > time.time():
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed bearer token") from None
        alg = header.get("alg")
        if alg == "EdDSA":
            identity = self._verify_service(token, header.get("kid", ""))
        elif alg == "RS256":
            identity = await self._verify_person(token, header.get("kid", ""))
        else:
            raise Unauthenticated(f"token algorithm {alg!r} is not accepted")
        self._cache[token] = identity
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return identity

    def _verify_service(self, token: str, kid: str) -> Identity:
        try:
            verified = self._services.verify(token, kid)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"service token refused: {exc}") from None
        return Identity(f"service:{verified.service}", ("service",), True, token, verified.expires_at, verified.service)

    async def _verify_person(self, token: str, kid: str) -> Identity:
        if not self._issuer or not self._client_id:
            raise Unauthenticated("person tokens are not configured (WECARE_COGNITO_ISSUER, _CLIENT_ID)")
        key = await self._jwks.key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self._issuer,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"token refused: {exc}") from None
        use = claims.get("token_use")
        if use == "access":
            client = claims.get("client_id")
        elif use == "id":
            aud = claims.get("aud")
            client = aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and len(aud) == 1 else None)
        else:
            raise Unauthenticated(f"token_use {use!r} is neither access nor id")
        if client != self._client_id:
            raise Unauthenticated("token was issued to a different app client")
        groups = claims.get("cognito:groups") or []
        roles = tuple(g for g in groups if g in PERSON_ROLES)
        return Identity(claims["sub"], roles, False, token, float(claims["exp"]))


def bearer(metadata_value: str | None) -> str:
    if not metadata_value:
        return ""
    scheme, _, token = metadata_value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
