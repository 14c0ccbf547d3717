"""Server streams as Server-Sent Events, against a real server-streaming gRPC method: grpc.health.v1.Health/Watch.
No WECARE service streams yet, so the test binds it a route through the same route-building code the annotated
RPCs go through (Route.build from an HttpRule)."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from google.api import http_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gateway.app import Channels, Gateway
from gateway.routes import Route
from gateway.sse import event
from wecare.auth.v1 import access_pb2

WATCH = health_pb2.DESCRIPTOR.services_by_name["Health"].methods_by_name["Watch"]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class WatchedHealth(health.aio.HealthServicer):
    """The stock health servicer, counting the Watch calls in progress on the server side."""

    def __init__(self):
        super().__init__()
        self.watching = 0

    async def Watch(self, request, context):
        self.watching += 1
        try:
            await super().Watch(request, context)
        finally:
            self.watching -= 1


@pytest.fixture
async def health_backend():
    servicer = WatchedHealth()
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await servicer.set("probe", SERVING)
    yield server, servicer, f"127.0.0.1:{port}"
    await server.stop(0)


async def sse_gateway(settings_for, verifier, make_client, address: str, keepalive: float = 15.0):
    settings = settings_for("127.0.0.1:1")  # the contacts routes exist but are never called here
    channels = Channels()
    watch = Route.build(
        WATCH,
        http_pb2.HttpRule(get="/v1/health/{service}:watch"),
        access_pb2.Access(min_role=access_pb2.ROLE_VIEWER),
        channels.get(address),
        address,
    )
    gateway = Gateway(
        settings, verifier(settings), channels=channels, extra_rpc_routes=[watch], sse_keepalive=keepalive
    )
    return await make_client(gateway)


async def next_event(response) -> dict[str, str]:
    """One SSE event's fields; comment lines are collected under ':'."""
    fields: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode()
        if line in ("\n", ""):
            if fields or line == "":
                return fields
            continue
        name, _, value = line.rstrip("\n").partition(":")
        fields[name or ":"] = value.lstrip(" ")


async def test_messages_stream_as_events_and_a_failure_as_an_error_event(
    health_backend, settings_for, verifier, make_client, user_pool
):
    server, servicer, address = health_backend
    client = await sse_gateway(settings_for, verifier, make_client, address)
    response = await client.get("/v1/health/probe:watch", headers=user_pool.auth("viewer"))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-cache"
    assert await next_event(response) == {"data": '{"status":"SERVING"}'}
    await servicer.set("probe", NOT_SERVING)
    assert json.loads((await next_event(response))["data"]) == {"status": "NOT_SERVING"}
    await server.stop(0)  # the stream fails mid-way
    failed = await next_event(response)
    assert failed["event"] == "error"
    status = json.loads(failed["data"])
    assert status["code"] == 14 and "message" in status and status["details"] == []
    assert await asyncio.wait_for(response.content.read(), 5) == b""  # and the stream ends


async def test_a_failure_before_the_first_message_is_a_plain_http_error(settings_for, verifier, make_client, user_pool):
    client = await sse_gateway(settings_for, verifier, make_client, "127.0.0.1:1")  # nothing listens there
    response = await client.get("/v1/health/probe:watch", headers=user_pool.auth("viewer"))
    assert response.status == 503
    assert response.headers["Content-Type"].startswith("application/json")
    assert (await response.json())["code"] == 14


class QuietWatch(health.aio.HealthServicer):
    """A watch that is live (its headers sent) with nothing to say, as WatchConversations on a quiet inbox."""

    async def Watch(self, request, context):
        await context.send_initial_metadata(())
        await asyncio.sleep(30)


async def test_a_live_watch_with_nothing_to_say_yet_answers_at_once(settings_for, verifier, make_client, user_pool):
    servicer = QuietWatch()
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        client = await sse_gateway(settings_for, verifier, make_client, f"127.0.0.1:{port}", keepalive=15.0)
        # Not after the 15 s keep-alive: the browser learns it is connected as soon as the backend is live.
        response = await asyncio.wait_for(client.get("/v1/health/probe:watch", headers=user_pool.auth("viewer")), 5)
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        response.close()
    finally:
        await server.stop(0)


async def test_access_token_parameter_on_event_stream_routes_only(
    health_backend, settings_for, verifier, make_client, user_pool
):
    _, _, address = health_backend
    client = await sse_gateway(settings_for, verifier, make_client, address)
    token = user_pool.token("viewer")
    response = await client.get("/v1/health/probe:watch", params={"access_token": token})
    assert response.status == 200
    assert await next_event(response) == {"data": '{"status":"SERVING"}'}
    response.close()
    refused = await client.get("/v1/health/probe:watch", params={"access_token": "forged"})
    assert refused.status == 401
    # A unary route does not read the parameter: no token, 401
    unary = await client.get("/v1/contacts", params={"access_token": token})
    assert unary.status == 401
    # and with a header as well, it is an unknown query parameter
    both = await client.get("/v1/contacts", params={"access_token": token}, headers=user_pool.auth("viewer"))
    assert both.status == 400
    assert "access_token" in (await both.json())["message"]
    # The route's declared access still applies to the query token
    nobody = await client.get("/v1/health/probe:watch", params={"access_token": user_pool.token()})
    assert nobody.status == 403


async def test_client_disconnect_cancels_the_grpc_call(health_backend, settings_for, verifier, make_client, user_pool):
    _, servicer, address = health_backend
    client = await sse_gateway(settings_for, verifier, make_client, address)
    response = await client.get("/v1/health/probe:watch", headers=user_pool.auth("viewer"))
    assert await next_event(response) == {"data": '{"status":"SERVING"}'}
    assert servicer.watching == 1
    response.close()  # the browser tab goes away
    for _ in range(250):
        if servicer.watching == 0:
            break
        await asyncio.sleep(0.02)
    assert servicer.watching == 0, "the server-side Watch is still running after the client left"


async def test_idle_streams_carry_keepalive_comments(health_backend, settings_for, verifier, make_client, user_pool):
    _, _, address = health_backend
    client = await sse_gateway(settings_for, verifier, make_client, address, keepalive=0.05)
    response = await client.get("/v1/health/probe:watch", headers=user_pool.auth("viewer"))
    assert await next_event(response) == {"data": '{"status":"SERVING"}'}
    assert await next_event(response) == {":": "keep-alive"}
    response.close()


def test_event_data_is_always_one_line():
    assert event({"text": "two\nlines"}) == b'data: {"text":"two\\nlines"}\n\n'
    assert event({"code": 5}, "error") == b'event: error\ndata: {"code":5}\n\n'
