"""Which bearer tokens the running contacts process accepts, over the network.

moto's Cognito signs with a private key that ships inside moto, so this test can mint tokens that are correctly
signed and shaped exactly like moto's (their claims are copied from a real token of the stack's pool) but wrong in
exactly one claim. A minted token with nothing changed is accepted, so each refusal is for the claim under test;
the refusal's message names that claim. Also: roles come from the user pool's groups (a real viewer token may
list contacts but gets PERMISSION_DENIED on DeleteContact, and that delete changes nothing)."""

from __future__ import annotations

import base64
import gzip
import importlib.resources
import json
import time
import uuid

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

pytestmark = pytest.mark.process


def moto_signing_key():
    """The well-known private key moto's Cognito signs every token with (and publishes in its JWKS as `dummy`)."""
    raw = (importlib.resources.files("moto.cognitoidp") / "resources" / "jwks-private.json.gz").read_bytes()
    jwk = json.loads(gzip.decompress(raw))
    return jwk["kid"], jwt.PyJWK(jwk).key


class Minter:
    def __init__(self, stack):
        self.kid, self.key = moto_signing_key()
        self.access = jwt.decode(stack.token("viewer"), options={"verify_signature": False})
        self.id = jwt.decode(stack.token("viewer", id_token=True), options={"verify_signature": False})

    def token(self, kind: str = "access", key=None, kid: str | None = None, **changes) -> str:
        now = int(time.time())
        claims = {**(self.access if kind == "access" else self.id), "iat": now, "exp": now + 600}
        claims["jti"] = str(uuid.uuid4())
        claims.update(changes)
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})


@pytest.fixture(scope="module")
def minter(stack):
    return Minter(stack)


@pytest.fixture(scope="module")
def contacts(stack):
    with grpc.insecure_channel(stack.addresses["contacts"]) as channel:
        yield contacts_service_pb2_grpc.ContactsServiceStub(channel)


def list_contacts(contacts, token: str):
    return contacts.ListContacts(pb.ListContactsRequest(page_size=1), metadata=[("authorization", f"Bearer {token}")])


def refusal(contacts, token: str) -> str:
    with pytest.raises(grpc.RpcError) as refused:
        list_contacts(contacts, token)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, refused.value.details()
    return refused.value.details()


def test_minted_tokens_with_nothing_changed_are_accepted(contacts, minter):
    # The control for every refusal below: same key, same claims, both kinds of token.
    list_contacts(contacts, minter.token("access"))
    list_contacts(contacts, minter.token("id"))


def test_expired_token_is_refused(contacts, minter):
    now = int(time.time())
    assert "expired" in refusal(contacts, minter.token(iat=now - 3700, exp=now - 100))


def test_wrongly_signed_token_is_refused(contacts, minter):
    # Our own RSA key, presenting moto's key id: the signature check is what refuses it.
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert "Signature verification failed" in refusal(contacts, minter.token(key=impostor))


def test_token_from_another_issuer_is_refused(contacts, minter):
    other = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_SomeoneElse"
    assert "issuer" in refusal(contacts, minter.token(iss=other))


def test_access_token_for_another_app_client_is_refused(contacts, minter):
    assert "different app client" in refusal(contacts, minter.token("access", client_id="another-app-client"))


def test_id_token_for_another_app_client_is_refused(contacts, minter):
    assert "different app client" in refusal(contacts, minter.token("id", aud="another-app-client"))


def test_wrong_token_use_is_refused(contacts, minter):
    assert "token_use" in refusal(contacts, minter.token(token_use="refresh"))


def test_unsigned_alg_none_token_is_refused(contacts, minter):
    def b64(part: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    claims = jwt.decode(minter.token(), options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': minter.kid})}.{b64(claims)}."
    assert "'none'" in refusal(contacts, unsigned)


def test_viewer_may_read_but_not_delete(stack, contacts):
    admin = [("authorization", f"Bearer {stack.token('admin')}")]
    viewer = [("authorization", f"Bearer {stack.token('viewer')}")]
    contact = contacts.CreateContact(
        pb.CreateContactRequest(contact=pb.Contact(display_name="Kept Kavya", phone_number="+91 98123 45100")),
        metadata=admin,
    )
    assert contacts.GetContact(pb.GetContactRequest(name=contact.name), metadata=viewer) == contact
    with pytest.raises(grpc.RpcError) as refused:
        contacts.DeleteContact(pb.DeleteContactRequest(name=contact.name), metadata=viewer)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert contacts.GetContact(pb.GetContactRequest(name=contact.name), metadata=admin) == contact
