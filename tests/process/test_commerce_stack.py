"""The commerce service in the stack as `make run` starts it, and on its own, checked over the network only:

- in the stack: CommerceService, Health and ServerReflection listed by reflection with no proto files and no
  token, health SERVING; the gateway's /readyz counts it; a link made through the gateway's JSON API, opened on the
  public `/l/{code}` (a preview, then a click), counted on GetLink; its LinkTable file in the run dir; a form
  created and published through the gateway (its Flow through the sandbox's EUM Social), its flow message sent
  to the sandbox as messaging will send it, answered as messaging's ingest will submit the customer's nfm_reply
  (once, whatever the repeats), the opt-in's consent on the contact, the CSV through the gateway;
- on its own (`python -m services.commerce`, drain 1 s): SIGTERM turns health NOT_SERVING first, a call made
  during the drain still succeeds, then the process stops taking calls and exits 0."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
import time

import boto3
import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from localrun.procs import free_port, start_python, stop
from localrun.stack import grpc_serving
from runtime.auth import ServiceTokens
from runtime.settings import Settings
from wecare.commerce.v1 import commerce_service_pb2_grpc as pb_grpc
from wecare.commerce.v1 import forms_pb2
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


def test_a_form_published_through_the_sandbox_sent_and_answered_once(stack):
    gateway = f"http://{stack.addresses['gateway']}/v1"
    operator = {"Authorization": f"Bearer {stack.token('operator')}"}
    admin = {"Authorization": f"Bearer {stack.token('admin')}"}
    customer = "+919812377001"
    contact = requests.post(f"{gateway}/contacts", json={"phoneNumber": customer}, headers=operator, timeout=10).json()
    fields = [
        {
            "key": "name",
            "label": "Your name",
            "type": "FIELD_TYPE_TEXT",
            "required": True,
            "contactField": "display_name",
        },
        {"key": "rating", "label": "Rating", "type": "FIELD_TYPE_NUMBER", "minValue": "1", "maxValue": "5"},
        {
            "key": "offers",
            "label": "Offers on WhatsApp",
            "type": "FIELD_TYPE_OPT_IN",
            "consentChannel": "CHANNEL_WHATSAPP",
        },
    ]
    form = requests.post(
        f"{gateway}/forms", json={"displayName": "Visit feedback", "fields": fields}, headers=operator, timeout=10
    ).json()
    bad = requests.post(f"{gateway}/forms", json={"displayName": "x", "fields": []}, headers=operator, timeout=10)
    assert bad.status_code == 400 and bad.json()["details"][0]["fieldViolations"][0]["field"] == "form.fields"
    published = requests.post(f"{gateway}/{form['name']}:publish", json={}, headers=admin, timeout=30)
    assert published.status_code == 200, published.text
    flow_id = published.json()["flow"]["flowId"]
    social = boto3_social(stack)
    waba = Settings.from_env(stack.settings_env()).whatsapp_wabas[0]
    assert social.get_whatsapp_flow(id=waba, flowId=flow_id)["flowStatus"] == "PUBLISHED"

    invitation = requests.post(
        f"{gateway}/{form['name']}/invitations",
        json={"recipient": customer, "contact": contact["name"]},
        headers=operator,
        timeout=10,
    ).json()
    # What messaging will do with it: send the flow message through EUM Social (the sandbox records the token) ...
    phone = Settings.from_env(stack.settings_env()).whatsapp_phone_number_ids[0]
    message = {
        "messaging_product": "whatsapp",
        "to": customer,
        "type": "interactive",
        "interactive": json.loads(invitation["flowMessage"]["interactiveJson"]),
    }
    social.send_whatsapp_message(
        originationPhoneNumberId=phone, message=json.dumps(message).encode(), metaApiVersion="v20.0"
    )
    sandbox = f"http://{stack.addresses['sandbox']}"
    sent = requests.get(f"{sandbox}/sandbox/flows/sent", params={"to": customer}, timeout=10).json()["sent"]
    assert [s["flow_token"] for s in sent] == [invitation["flowToken"]]
    # ... and submit the customer's nfm_reply from its ingest, with its own identity (twice: a replay).
    answer = {"flow_token": invitation["flowToken"], "name": "Meera", "rating": "5", "offers": True}
    as_messaging = Settings.from_env({**stack.settings_env(), **stack.identity_env("messaging")})  # the stack's key
    token = ServiceTokens(as_messaging, "messaging").token()
    with grpc.insecure_channel(stack.addresses["commerce"]) as channel:
        stub = pb_grpc.CommerceServiceStub(channel)
        request = forms_pb2.SubmitFormResponseRequest(
            response_json=json.dumps(answer), sender=customer, reply_wamid="wamid.process-test"
        )
        first = stub.SubmitFormResponse(request, metadata=(("authorization", f"Bearer {token}"),), timeout=30)
        again = stub.SubmitFormResponse(request, metadata=(("authorization", f"Bearer {token}"),), timeout=30)
    assert not first.duplicate and again.duplicate and again.response.name == first.response.name
    assert first.response.contact_sync == forms_pb2.CONTACT_SYNC_APPLIED
    updated = requests.get(f"{gateway}/{contact['name']}", headers=operator, timeout=10).json()
    assert updated["displayName"] == "Meera"
    assert updated["whatsappConsent"]["state"] == "CONSENT_STATE_OPTED_IN"
    assert updated["whatsappConsent"]["source"] == f"form:{form['name']}"
    exported = requests.get(
        f"{gateway}/{form['name']}/responses:export", params={"access_token": stack.token("viewer")}, timeout=10
    )
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["recipient"], r["name"], r["rating"], r["offers"]) for r in rows] == [(customer, "Meera", "5", "true")]
    assert "FormsTable.sqlite3" in {p.name for p in stack.run.data.iterdir()}


def boto3_social(stack):
    """The socialmessaging client as the services use it, pointed at the stack's sandbox."""
    return boto3.client(
        "socialmessaging",
        endpoint_url=f"http://{stack.addresses['sandbox']}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


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
