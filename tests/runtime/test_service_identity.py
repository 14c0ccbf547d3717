"""Service identities (runtime/service_identity.py): a token names its service and only that service's key
verifies it; one service's key cannot mint another's token; rotation takes several keys a service; the key
settings are refused when malformed, unpublished, or (in production) missing, well-known or weak. And the access
table: exactly the services that make each call may make it."""

from __future__ import annotations

import time

import jwt
import pytest

from deploy.services import SERVICES
from runtime.auth import access_table, service_identities
from runtime.errors import Unauthenticated
from runtime.service_identity import (
    MAX_TTL_SECONDS,
    ServiceTokens,
    fingerprint,
    local_private,
    private_key,
    public_text,
)
from runtime.settings import Settings
from tests.support.identity import Keyset, TestPool
from wecare.ai.v1 import ai_service_pb2  # noqa: F401 - loads the service descriptors
from wecare.audit.v1 import audit_service_pb2  # noqa: F401
from wecare.bulk.v1 import bulk_service_pb2  # noqa: F401
from wecare.commerce.v1 import commerce_service_pb2  # noqa: F401
from wecare.contacts.v1 import contacts_service_pb2  # noqa: F401
from wecare.messaging.v1 import messaging_service_pb2  # noqa: F401

POOL = TestPool()
PROD = {
    "WECARE_ENVIRONMENT": "production",
    "WECARE_LINKS_BASE_URL": "https://go.wecare.digital",
    "WECARE_PAGE_TOKEN_KEY": "k2" * 20,
    "WECARE_COGNITO_JWKS_URL": "https://cognito-idp.us-east-1.amazonaws.com/p/.well-known/jwks.json",
}

# Who may call what: every service-to-service call the code makes (grep service_channel), the calls commerce's
# protos name as its callers', and nothing else.
# A new caller (commerce) or a new call is one line in the protos and one here.
EXPECTED = {
    "/wecare.contacts.v1.ContactsService/GetContact": {"ai", "messaging", "commerce"},
    "/wecare.contacts.v1.ContactsService/ListContacts": {"bulk", "messaging"},
    "/wecare.contacts.v1.ContactsService/SearchContacts": {"bulk", "messaging", "commerce"},
    "/wecare.contacts.v1.ContactsService/UpdateContact": {"commerce"},  # a form's answers onto the contact
    "/wecare.contacts.v1.ContactsService/RecordConsentChange": {"messaging", "commerce"},
    "/wecare.messaging.v1.MessagingService/SendMessages": {"bulk", "commerce"},  # commerce: receipts
    "/wecare.messaging.v1.MessagingService/WithdrawMessages": {"bulk"},
    "/wecare.messaging.v1.MessagingService/BatchGetMessageStates": {"bulk"},
    "/wecare.messaging.v1.MessagingService/ListTemplates": {"bulk"},
    "/wecare.messaging.v1.MessagingService/ListConversations": {"bulk"},
    "/wecare.messaging.v1.MessagingService/GetMessagingTier": {"bulk"},  # campaigns planned against the tier
    "/wecare.messaging.v1.MessagingService/ListMessages": {"ai"},
    "/wecare.messaging.v1.MessagingService/IngestEvents": {"gateway"},
    "/wecare.commerce.v1.CommerceService/FollowLink": {"gateway"},  # GET /l/{code}
    "/wecare.commerce.v1.CommerceService/RecordPaymentEvents": {"gateway", "messaging"},  # webhooks; WhatsApp pay
    # Commerce's callers as its protos name them: messaging and bulk (links, clicks, invitations, answers)
    "/wecare.commerce.v1.CommerceService/BatchCreateLinks": {"bulk", "messaging"},
    "/wecare.commerce.v1.CommerceService/ListClicks": {"bulk", "messaging"},
    "/wecare.commerce.v1.CommerceService/CreateFormInvitation": {"bulk", "messaging"},
    "/wecare.commerce.v1.CommerceService/BatchCreateFormInvitations": {"bulk", "messaging"},
    "/wecare.commerce.v1.CommerceService/UpdateFormInvitation": {"bulk", "messaging"},
    "/wecare.commerce.v1.CommerceService/SubmitFormResponse": {"messaging"},  # an nfm_reply
    "/wecare.commerce.v1.CommerceService/ListFormResponses": {"bulk"},  # a form job's answers in its counts
}
ALL_SERVICES = [
    "wecare.contacts.v1.ContactsService",
    "wecare.messaging.v1.MessagingService",
    "wecare.bulk.v1.BulkService",
    "wecare.ai.v1.AIService",
    "wecare.audit.v1.AuditService",
    "wecare.commerce.v1.CommerceService",
]


