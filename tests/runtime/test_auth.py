"""Token checks: each refused token is wrong in exactly one way; roles come from cognito:groups; the access
table from the protos decides who may call what, failing closed."""

from __future__ import annotations

import time

import jwt
import pytest
from aiohttp import web

from runtime.auth import Jwks, ServiceTokens, access_table, allows, bearer
from runtime.errors import Unauthenticated
from runtime.service_identity import fingerprint, local_private, private_key
from runtime.settings import Settings
from tests.support.identity import Keyset, TestPool
from wecare.auth.v1 import access_pb2
from wecare.contacts.v1 import contacts_service_pb2  # noqa: F401 - loads the service descriptors

CONTACTS = "wecare.contacts.v1.ContactsService"


@pytest.fixture(scope="module")
def pool() -> TestPool:
    return TestPool()


async def test_access_token_gives_roles_from_groups(pool):
    who = await pool.verifier().verify(pool.token("operator", sub="person-1"))
    assert (who.subject, who.roles, who.is_service) == ("person-1", ("operator",), False)
    assert who.level == access_pb2.ROLE_OPERATOR


async def test_id_token_is_checked_against_aud(pool):
    who = await pool.verifier().verify(pool.token("viewer", token_use="id"))
    assert who.roles == ("viewer",)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: p.token("admin", exp=int(time.time()) - 10), "expired"),
        (lambda p: p.token("admin", iss="https://cognito-idp.us-east-1.amazonaws.com/other"), "issuer"),
        (lambda p: p.token("admin", client_id="another-app"), "different app client"),
        (lambda p: p.token("admin", token_use="id", aud="another-app"), "different app client"),
        (lambda p: p.token("admin", token_use="refresh"), "token_use"),
        (lambda p: p.token("admin", key=TestPool().private_key), "Signature"),
        (lambda p: p.token("admin", kid="unknown-kid"), "unknown key"),
        (
            lambda p: jwt.encode({"sub": "x", "iss": p.issuer, "exp": int(time.time()) + 60}, None, algorithm="none"),
            "none",
        ),
        (lambda p: p.token("admin")[:-4] + "AAAA", "Signature"),
        (lambda p: "not-a-jwt", "malformed"),
        (lambda p: "", "missing"),
    ],
)
async def test_bad_tokens_are_refused_saying_why(pool, make, why):
    with pytest.raises(Unauthenticated, match=why):
        await pool.verifier().verify(make(pool))


async def test_service_tokens_round_trip_and_another_key_is_refused(pool):
    keys = Keyset()
    settings = pool.settings(**keys.settings("bulk"))
    token = ServiceTokens(settings, "bulk").token()
    who = await pool.verifier(settings).verify(token)
    assert (who.subject, who.roles, who.is_service, who.service) == ("service:bulk", ("service",), True, "bulk")
    forged = ServiceTokens(pool.settings(**Keyset().settings("bulk")), "bulk").token()  # another deployment's key
    with pytest.raises(Unauthenticated, match="not signed by a key of bulk"):
        await pool.verifier(settings).verify(forged)


async def test_expired_service_token_is_refused(pool):
    now = int(time.time())
    claims = {"iss": "wecare:service", "aud": "wecare", "sub": "service:bulk", "service": "bulk"}
    key = private_key(local_private("bulk"))  # the local run's key of bulk, which a local verifier takes
    kid = fingerprint(key.public_key())
    expired = jwt.encode({**claims, "iat": now - 600, "exp": now - 300}, key, algorithm="EdDSA", headers={"kid": kid})
    with pytest.raises(Unauthenticated, match="expired"):
        await pool.verifier().verify(expired)


def test_access_table_follows_the_proto_options():
    table = access_table([CONTACTS])
    assert table[f"/{CONTACTS}/DeleteContact"].min_role == access_pb2.ROLE_ADMIN
    assert table[f"/{CONTACTS}/DeleteContact"].mutates
    assert not table[f"/{CONTACTS}/GetContact"].mutates
    from google.protobuf import descriptor_pool

    service = descriptor_pool.Default().FindServiceByName(CONTACTS)
    assert len(table) == len(service.methods)  # every RPC declares its access


