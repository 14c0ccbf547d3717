"""`GET /l/{code}` (gateway/links.py) on the gateway's extra-routes seam, in front of the real commerce service
(wired as its main() wires it, SQLite in tmp_path): 302 to the stored target and nothing else, whatever the path
or query carries; 404 alike for unknown, malformed, tampered, deleted and expired codes; no token needed; clicks
vs previews by user agent and HEAD, counted once per person; the visitor cookie; 429 past the per-address rate;
503 when commerce is down; and a stored target that is not a plain http(s) URL is never redirected to."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.protobuf import timestamp_pb2

from gateway.app import Gateway
from gateway.links import LinkEndpoint
from runtime import ids
from services.commerce.main import wire as wire_commerce
from tests.support.servers import running
from wecare.commerce.v1 import commerce_service_pb2_grpc as pb_grpc
from wecare.commerce.v1 import links_pb2 as pb

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Version/17.1 Mobile Safari/604.1"
TARGET = "https://shop.example/sale?utm_source=whatsapp"


@pytest.fixture
async def links(user_pool, tmp_path, make_client, settings_for, verifier):
    """Commerce in this loop, a gateway with the link endpoint in front of it (`limited()` makes another with a
    rate of 2/s, burst 6), and a stub for making links as an operator."""
    endpoints: list[LinkEndpoint] = []

    async def gateway(**overrides):
        settings = settings_for("127.0.0.1:1", commerce_address=commerce.address, **overrides)
        endpoints.append(LinkEndpoint.for_settings(settings))
        return await make_client(
            Gateway(settings, verifier(settings), backends=(), extra_routes=endpoints[-1].routes())
        )

    async with running("commerce", wire_commerce, user_pool.pool, tmp_path) as commerce:
        client = await gateway()
        async with grpc.aio.insecure_channel(commerce.address) as channel:
            stub = pb_grpc.CommerceServiceStub(channel)
            operator = (("authorization", f"Bearer {user_pool.token('operator')}"),)
            admin = (("authorization", f"Bearer {user_pool.token('admin')}"),)
            viewer = (("authorization", f"Bearer {user_pool.token('viewer')}"),)

            class Env:
                http = client

                @staticmethod
                async def limited():
                    return await gateway(link_rate_per_second=2.0, link_rate_burst=6)

                @staticmethod
                async def make(**fields) -> pb.Link:
                    fields.setdefault("target_url", TARGET)
                    return await stub.CreateLink(pb.CreateLinkRequest(link=pb.Link(**fields)), metadata=operator)

                @staticmethod
                async def stats(link: pb.Link) -> pb.LinkStats:
                    return (await stub.GetLink(pb.GetLinkRequest(name=link.name), metadata=viewer)).stats

                @staticmethod
                async def delete(link: pb.Link) -> None:
                    await stub.DeleteLink(pb.DeleteLinkRequest(name=link.name), metadata=admin)

                @staticmethod
                async def open(path: str, agent: str = BROWSER, method: str = "GET", via=None, **headers):
                    http = via or client
                    http.session.cookie_jar.clear()  # each request carries the cookies it names, no others
                    response = await http.request(
                        method, path, headers={"User-Agent": agent, **headers}, allow_redirects=False
                    )
                    await response.read()
                    return response

            yield Env
        for endpoint in endpoints:
            await endpoint.close()


async def test_302_to_the_stored_target_with_no_token_and_no_caching(links):
    link = await links.make()
    response = await links.open(f"/l/{link.code}")
    assert response.status == 302
    assert response.headers["Location"] == TARGET
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    cookie = response.cookies["wcv"]
    assert cookie["path"] == "/l/" and cookie["httponly"] and len(cookie.value) == 22


@pytest.mark.parametrize(
    "suffix",
    [
        "?next=https://evil.example/",
        "?url=%2F%2Fevil.example&redirect=https://evil.example",
        "#https://evil.example",
        "?" + "x" * 3000,
    ],
)
async def test_the_query_never_changes_where_a_link_goes(links, suffix):
    link = await links.make()
    response = await links.open(f"/l/{link.code}{suffix}")
    assert response.status == 302 and response.headers["Location"] == TARGET


async def test_crafted_paths_are_404_never_a_redirect(links):
    link = await links.make()
    for path in (
        "/l/%2F%2Fevil.com",
        "/l//evil.com",
        "/l/https:%2F%2Fevil.com",
        "/l/https://evil.com",
        "/l/%5C%5Cevil.com",
        f"/l/{link.code}/https://evil.com",
        f"/l/{link.code}%2F..%2F",
        f"/l/{link.code}%00",
        f"/l/{link.code[:-1]}%41",  # percent-encoded, even of a code character: the raw path must be the code
        f"/l/{link.code}x",
        "/l/",
        "/l/..%2F..%2Fv1%2Fcontacts",
    ):
        response = await links.open(path)
        assert response.status == 404, path
        assert "Location" not in response.headers, path
        assert await response.text() == "no such link\n"


def in_two_seconds() -> timestamp_pb2.Timestamp:
    """An expiry far enough ahead that a loaded machine still creates the link before it."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int((time.time() + 2) * 1e9))
    return stamp


