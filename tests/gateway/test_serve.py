"""The gateway as a process: `python -m gateway` serves, logs one JSON line per request and exits 0 on SIGTERM;
a graceful stop lets in-flight requests finish, ends open event streams cleanly and refuses new connections."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import aiohttp
import grpc
import pytest
from google.api import http_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gateway.app import Channels, Gateway
from gateway.main import serve
from gateway.routes import Route
from localrun.procs import free_port, start_python
from wecare.auth.v1 import access_pb2

HEALTH = health_pb2.DESCRIPTOR.services_by_name["Health"]


class SlowHealth(health.aio.HealthServicer):
    """Check takes half a second: long enough to be in flight when the gateway is told to stop."""

    async def Check(self, request, context):
        await asyncio.sleep(0.5)
        return await super().Check(request, context)


@pytest.fixture
async def slow_backend():
    servicer = SlowHealth()
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await servicer.set("probe", health_pb2.HealthCheckResponse.SERVING)
    yield f"127.0.0.1:{port}"
    await server.stop(0)


async def wait_until_up(url: str, proc=None, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {proc.returncode}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(url)


async def test_graceful_stop_finishes_in_flight_work(slow_backend, settings_for, verifier, user_pool):
    port = free_port()
    settings = settings_for("127.0.0.1:1", gateway_address=f"127.0.0.1:{port}", grace_seconds=10.0)
    channels = Channels()
    access = access_pb2.Access(min_role=access_pb2.ROLE_VIEWER)
    routes = [
        Route.build(HEALTH.methods_by_name[m], rule, access, channels.get(slow_backend), slow_backend)
        for m, rule in [
            ("Check", http_pb2.HttpRule(get="/v1/health/{service}")),
            ("Watch", http_pb2.HttpRule(get="/v1/health/{service}:watch")),
        ]
    ]
    gateway = Gateway(settings, verifier(settings), channels=channels, extra_rpc_routes=routes)
    stop, started = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(serve(gateway, stop, started))
    await asyncio.wait_for(started.wait(), 10)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(headers=user_pool.auth("viewer")) as http:
        stream = await http.get(f"{base}/v1/health/probe:watch")
        assert stream.status == 200
        assert await stream.content.readline() == b'data: {"status":"SERVING"}\n'
        in_flight = asyncio.create_task(http.get(f"{base}/v1/health/probe"))
        await asyncio.sleep(0.2)  # the Check is now waiting on the slow backend
        began = time.monotonic()
        stop.set()
        response = await asyncio.wait_for(in_flight, 10)
        assert response.status == 200
        assert await response.json() == {"status": "SERVING"}
        # The open stream ends cleanly (no error event): the EventSource reconnects to another replica
        rest = await asyncio.wait_for(stream.content.read(), 10)
        assert b"event: error" not in rest
        await asyncio.wait_for(serving, 10)
        assert time.monotonic() - began < settings.grace_seconds / 2  # did not sit out the grace period
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"{base}/healthz")
    assert gateway.draining


async def test_python_m_gateway_serves_logs_and_exits_0_on_sigterm(contacts_backend, user_pool, jwks_url, tmp_path):
    port = free_port()
    log_path = tmp_path / "gateway.log"
    env = {
        "WECARE_GATEWAY_ADDRESS": f"127.0.0.1:{port}",
        "WECARE_CONTACTS_ADDRESS": contacts_backend.address,
        "WECARE_COGNITO_ISSUER": user_pool.pool.issuer,
        "WECARE_COGNITO_CLIENT_ID": user_pool.pool.client_id,
        "WECARE_COGNITO_JWKS_URL": jwks_url,
        "WECARE_GRACE_SECONDS": "5",
        "WECARE_LOG_LEVEL": "INFO",
    }
    proc = start_python("gateway", env, log_path)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_until_up(f"{base}/healthz", proc=proc)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/readyz") as ready:
                # Only contacts runs here, and ready means every backend: the others are named as missing.
                body = await ready.json()
                assert ready.status == 503 and not body["ready"]
                assert body["backends"]["contacts/wecare.contacts.v1.ContactsService"] == "SERVING"
                assert any(name.startswith("ai/") and state != "SERVING" for name, state in body["backends"].items())
            async with http.get(f"{base}/v1/contacts", headers=user_pool.auth("viewer")) as listed:
                assert listed.status == 200
            async with http.get(f"{base}/v1/contacts", params={"access_token": "secret-in-url"}) as refused:
                assert refused.status == 401
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(asyncio.to_thread(proc.wait), 20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["message"] == "request"]
    listed_line = next(r for r in requests if r["path"] == "/v1/contacts" and r["status"] == 200)
    assert listed_line["method"] == "GET" and listed_line["route"] == "/v1/contacts" and listed_line["ms"] >= 0
    assert listed_line["service"] == "gateway" and len(listed_line["trace_id"]) == 32
    assert any(r["path"] == "/readyz" and r["status"] == 503 for r in requests)
    assert "secret-in-url" not in log_path.read_text()  # tokens in query strings never reach the log
    assert lines[-1]["message"] == "stopped"
