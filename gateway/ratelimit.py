"""Request rate limits at the gateway: a token bucket per person (the token's subject) and one per client address,
asked through the gateway's `admission` seam after authentication and before the body is read. Over either
rate, the answer is 429 RESOURCE_EXHAUSTED with Retry-After (whole seconds until a token is there).

The SNS endpoint is an extra route that never reaches admission: AWS delivers from many addresses and retries
on its own schedule, so it is exempt, and its body is capped instead (WECARE_SNS_MAX_BODY_BYTES, gateway/sns.py).
The public `GET /l/{code}` (gateway/links.py) has no caller to charge but its address: it keeps Buckets of its own
(WECARE_LINK_RATE_PER_SECOND / _BURST).

The client address is the peer, unless the peer is a trusted proxy (WECARE_TRUSTED_PROXIES, the load balancer's
CIDRs): then it is the right-most X-Forwarded-For entry that is not itself a trusted proxy, since everything left
of that was written by the client and proves nothing.

Buckets live in this replica's memory: with N replicas behind the load balancer the cluster-wide rate is up to N
times the setting, so the prod overlay sets the per-replica share. A bucket idle long enough to be full again is
the same as no bucket, so those are forgotten and memory stays bounded by the callers of the last few seconds."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from google.rpc import code_pb2

from gateway.app import EdgeRefusal
from gateway.routes import Route
from runtime.auth import Identity
from runtime.settings import Settings

MAX_KEYS = 200_000  # buckets kept at most per limit, whatever the traffic (the oldest go first)


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    @property
    def on(self) -> bool:
        return self.per_second > 0 and self.burst > 0


class Buckets:
    """Token buckets by key: `burst` tokens at most, refilled at `per_second`; one request takes one token."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS):
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._full_after = rate.burst / rate.per_second  # seconds an empty bucket takes to fill
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at), oldest first

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """0 when the request may go now (a token taken); otherwise the seconds until a token is there."""
        now = self._clock()
        self._forget_full(now)
        tokens, at = self._buckets.pop(key, (float(self.rate.burst), now))
        tokens = min(float(self.rate.burst), tokens + (now - at) * self.rate.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate.per_second
        self._buckets[key] = (tokens, now)  # most recently used last
        return wait

    def _forget_full(self, now: float) -> None:
        while self._buckets:
            key, (_, at) = next(iter(self._buckets.items()))
            if now - at < self._full_after and len(self._buckets) < self._max_keys:
                return
            del self._buckets[key]


class ClientAddress:
    """Who is at the other end: the peer, or behind trusted proxies the last address they vouch for."""

    def __init__(self, trusted_proxies: tuple[str, ...]):
        self._trusted = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in trusted_proxies)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def of(self, request: web.Request) -> str:
        peer = request.remote or ""
        if not self._is_trusted(peer):
            return peer
        hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop
        return peer  # every hop is a proxy of ours: the request started inside


class RateLimiter:
    """The gateway's Admission: per-person and per-address limits; either one refuses with 429 + Retry-After."""

    def __init__(
        self, user: Rate, address: Rate, client_address: ClientAddress, clock: Callable[[], float] = time.monotonic
    ):
        self._user = Buckets(user, clock) if user.on else None
        self._address = Buckets(address, clock) if address.on else None
        self._client_address = client_address

    @classmethod
    def for_settings(cls, settings: Settings) -> RateLimiter | None:
        """None when both limits are off (the local run's default)."""
        user = Rate(settings.rate_limit_user_per_second, settings.rate_limit_user_burst)
        address = Rate(settings.rate_limit_address_per_second, settings.rate_limit_address_burst)
        if not (user.on or address.on):
            return None
        return cls(user, address, ClientAddress(settings.trusted_proxies))

    async def admit(self, request: web.Request, route: Route, identity: Identity) -> None:
        # Both buckets are charged: a person spread over many addresses, or many people behind one, is held.
        waits = []
        if self._address is not None:
            waits.append(("client address", self._address.take(self._client_address.of(request))))
        if self._user is not None:
            waits.append(("caller", self._user.take(identity.subject)))
        over = [(who, wait) for who, wait in waits if wait > 0]
        if over:
            who, wait = max(over, key=lambda item: item[1])
            retry_after = max(1, math.ceil(wait))
            raise EdgeRefusal(
                code_pb2.RESOURCE_EXHAUSTED,
                f"too many requests from this {who}; retry after {retry_after} s",
                429,
                {"Retry-After": str(retry_after)},
            )