async def test_unknown_tampered_deleted_and_expired_codes_are_404_alike(links):
    live = await links.make()
    expiring = await links.make(expire_time=in_two_seconds())
    deleted = await links.make()
    await links.delete(deleted)
    flipped = chr(ord(live.code[5]) + 1) if live.code[5] not in "9Zz" else "0"
    tampered = live.code[:5] + flipped + live.code[6:]
    expires_at = expiring.expire_time.ToNanoseconds() / 1e9
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.1)
    answers = set()
    for code in ("A" * 22, tampered, deleted.code, expiring.code, "z" * 22):
        response = await links.open(f"/l/{code}")
        assert response.status == 404, code
        answers.add((await response.text(), response.headers.get("Location")))
    assert answers == {("no such link\n", None)}
    assert (await links.open(f"/l/{live.code}")).status == 302


async def test_previews_by_user_agent_and_head_are_not_clicks(links):
    link = await links.make(contact=f"contacts/{ids.new_id()}")
    for agent in ("WhatsApp/2.23.20.0 A", "facebookexternalhit/1.1", "TelegramBot (like TwitterBot)", "Slackbot 1.0"):
        response = await links.open(f"/l/{link.code}", agent)
        assert response.status == 302 and response.headers["Location"] == TARGET  # a preview needs the target too
        assert "wcv" not in response.cookies
    assert (await links.open(f"/l/{link.code}", BROWSER, "HEAD")).status == 302
    assert (await links.open(f"/l/{link.code}", BROWSER, **{"Sec-Purpose": "prefetch"})).status == 302
    stats = await links.stats(link)
    assert (stats.click_count, stats.unique_clickers, stats.preview_count) == (0, 0, 6)
    await links.open(f"/l/{link.code}")
    await links.open(f"/l/{link.code}")
    stats = await links.stats(link)
    assert (stats.click_count, stats.unique_clickers, stats.preview_count) == (2, 1, 6)


async def test_on_a_shared_link_the_visitor_cookie_tells_people_apart(links):
    link = await links.make()
    first = await links.open(f"/l/{link.code}")
    cookie = first.cookies["wcv"].value
    await links.open(f"/l/{link.code}", Cookie=f"wcv={cookie}")  # the same browser again
    await links.open(f"/l/{link.code}", Cookie="wcv=forged;")  # not a cookie we make: a new visitor
    stats = await links.stats(link)
    assert (stats.click_count, stats.unique_clickers) == (3, 2)


async def test_past_the_rate_an_address_gets_429_and_nothing_is_recorded(links):
    link = await links.make()
    limited = await links.limited()
    statuses = [(await links.open(f"/l/{link.code}", via=limited)).status for _ in range(8)]
    assert statuses[:6] == [302] * 6
    assert 429 in statuses[6:]
    refused = await links.open(f"/l/{link.code}", via=limited)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Location" not in refused.headers
    assert (await links.stats(link)).click_count == statuses.count(302)
    assert (await links.open("/l/%2F%2Fevil.com", via=limited)).status == 429  # scanning costs tokens too
    assert (await links.open(f"/l/{link.code}")).status == 302  # the limit is per gateway replica and address


async def test_only_get_and_head(links):
    link = await links.make()
    response = await links.http.post(f"/l/{link.code}", allow_redirects=False)
    assert response.status in (404, 405) and "Location" not in response.headers


async def test_commerce_down_is_503_and_a_foreign_target_is_never_followed(make_client, settings_for, verifier):
    settings = settings_for("127.0.0.1:1")

    async def down(request):
        raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down")

    client = await make_client(
        Gateway(settings, verifier(settings), backends=(), extra_routes=LinkEndpoint(settings, down).routes())
    )
    response = await client.get("/l/" + "A" * 22, allow_redirects=False)
    assert response.status == 503 and response.headers["Retry-After"] == "1"

    for stored in ("javascript:alert(1)", "//evil.example", "https://ok.example/\r\nSet-Cookie: a=b", ""):

        async def odd(request, stored=stored):
            return pb.FollowLinkResponse(target_url=stored, link="links/x", outcome=pb.FOLLOW_OUTCOME_CLICK)

        client = await make_client(
            Gateway(settings, verifier(settings), backends=(), extra_routes=LinkEndpoint(settings, odd).routes())
        )
        response = await client.get("/l/" + "A" * 22, allow_redirects=False)
        assert response.status == 502 and "Location" not in response.headers, stored
