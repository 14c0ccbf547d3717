"""Request rate limits at the gateway (gateway/ratelimit.py): token-bucket arithmetic on a controlled clock, the
client address behind trusted proxies, and over HTTP in front of the real contacts service: per person and per
address, 429 with Retry-After, nothing done for a refused request, and the SNS endpoint exempt but size-capped."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from gateway.app import Gateway
from gateway.backends import BACKENDS
from gateway.ratelimit import Buckets, ClientAddress, Rate, RateLimiter
from gateway.sns import SnsEndpoint
from services.contacts.main import wire as wire_contacts
from tests.support.identity import TestPool
from tests.support.servers import running


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_passes_its_burst_then_paces_at_its_rate():
    clock = Clock()
    buckets = Buckets(Rate(per_second=2.0, burst=3), clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # empty: one token comes in 1/2 s
    assert buckets.take("b") == 0.0  # another key has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 10  # refills to the burst, never past it
    assert [buckets.take("a") for _ in range(4)][-1] == pytest.approx(0.5)


def test_a_refused_request_takes_no_token():
    clock = Clock()
    buckets = Buckets(Rate(per_second=1.0, burst=1), clock)
    assert buckets.take("a") == 0.0
    for _ in range(5):
        assert buckets.take("a") == pytest.approx(1.0)  # hammering does not push the wait further out
    clock.now += 1.0
    assert buckets.take("a") == 0.0


def test_full_buckets_are_forgotten_and_the_count_is_bounded():
    clock = Clock()
    buckets = Buckets(Rate(per_second=10.0, burst=5), clock, max_keys=100)
    for i in range(50):
        buckets.take(f"k{i}")
    assert len(buckets) == 50
    clock.now += 0.5  # 5 tokens at 10/s: every bucket is full again, the same as none
    buckets.take("new")
    assert len(buckets) == 1
    for i in range(500):
        buckets.take(f"flood{i}")
    assert len(buckets) <= 100


def request_from(peer: str, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}

    class Transport:
        def get_extra_info(self, name, default=None):
            return (peer, 40000) if name == "peername" else default

    return make_mocked_request("GET", "/v1/contacts", headers=headers, transport=Transport())


def test_client_address_believes_only_trusted_proxies():
    address = ClientAddress(("10.0.0.0/16",))
    assert address.of(request_from("203.0.113.9")) == "203.0.113.9"
    # A client cannot choose its own address by writing the header itself
    assert address.of(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    # Behind the load balancer: the right-most hop it did not add is the client; left of it is the client's word
    assert address.of(request_from("10.0.3.4", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    assert address.of(request_from("10.0.3.4", "198.51.100.7, 10.0.9.9")) == "198.51.100.7"
    assert address.of(request_from("10.0.3.4")) == "10.0.3.4"


def test_limits_off_by_default_on_when_set():
    assert RateLimiter.for_settings(TestPool().settings()) is None
    assert RateLimiter.for_settings(TestPool().settings(rate_limit_user_per_second=5, rate_limit_user_burst=5))


CONTACTS_BACKENDS = tuple(b for b in BACKENDS if b.address_setting == "contacts_address")


@pytest.fixture
async def limited(tmp_path):
    """The gateway (with its SNS endpoint) in front of the contacts service, with small limits."""
    pool = TestPool()
    async with running("contacts", wire_contacts, pool, tmp_path) as contacts:
        settings = pool.settings(
            contacts_address=contacts.address,
            rate_limit_user_per_second=1.0,
            rate_limit_user_burst=3,
            rate_limit_address_per_second=1.0,
            rate_limit_address_burst=5,
            sns_max_body_bytes=2048,
            sns_topic_arns=("arn:aws:sns:us-east-1:123456789012:base-wecare-digital",),
        )
        sns = SnsEndpoint.for_settings(settings)
        gateway = Gateway(
            settings,
            pool.verifier(settings),
            backends=CONTACTS_BACKENDS,
            extra_routes=sns.routes(),
            admission=RateLimiter.for_settings(settings),
        )
        client = TestClient(TestServer(gateway.app(), host="127.0.0.1"))
        await client.start_server()
        try:
            yield client, pool
        finally:
            await client.close()
            await sns.close()


async def test_per_person_limit_answers_429_with_retry_after_and_changes_nothing(limited):
    client, pool = limited
    alice = {"Authorization": f"Bearer {pool.token('operator', sub='alice')}"}
    created = []
    for i in range(3):
        reply = await client.post("/v1/contacts", json={"email": f"a{i}@example.com"}, headers=alice)
        assert reply.status == 200, await reply.text()
        created.append(i)
    refused = await client.post("/v1/contacts", json={"email": "over@example.com"}, headers=alice)
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = await refused.json()
    assert body["code"] == 8 and "caller" in body["message"]
    # The refused contact was never created
    admin = {"Authorization": f"Bearer {pool.token('admin', sub='admin')}"}
    found = await client.get("/v1/contacts:search", params={"query": "over@example.com"}, headers=admin)
    assert found.status == 200 and not (await found.json()).get("contacts")


async def test_per_address_limit_holds_many_people_behind_one_address(limited):
    client, pool = limited
    statuses = []
    for i in range(7):  # seven people, one address: the address bucket (burst 5) runs dry
        headers = {"Authorization": f"Bearer {pool.token('viewer', sub=f'person-{i}')}"}
        statuses.append((await client.get("/v1/contacts", headers=headers)).status)
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]


async def test_sns_endpoint_is_exempt_but_size_capped(limited):
    client, _ = limited
    # Far more than the address's burst: each is judged on its own (refused unverified), never 429
    unsigned = json.dumps({"Type": "Notification", "MessageId": "m", "TopicArn": "x", "Message": "{}"})
    statuses = {(await client.post("/v1/events/sns", data=unsigned)).status for _ in range(12)}
    assert 429 not in statuses and statuses <= {400, 403}
    too_big = await client.post("/v1/events/sns", data=b"{" + b" " * 4096 + b"}")
    assert too_big.status == 413
