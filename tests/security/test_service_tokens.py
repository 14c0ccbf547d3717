"""Calls between services carry a service token, and a gRPC service refuses any call without a valid one: the
contacts service as its main() wires it, called over the network. A real service token works for what the access
table gives services and is refused the rest; every forged, stale or misdirected one is UNAUTHENTICATED; and a
person cannot pass for a service (a Cognito group named "service", an HS256 token signed with the pool's public
key)."""

from __future__ import annotations

import time

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from runtime.auth import SERVICE_AUDIENCE, SERVICE_ISSUER, ServiceTokens
from services.contacts.main import wire as wire_contacts
from tests.support.identity import TestPool
from tests.support.servers import running
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

KEY = "deployment-service-token-key-for-this-test-only-0123456789"


@pytest.fixture
async def contacts(tmp_path):
    pool = TestPool()
    async with running("contacts", wire_contacts, pool, tmp_path, service_token_key=KEY) as process:
        async with grpc.aio.insecure_channel(process.address) as channel:
            yield contacts_service_pb2_grpc.ContactsServiceStub(channel), pool, process.settings


def service_token(key: str = KEY, **changes) -> str:
    now = int(time.time())
    claims = {"iss": SERVICE_ISSUER, "aud": SERVICE_AUDIENCE, "sub": "service:messaging", "role": "service"}
    claims |= {"iat": now, "exp": now + 300, **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="HS256")


async def code_of(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def bearer(token: str):
    return (("authorization", f"Bearer {token}"),)


async def test_a_valid_service_token_may_do_what_services_may(contacts):
    stub, _, settings = contacts
    minted = ServiceTokens(settings, "messaging").token()  # what messaging's channel sends
    assert await code_of(stub.ListContacts(pb.ListContactsRequest(page_size=1), metadata=bearer(minted))) == (
        grpc.StatusCode.OK
    )
    # ...and not what only people may (creating a contact is an operator's)
    create = stub.CreateContact(
        pb.CreateContactRequest(contact=pb.Contact(email="s@example.com")), metadata=bearer(minted)
    )
    assert await code_of(create) == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("why", "token"),
    [
        ("no token", None),
        ("another deployment's key", service_token(key="some-other-deployment-key-0123456789abcdef")),
        ("expired", service_token(iat=int(time.time()) - 900, exp=int(time.time()) - 600)),
        ("wrong issuer", service_token(iss="wecare:someone-else")),
        ("wrong audience", service_token(aud="another-system")),
        ("no service role", service_token(role="admin")),
        ("no expiry", service_token(exp=None)),
        ("unsigned", jwt.encode({"iss": SERVICE_ISSUER, "aud": SERVICE_AUDIENCE, "sub": "x"}, None, algorithm="none")),
        ("tampered", service_token()[:-3] + "AAA"),
    ],
)
async def test_calls_without_a_valid_service_token_are_refused(contacts, why, token):
    stub, _, _ = contacts
    metadata = bearer(token) if token else ()
    code = await code_of(stub.ListContacts(pb.ListContactsRequest(page_size=1), metadata=metadata))
    assert code == grpc.StatusCode.UNAUTHENTICATED, why


async def test_a_person_cannot_pass_for_a_service(contacts):
    stub, pool, _ = contacts
    # A Cognito group named "service" gives no role at all
    grouped = pool.token("service")
    assert await code_of(stub.ListContacts(pb.ListContactsRequest(), metadata=bearer(grouped))) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # Algorithm confusion: an HS256 "service" token keyed with the pool's public key
    public_pem = pool.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = _hs256_with_raw_key(public_pem)
    assert await code_of(stub.ListContacts(pb.ListContactsRequest(), metadata=bearer(forged))) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


def _hs256_with_raw_key(raw_key: bytes) -> str:
    """An HS256 JWT signed with arbitrary key bytes (PyJWT itself refuses PEM keys for HMAC, as it should)."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"iss": SERVICE_ISSUER, "aud": SERVICE_AUDIENCE, "sub": "service:x", "role": "service"}
    payload = b64(json.dumps({**claims, "iat": now, "exp": now + 300}).encode())
    signature = hmac.new(raw_key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"
