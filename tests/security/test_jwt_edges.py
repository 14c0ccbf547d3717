"""JWT edge cases beyond tests/runtime/test_auth.py and tests/process/test_token_refusals.py (which cover a wrong
issuer, client id, token_use, key or kid, alg none, expiry and a tampered signature): tokens that lack a claim
the checks rely on, other algorithms, an ID token for several audiences, and a token not valid yet."""

from __future__ import annotations

import time

import jwt
import pytest

from runtime.errors import Unauthenticated
from tests.support.identity import TestPool

POOL = TestPool()


def unsigned_claims(**changes):
    now = int(time.time())
    claims = {
        "sub": "someone",
        "iss": POOL.issuer,
        "token_use": "access",
        "client_id": POOL.client_id,
        "cognito:groups": ["admin"],
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def signed(algorithm: str = "RS256", **changes) -> str:
    return jwt.encode(unsigned_claims(**changes), POOL.private_key, algorithm=algorithm, headers={"kid": POOL.kid})


async def test_the_control_token_is_accepted():
    identity = await POOL.verifier().verify(signed())
    assert identity.roles == ("admin",) and not identity.is_service


@pytest.mark.parametrize(
    ("why", "token"),
    [
        ("no expiry", signed(exp=None)),
        ("no subject", signed(sub=None)),
        ("no token_use", signed(token_use=None)),
        ("no issuer", signed(iss=None)),
        ("RS512 instead of RS256", signed("RS512")),
        ("PS256 instead of RS256", signed("PS256")),
        ("ID token for several audiences", signed(token_use="id", client_id=None, aud=[POOL.client_id, "other"])),
        ("not valid yet", signed(nbf=int(time.time()) + 3600)),
        ("issued by the pool's issuer with a trailing slash", signed(iss=POOL.issuer + "/")),
    ],
)
async def test_refused(why, token):
    with pytest.raises(Unauthenticated):
        await POOL.verifier().verify(token)
