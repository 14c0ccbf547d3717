"""Calls between services carry a service token, and a gRPC service refuses any call without a valid one: the
contacts service as its main() wires it with a deployment's keys, called over the network. A service's token
works for what the access table gives that service and is refused the rest (PERMISSION_DENIED); every forged,
stale or misdirected one is UNAUTHENTICATED, including one signed with another service's key; and a person
cannot pass for a service (a Cognito group named "service", a token signed with the pool's public key)."""

from __future__ import annotations

import time

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from runtime.auth import SERVICE_AUDIENCE, SERVICE_ISSUER, ServiceTokens
from runtime.service_identity import fingerprint, private_key
from services.contacts.main import wire as wire_contacts
from tests.support.identity import Keyset, TestPool
from tests.support.servers import running
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

KEYS = Keyset()  # this deployment's
OTHER = Keyset()  # another deployment's


@pytest.fixture
async def contacts(tmp_path):
    pool = TestPool()
    async with running("contacts", wire_contacts, pool, tmp_path, **KEYS.settings("contacts")) as process:
        async with grpc.aio.insecure_channel(process.address) as channel:
            yield contacts_service_pb2_grpc.ContactsServiceStub(channel), pool, process.settings


def minted(service: str, keys: Keyset = KEYS) -> str:
    """What that service's channel sends, minted with its key of `keys`."""
    return ServiceTokens(TestPool().settings(**keys.settings(service)), service).token()


def service_token(signer: str = "messaging", keys: Keyset = KEYS, **changes) -> str:
    now = int(time.time())
    claims = {"iss": SERVICE_ISSUER, "aud": SERVICE_AUDIENCE, "sub": "service:messaging", "service": "messaging"}
    claims |= {"iat": now, "exp": now + 300, **changes}
    key = private_key(keys.private[signer][0])
    headers = {"kid": fingerprint(key.public_key())}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="EdDSA", headers=headers)


async def code_of(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def bearer(token: str):
    return (("authorization", f"Bearer {token}"),)


async def test_a_service_may_do_what_the_table_gives_it_and_nothing_else(contacts):
    stub, _, _ = contacts
    listing = pb.ListContactsRequest(page_size=1)
    assert await code_of(stub.ListContacts(listing, metadata=bearer(minted("messaging")))) == grpc.StatusCode.OK
    assert await code_of(stub.ListContacts(listing, metadata=bearer(minted("bulk")))) == grpc.StatusCode.OK
    # ...not what only people may (creating a contact is an operator's)
    create = pb.CreateContactRequest(contact=pb.Contact(email="s@example.com"))
    assert await code_of(stub.CreateContact(create, metadata=bearer(minted("messaging")))) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # ...and not what only another service may: consent changes are messaging's, the contact book bulk's and
    # messaging's (ai reads one contact at a time), nothing here is the gateway's.
    consent = pb.RecordConsentChangeRequest()  # empty: refused as INVALID_ARGUMENT once past the access check
    denied = [
        ("bulk", stub.RecordConsentChange(consent, metadata=bearer(minted("bulk")))),
        ("ai", stub.RecordConsentChange(consent, metadata=bearer(minted("ai")))),
        ("ai", stub.ListContacts(listing, metadata=bearer(minted("ai")))),
        ("gateway", stub.ListContacts(listing, metadata=bearer(minted("gateway")))),
        ("gateway", stub.GetContact(pb.GetContactRequest(name="contacts/none"), metadata=bearer(minted("gateway")))),
    ]
    for who, call in denied:
        assert await code_of(call) == grpc.StatusCode.PERMISSION_DENIED, who
    # The call messaging may make reaches the handler, which refuses the empty request.
    allowed = stub.RecordConsentChange(consent, metadata=bearer(minted("messaging")))
    assert await code_of(allowed) == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("why", "token"),
    [
        ("no token", None),
        ("another deployment's key", minted("messaging", OTHER)),
        ("the gateway's key, naming messaging", service_token(signer="gateway")),
        ("bulk's key, naming messaging", service_token(signer="bulk")),
        ("messaging's key, subject bulk", service_token(sub="service:bulk")),
        ("expired", service_token(iat=int(time.time()) - 900, exp=int(time.time()) - 600)),
        ("wrong issuer", service_token(iss="wecare:someone-else")),
        ("wrong audience", service_token(aud="another-system")),
        ("no service named", service_token(service=None)),
        ("no expiry", service_token(exp=None)),
        ("unsigned", jwt.encode({"iss": SERVICE_ISSUER, "aud": SERVICE_AUDIENCE, "sub": "x"}, None, algorithm="none")),
        ("the old shared-key HS256", jwt.encode({"sub": "service:messaging", "exp": 2**31}, "k" * 64, "HS256")),
        ("tampered", minted("messaging")[:-3] + "AAA"),
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
    claims = {"iss": SERVICE_ISSUER, "aud": SERVICE_AUDIENCE, "sub": "service:messaging", "service": "messaging"}
    payload = b64(json.dumps({**claims, "iat": now, "exp": now + 300}).encode())
    signature = hmac.new(raw_key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"