def test_the_access_table_names_exactly_the_calls_services_make():
    table = access_table(ALL_SERVICES)
    granted = {method: set(access.services) for method, access in table.items() if access.services}
    assert granted == EXPECTED
    assert set(service_identities()) == set().union(*EXPECTED.values())
    # Every name is a deployed process (a typo would grant nobody and fail every call).
    assert set(service_identities()) <= {s.name for s in SERVICES}


def test_a_leaked_gateway_key_can_ingest_and_follow_links_and_nothing_else():
    table = access_table(ALL_SERVICES)
    assert [m for m, a in table.items() if "gateway" in a.services] == [
        "/wecare.messaging.v1.MessagingService/IngestEvents",
        "/wecare.commerce.v1.CommerceService/FollowLink",
        "/wecare.commerce.v1.CommerceService/RecordPaymentEvents",
    ]
    for method in ("SendMessage", "SendMessages", "WithdrawMessages", "ReplayDeadLetters"):
        assert "gateway" not in table[f"/wecare.messaging.v1.MessagingService/{method}"].services
    assert not any(table[m].services for m in table if m.startswith("/wecare.bulk.v1.BulkService/"))


def _claims(service: str = "bulk", **changes) -> dict:
    now = int(time.time())
    claims = {"iss": "wecare:service", "aud": "wecare", "sub": f"service:{service}", "service": service}
    claims |= {"iat": now, "exp": now + 300, **changes}
    return {k: v for k, v in claims.items() if v is not None}


def _signed(private: str, claims: dict, kid: str | None = None) -> str:
    key = private_key(private)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid or fingerprint(key.public_key())})


@pytest.fixture(scope="module")
def keys() -> Keyset:
    return Keyset()


async def verify(keys: Keyset, token: str):
    return await POOL.verifier(POOL.settings(**keys.settings())).verify(token)


async def test_each_service_mints_its_own_identity(keys):
    for name in service_identities():
        who = await verify(keys, ServiceTokens(POOL.settings(**keys.settings(name)), name).token())
        assert (who.service, who.subject, who.is_service) == (name, f"service:{name}", True)


@pytest.mark.parametrize(
    ("why", "make", "refusal"),
    [
        ("gateway's key, naming bulk", lambda k: _signed(k.private["gateway"][0], _claims("bulk")), "key of bulk"),
        (
            "gateway's key, naming bulk, bulk's kid",
            lambda k: _signed(k.private["gateway"][0], _claims("bulk"), kid=_kid(k, "bulk")),
            "Signature",
        ),
        ("another deployment's bulk key", lambda k: _signed(Keyset().private["bulk"][0], _claims()), "key of bulk"),
        ("the local run's bulk key", lambda k: _signed(local_private("bulk"), _claims()), "key of bulk"),
        ("subject of another service", lambda k: _signed(k.private["bulk"][0], _claims(sub="service:ai")), "subject"),
        ("no service claim", lambda k: _signed(k.private["bulk"][0], _claims(service=None)), "names no service"),
        ("a service nobody knows", lambda k: _signed(k.private["bulk"][0], _claims("payroll")), "key of payroll"),
        ("expired", lambda k: _signed(k.private["bulk"][0], _claims(iat=1, exp=2)), "expired"),
        ("no expiry", lambda k: _signed(k.private["bulk"][0], _claims(exp=None)), "exp"),
        (
            "lives too long",
            lambda k: _signed(k.private["bulk"][0], _claims(exp=int(time.time()) + MAX_TTL_SECONDS + 60)),
            "at most",
        ),
        ("wrong issuer", lambda k: _signed(k.private["bulk"][0], _claims(iss="wecare:other")), "issuer"),
        ("wrong audience", lambda k: _signed(k.private["bulk"][0], _claims(aud="elsewhere")), "Audience"),
        ("tampered", lambda k: _minted(k, "bulk")[:-4] + "AAAA", "Signature"),
        ("HS256, the old shared-key scheme", lambda k: jwt.encode(_claims(), "k" * 64, algorithm="HS256"), "HS256"),
    ],
)
async def test_forged_service_tokens_are_refused(keys, why, make, refusal):
    with pytest.raises(Unauthenticated, match=refusal):
        await verify(keys, make(keys))


