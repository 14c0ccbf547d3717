"""The commerce service in the stack as `make run` starts it, and on its own, checked over the network only:

- in the stack: CommerceService, Health and ServerReflection listed by reflection with no proto files and no
  token, health SERVING; the gateway's /readyz counts it; a link made through the gateway's JSON API, opened on the
  public `/l/{code}` (a preview, then a click), counted on GetLink; its LinkTable file in the run dir;
- on its own (`python -m services.commerce`, drain 1 s): SIGTERM turns health NOT_SERVING first, a call made
  during the drain still succeeds, then the process stops taking calls and exits 0."""

from __future__ import annotations

import asyncio
import signal
import time

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from localrun.procs import free_port, start_python, stop
from localrun.stack import grpc_serving
from wecare.commerce.v1 import commerce_service_pb2_grpc as pb_grpc
from wecare.commerce.v1 import links_pb2 as pb

pytestmark = pytest.mark.process

SERVICE = "wecare.commerce.v1.CommerceService"


def test_commerce_answers_health_and_reflection_in_the_stack(stack):
    address = stack.addresses["commerce"]
    assert grpc_serving(address, SERVICE) and grpc_serving(address, "")
    with grpc.insecure_channel(address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= set(
            database.get_services()
        )
        methods = {m.name for m in database.FindFileContainingSymbol(SERVICE).service[0].method}
        assert {"CreateLink", "BatchCreateLinks", "GetLink", "ListLinks", "DeleteLink", "FollowLink", "ListClicks"} <= (
            methods
        )
        with pytest.raises(grpc.RpcError) as anonymous:
            pb_grpc.CommerceServiceStub(channel).ListLinks(pb.ListLinksRequest(), timeout=10)
        assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
    readyz = requests.get(f"http://{stack.addresses['gateway']}/readyz", timeout=5).json()
    assert readyz["backends"][f"commerce/{SERVICE}"] == "SERVING"


def test_a_link_through_the_gateway_and_its_public_route(stack):
    gateway = f"http://{stack.addresses['gateway']}"
    auth = {"Authorization": f"Bearer {stack.token('operator')}"}
    link = requests.post(
        f"{gateway}/v1/links", json={"targetUrl": "https://shop.example/spring"}, headers=auth, timeout=10
    ).json()
    assert link["shortUrl"].endswith(f"/l/{link['code']}"), link
    preview = requests.get(
        f"{gateway}/l/{link['code']}", headers={"User-Agent": "WhatsApp/2.23.20.0 A"}, allow_redirects=False, timeout=10
    )
    click = requests.get(
        f"{gateway}/l/{link['code']}?next=https://evil.example",
        headers={"User-Agent": "Mozilla/5.0 (Linux; Android 13) Mobile Safari/537.36"},
        allow_redirects=False,
        timeout=10,
    )
    for reply in (preview, click):
        assert reply.status_code == 302 and reply.headers["Location"] == "https://shop.example/spring"
    assert requests.get(f"{gateway}/l/%2F%2Fevil.example", allow_redirects=False, timeout=10).status_code == 404
    bad = requests.post(f"{gateway}/v1/links", json={"targetUrl": "javascript:alert(1)"}, headers=auth, timeout=10)
    assert bad.status_code == 400 and bad.json()["details"][0]["fieldViolations"][0]["field"] == "link.target_url"
    stats = requests.get(f"{gateway}/v1/{link['name']}", headers=auth, timeout=10).json()["stats"]
    assert (stats["clickCount"], stats["uniqueClickers"], stats["previewCount"]) == ("1", "1", "1")
    assert "LinkTable.sqlite3" in {p.name for p in stack.run.data.iterdir()}


async def test_sigterm_drains_then_exits_0(stack, tmp_path):
    address = f"127.0.0.1:{free_port()}"
    env = {
        **stack.settings_env(),
        "WECARE_DATA_DIR": str(tmp_path / "data"),
        "WECARE_COMMERCE_ADDRESS": address,
        "WECARE_DRAIN_SECONDS": "1",
        "WECARE_GRACE_SECONDS": "5",
    }
    log = tmp_path / "commerce.log"
    proc = start_python("services.commerce", env, log)
    try:
        deadline = time.monotonic() + 60
        while not grpc_serving(address, SERVICE):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        token = (("authorization", f"Bearer {stack.token('viewer')}"),)
        async with grpc.aio.insecure_channel(address) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE))
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
            proc.send_signal(signal.SIGTERM)
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
            watch.cancel()
            # Draining: still served.
            listed = await pb_grpc.CommerceServiceStub(channel).ListLinks(pb.ListLinksRequest(), metadata=token)
            assert list(listed.links) == []
        assert await asyncio.to_thread(proc.wait, 30) == 0, log.read_text()
        assert '"message": "stopped"' in log.read_text()
    finally:
        stop(proc, timeout=10)
