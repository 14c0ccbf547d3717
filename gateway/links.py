"""`GET /l/{code}`: the public door of tracked links (docs/DESIGN.md "APIs"). No token: anyone with a link may open
it.

- The code is the raw path segment after `/l/`, taken as it is (never percent-decoded, never joined with the
  query string): 22 characters of [0-9A-Za-z] or a 404 without asking anyone. `/l/%2F%2Fevil.com`, `/l/x/y` and
  `/l/<code>?next=https://evil.example` lead nowhere but to the link's own target (or to a 404).
- Commerce's FollowLink (with the gateway's service identity, as the SNS endpoint calls messaging) records the
  open and answers the link's stored target, or NOT_FOUND for unknown, tampered, deleted and expired codes
  alike: 404 with the same body for each. The answer is a 302 whose Location is that stored target, checked
  once more here to be an absolute http(s) URL with no control characters; anything else is a 502, never a
  redirect. No caching (every open reaches us), no Referer to the target (the code stays out of its logs).
- Rate limited per client address (WECARE_LINK_RATE_PER_SECOND / _BURST, the trusted-proxy rule of
  gateway/ratelimit.py): 429 with Retry-After past it.
- The method (HEAD is a preview), User-Agent, Sec-Purpose and the client address go to commerce, which tells
  people from link-preview bots. Browsers get a visitor cookie (`wcv`, random, on `/l/` only) so that on a
  shared link one person opening it twice counts once."""

from __future__ import annotations

import logging
import math
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web

from gateway.ratelimit import Buckets, ClientAddress, Rate
from runtime.auth import ServiceTokens
from runtime.clients import service_channel
from runtime.settings import Settings
from wecare.commerce.v1 import commerce_service_pb2_grpc
from wecare.commerce.v1 import links_pb2 as pb

log = logging.getLogger("wecare.gateway.links")

PREFIX = "/l/"
ROUTE = "/l/{tail:.*}"
CODE = re.compile(r"^[0-9A-Za-z]{22}$")
TARGET = re.compile(r"^https?://[\x21-\x7e]+$")  # printable ASCII, no spaces or controls (commerce stores no other)
VISITOR_COOKIE = "wcv"
VISITOR = re.compile(r"^[0-9A-Za-z_-]{22}$")
VISITOR_MAX_AGE = 365 * 86_400
FOLLOW_TIMEOUT = 5.0
RETRY_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
NO_STORE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}

Follow = Callable[[pb.FollowLinkRequest], Awaitable[pb.FollowLinkResponse]]


class LinkEndpoint:
    def __init__(self, settings: Settings, follow: Follow):
        self._follow = follow
        rate = Rate(settings.link_rate_per_second, settings.link_rate_burst)
        self._limit = Buckets(rate) if rate.on else None
        self._client_address = ClientAddress(settings.trusted_proxies)
        self._secure_cookie = settings.links_base_url.startswith("https://")
        self._closers: list[Callable[[], Awaitable[Any]]] = []

    @classmethod
    def for_settings(cls, settings: Settings) -> LinkEndpoint:
        """Production wiring: FollowLink on commerce with the gateway's service identity."""
        tokens = ServiceTokens(settings, "gateway")
        channel = service_channel(settings.commerce_address, tokens.token)
        stub = commerce_service_pb2_grpc.CommerceServiceStub(channel)

        async def follow(request: pb.FollowLinkRequest) -> pb.FollowLinkResponse:
            return await stub.FollowLink(request, timeout=FOLLOW_TIMEOUT)

        endpoint = cls(settings, follow)
        endpoint._closers.append(channel.close)
        return endpoint

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get(ROUTE, self.handle, allow_head=True)]

    async def close(self) -> None:
        for close in self._closers:
            await close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        address = self._client_address.of(request)
        if self._limit is not None:
            wait = self._limit.take(address)
            if wait > 0:
                retry_after = str(max(1, math.ceil(wait)))
                return _text(429, "too many requests; retry later", {"Retry-After": retry_after})
        code = request.rel_url.raw_path[len(PREFIX) :]
        if not CODE.match(code):
            return _not_found()
        visitor = request.cookies.get(VISITOR_COOKIE, "")
        new_visitor = "" if VISITOR.match(visitor) else secrets.token_urlsafe(16)
        try:
            reply = await self._follow(
                pb.FollowLinkRequest(
                    code=code,
                    http_method=request.method,
                    user_agent=request.headers.get("User-Agent", "")[:1000],
                    purpose=request.headers.get("Sec-Purpose", request.headers.get("Purpose", ""))[:100],
                    client_address=address,
                    visitor=new_visitor or visitor,
                )
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                return _not_found()
            log.error("link not followed", extra={"code_name": exc.code().name, "detail": exc.details()})
            if exc.code() in RETRY_CODES:
                return _text(503, "links are unavailable for a moment; retry", {"Retry-After": "1"})
            return _text(500, "the link could not be opened")
        if not TARGET.match(reply.target_url):
            log.error(
                "refusing to redirect to a stored target that is not a plain http(s) URL", extra={"link": reply.link}
            )
            return _text(502, "the link could not be opened")
        response = web.Response(status=302, headers={"Location": reply.target_url, **NO_STORE})
        if new_visitor and reply.outcome != pb.FOLLOW_OUTCOME_PREVIEW:
            response.set_cookie(
                VISITOR_COOKIE,
                new_visitor,
                max_age=VISITOR_MAX_AGE,
                path=PREFIX,
                httponly=True,
                secure=self._secure_cookie,
                samesite="Lax",
            )
        return response


def _not_found() -> web.Response:
    return _text(404, "no such link")


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers={**NO_STORE, **(headers or {})})