def _minted(keys: Keyset, service: str) -> str:
    return ServiceTokens(POOL.settings(**keys.settings(service)), service).token()


def _kid(keys: Keyset, service: str) -> str:
    return fingerprint(private_key(keys.private[service][0]).public_key())


async def test_rotation_takes_both_keys_then_only_the_new_one(keys):
    old = keys.private["bulk"][0]
    new, new_public = Keyset(("bulk",)).private["bulk"]
    published = (*keys.public(), f"bulk={new_public}")
    both = POOL.settings(service_public_keys=published)
    minted_old = _minted(keys, "bulk")
    minted_new = ServiceTokens(POOL.settings(service_public_keys=published, service_key=new), "bulk").token()
    for token in (minted_old, minted_new):
        assert (await POOL.verifier(both).verify(token)).service == "bulk"
    kept = tuple(e for e in both.service_public_keys if public_text(old) not in e)
    only_new = POOL.settings(service_public_keys=kept)
    assert (await POOL.verifier(only_new).verify(minted_new)).service == "bulk"
    with pytest.raises(Unauthenticated, match="key of bulk"):
        await POOL.verifier(only_new).verify(minted_old)


def test_a_service_refuses_to_start_with_a_key_that_is_not_its_own(keys):
    with pytest.raises(ValueError, match="not bulk's"):
        ServiceTokens(POOL.settings(**keys.settings("gateway")), "bulk")
    with pytest.raises(ValueError, match="its own key"):
        ServiceTokens(POOL.settings(service_public_keys=keys.public()), "bulk")  # keys published, none given
    with pytest.raises(ValueError, match="its own key"):
        ServiceTokens(Settings(environment="production", service_public_keys=keys.public()), "bulk")


def test_settings_refuse_malformed_and_unpublished_keys(keys):
    with pytest.raises(ValueError, match="WECARE_SERVICE_PUBLIC_KEYS"):
        Settings.from_env({"WECARE_SERVICE_PUBLIC_KEYS": "bulk=not-a-key"})
    with pytest.raises(ValueError, match="<service>=<public key>"):
        Settings.from_env({"WECARE_SERVICE_PUBLIC_KEYS": keys.public()[0].split("=", 1)[1]})
    with pytest.raises(ValueError, match="WECARE_SERVICE_KEY is not"):
        Settings.from_env({"WECARE_SERVICE_KEY": "short", "WECARE_SERVICE_PUBLIC_KEYS": ",".join(keys.public())})
    with pytest.raises(ValueError, match="publish it"):
        Settings.from_env({"WECARE_SERVICE_KEY": Keyset(("bulk",)).private["bulk"][0]})
    local = Settings.from_env({})  # nothing configured: the local run's derived keys
    assert not local.service_key and not local.service_public_keys


@pytest.mark.parametrize(
    ("why", "env", "refusal"),
    [
        ("no public keys", {}, "must list every service's public key"),
        (
            "the local run's well-known keys",
            {"WECARE_SERVICE_PUBLIC_KEYS": f"bulk={public_text(local_private('bulk'))}"},
            "well-known keys of bulk",
        ),
        (
            "a weak private key",
            {
                "WECARE_SERVICE_KEY": "A" * 43,
                "WECARE_SERVICE_PUBLIC_KEYS": f"bulk={public_text('A' * 43)}",
            },
            "not a random key",
        ),
    ],
)
def test_production_refuses_missing_well_known_and_weak_keys(why, env, refusal):
    with pytest.raises(ValueError, match=refusal):
        Settings.from_env({**PROD, **env})


def test_production_takes_a_deployments_keys(keys):
    published = {**PROD, "WECARE_SERVICE_PUBLIC_KEYS": ",".join(keys.public())}
    contacts = Settings.from_env(published)  # contacts calls nobody: public keys only
    bulk = Settings.from_env({**published, "WECARE_SERVICE_KEY": keys.private["bulk"][0]})
    assert contacts.environment == bulk.environment == "production"
    assert bulk.redacted()["service_key"] == "***"  # never in the start-up log