async def test_roles_against_the_access_table(pool):
    table = access_table([CONTACTS])
    verifier = pool.verifier()
    viewer = await verifier.verify(pool.token("viewer"))
    admin = await verifier.verify(pool.token("admin", "viewer"))
    nobody = await verifier.verify(pool.token("some-other-group"))
    service = await verifier.verify(ServiceTokens(pool.settings(), "messaging").token())
    bulk = await verifier.verify(ServiceTokens(pool.settings(), "bulk").token())
    assert allows(table[f"/{CONTACTS}/GetContact"], viewer)
    assert not allows(table[f"/{CONTACTS}/DeleteContact"], viewer)
    assert allows(table[f"/{CONTACTS}/DeleteContact"], admin)
    assert not allows(table[f"/{CONTACTS}/GetContact"], nobody)
    assert allows(table[f"/{CONTACTS}/RecordConsentChange"], service)
    assert not allows(table[f"/{CONTACTS}/CreateContact"], service)
    assert allows(table[f"/{CONTACTS}/ListContacts"], bulk)
    assert not allows(table[f"/{CONTACTS}/RecordConsentChange"], bulk)  # messaging's alone
    assert not allows(None, admin)  # an RPC without a declared rule is nobody's


def test_bearer_parsing():
    assert bearer("Bearer abc") == "abc"
    assert bearer("bearer  abc ") == "abc"
    assert bearer("Basic abc") == ""
    assert bearer(None) == ""


async def test_production_refuses_motos_well_known_key(aiohttp_jwks):
    url, key_set = aiohttp_jwks
    jwks = Jwks(url, production=True)
    with pytest.raises(Unauthenticated, match="moto"):
        await jwks.key(key_set["keys"][0]["kid"])
    assert await Jwks(url, production=False).key(key_set["keys"][0]["kid"]) is not None


def test_production_settings_refuse_local_only_values():
    with pytest.raises(ValueError, match="WECARE_SERVICE_PUBLIC_KEYS") as refused:
        Settings.from_env({"WECARE_ENVIRONMENT": "production", "WECARE_COGNITO_JWKS_URL": "http://127.0.0.1:4566/x"})
    assert "https" in str(refused.value)
    keys = Keyset()
    production = {
        "WECARE_ENVIRONMENT": "production",
        "WECARE_SERVICE_KEY": keys.settings("bulk")["service_key"],
        "WECARE_SERVICE_PUBLIC_KEYS": ",".join(keys.public()),
        "WECARE_PAGE_TOKEN_KEY": "k2" * 20,
        "WECARE_COGNITO_JWKS_URL": "https://cognito-idp.us-east-1.amazonaws.com/p/.well-known/jwks.json",
    }
    # Short links must not point at the local default (http://127.0.0.1:8080) in production.
    with pytest.raises(ValueError, match="WECARE_LINKS_BASE_URL"):
        Settings.from_env(production)
    ok = Settings.from_env({**production, "WECARE_LINKS_BASE_URL": "https://go.wecare.digital"})
    assert ok.environment == "production"


def test_settings_parse_types_and_name_the_bad_variable():
    s = Settings.from_env({"WECARE_GRACE_SECONDS": "2.5", "WECARE_CORS_ORIGINS": "https://a, https://b"})
    assert s.grace_seconds == 2.5 and s.cors_origins == ("https://a", "https://b")
    with pytest.raises(ValueError, match="WECARE_METRICS_PORT"):
        Settings.from_env({"WECARE_METRICS_PORT": "eighty"})


@pytest.fixture
async def aiohttp_jwks():
    """moto's published key set served over HTTP, as a deployment pointed at moto would see it."""
    import gzip
    import json
    from pathlib import Path

    import moto

    key_set = json.loads(gzip.open(Path(moto.__file__).parent / "cognitoidp/resources/jwks-public.json.gz").read())
    app = web.Application()

    async def serve(request):
        return web.json_response(key_set)

    app.router.add_get("/jwks.json", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/jwks.json", key_set
    await runner.cleanup()
