"""Every service started exactly as the dev overlay's Deployment says (its command, the environment its ConfigMaps
and Secret give it), except the addresses and endpoints listed in POINTED_AT_THE_LOCAL_STACK, which point at a
local stack (moto for AWS, its Cognito pool, its sandbox for WhatsApp and SMS); then probed as the readiness and
liveness probes probe (grpc.health.v1 on the service port; /readyz and /healthz for the gateway) and used:

- one trace from the gateway through contacts down to the DynamoDB calls, read from the JSON-lines trace file the
  processes write (WECARE_TRACE_FILE), and one for a streamed send into messaging;
- Prometheus metrics per RPC on the metrics port;
- every AWS call the processes made (WECARE_AWS_CALL_LOG) is allowed by that service's IAM policy in the
  CloudFormation template, evaluated by tests/deploy/iam.py; a write outside the three prefixes is denied;
- SIGTERM stops each one with exit 0, having written nothing outside /tmp."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.services import LIVENESS_SERVICE, SERVICES, by_name
from localrun import jsonl
from localrun.handle import Stack, running_stack
from localrun.procs import free_port
from localrun.tables import ensure_tables
from runtime.settings import Settings
from tests.deploy import iam
from tests.deploy.manifests import ROOT, DeploymentKeys, container_env, template, wecare_deployments
from wecare.messaging.v1 import messaging_service_pb2 as mpb
from wecare.messaging.v1 import messaging_service_pb2_grpc

pytestmark = pytest.mark.process

KEYS = DeploymentKeys()  # the Secrets and public keys an operator makes (deploy/keys.py)
ADDRESSES = {f"WECARE_{s.address_setting.upper()}" for s in SERVICES}
# What the test points at this machine instead of the cluster's: where each process listens and is reached, the
# AWS and channel endpoints, the identity provider, and where telemetry goes. Nothing else is changed.
POINTED_AT_THE_LOCAL_STACK = ADDRESSES | {
    "WECARE_LISTEN_ADDRESS",
    "WECARE_METRICS_PORT",
    "WECARE_AWS_ENDPOINT_URL",
    "WECARE_SOCIAL_MESSAGING_ENDPOINT_URL",
    "WECARE_SMS_VOICE_ENDPOINT_URL",
    "WECARE_COGNITO_ISSUER",
    "WECARE_COGNITO_JWKS_URL",
    "WECARE_COGNITO_CLIENT_ID",
    "WECARE_TRACE_FILE",
    "WECARE_AWS_CALL_LOG",
}


def not_landed() -> dict[str, str]:
    """Services whose code has not fully landed yet, and why: each joins this test by itself once its module runs
    and localrun/tables.py creates the tables its policy names (the dev overlay's store is DynamoDB)."""
    from localrun.tables import TABLES

    created = {attribute for attribute, _ in TABLES}
    waiting = {}
    for s in SERVICES:
        module = ROOT / s.module.replace(".", "/")
        if not ((module / "main.py").exists() or module.with_suffix(".py").exists()):
            waiting[s.name] = f"{s.module} has no main yet"
        elif missing := {*s.aws.tables, *s.aws.read_tables, *s.aws.append_tables} - created:
            waiting[s.name] = f"localrun/tables.py does not create {sorted(missing)} yet"
    return waiting


@dataclass
class Running:
    name: str
    proc: subprocess.Popen
    address: str
    metrics_port: int
    log: Path


@dataclass
class Deployed:
    stack: Stack
    processes: dict[str, Running]
    traces: Path
    calls: Path
    workdir: Path
    skipped: dict[str, str] = field(default_factory=dict)

    def gateway(self) -> str:
        return f"http://{self.processes['gateway'].address}"


def _serving(address: str, service: str = "") -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def ready(r: Running) -> bool:
    """The Deployment's readiness probe, as the kubelet runs it."""
    entry = by_name(r.name)
    if entry.protocol == "grpc":
        return _serving(r.address)  # grpc: {port}: the overall health, service ""
    return _http_ok(f"http://{r.address}{entry.readiness}")


def alive(r: Running) -> bool:
    entry = by_name(r.name)
    if entry.protocol == "grpc":
        return _serving(r.address, LIVENESS_SERVICE)
    return _http_ok(f"http://{r.address}{entry.liveness}")


def _wait(r: Running, check, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if r.proc.poll() is not None:
            pytest.fail(f"{r.name} exited with {r.proc.returncode} before {what}:\n{r.log.read_text()[-4000:]}")
        if check(r):
            return
        time.sleep(0.2)
    pytest.fail(f"{r.name} not {what} within {timeout:.0f}s:\n{r.log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    root = tmp_path_factory.mktemp("as-deployed")
    workdir = root / "app"  # the pod's working directory: the test checks nothing is written there
    workdir.mkdir()
    traces, calls = root / "traces.jsonl", root / "aws-calls.jsonl"
    deployments = wecare_deployments("dev")
    (root / "stack").mkdir()
    with running_stack(root / "stack") as stack:
        facts = stack.settings_env()
        moto = facts["WECARE_AWS_ENDPOINT_URL"]
        sandbox = f"http://{stack.addresses['sandbox']}"
        # The dev overlay's store is DynamoDB: its tables, in the stack's moto (the stack itself runs on SQLite).
        dev = container_env("dev", deployments["contacts"], KEYS.secrets, KEYS.filled)
        table_settings = Settings.from_env(
            {"WECARE_TABLE_PREFIX": dev["WECARE_TABLE_PREFIX"], "AWS_REGION": dev["AWS_REGION"]},
            aws_endpoint_url=moto,
        )
        asyncio.run(ensure_tables(table_settings))

        addresses = {s.name: f"127.0.0.1:{free_port()}" for s in SERVICES}
        skipped = not_landed()
        running: dict[str, Running] = {}
        try:
            for service in SERVICES:  # callees first, the gateway last
                if service.name in skipped:
                    continue
                deployment = deployments[service.name]
                env = container_env("dev", deployment, KEYS.secrets, KEYS.filled)
                overrides = {f"WECARE_{s.address_setting.upper()}": addresses[s.name] for s in SERVICES}
                metrics_port = free_port()
                overrides |= {
                    "WECARE_LISTEN_ADDRESS": addresses[service.name],
                    "WECARE_METRICS_PORT": str(metrics_port),
                    "WECARE_AWS_ENDPOINT_URL": moto,
                    "WECARE_SOCIAL_MESSAGING_ENDPOINT_URL": sandbox,
                    "WECARE_SMS_VOICE_ENDPOINT_URL": sandbox,
                    "WECARE_COGNITO_ISSUER": facts["WECARE_COGNITO_ISSUER"],
                    "WECARE_COGNITO_JWKS_URL": facts["WECARE_COGNITO_JWKS_URL"],
                    "WECARE_COGNITO_CLIENT_ID": facts["WECARE_COGNITO_CLIENT_ID"],
                    "WECARE_TRACE_FILE": str(traces),
                    "WECARE_AWS_CALL_LOG": str(calls),
                }
                assert set(overrides) <= POINTED_AT_THE_LOCAL_STACK
                # The image's environment (deploy/Dockerfile ENV), the pod's, then the local stack's endpoints;
                # the credentials IRSA gives a pod are the local ones here.
                process_env = {
                    "PATH": os.environ["PATH"],
                    "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'gen'}",
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "PYTHONUNBUFFERED": "1",
                    "HOME": str(root / "tmp"),
                    "AWS_ACCESS_KEY_ID": "local",
                    "AWS_SECRET_ACCESS_KEY": "local",
                    **env,
                    **overrides,
                }
                command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
                assert command[:2] == ["python", "-m"]
                log = root / f"{service.name}.log"
                with open(log, "wb") as out:
                    proc = subprocess.Popen(
                        [sys.executable, *command[1:]],
                        env=process_env,
                        cwd=workdir,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                running[service.name] = Running(service.name, proc, addresses[service.name], metrics_port, log)
                _wait(running[service.name], ready, "ready")
            yield Deployed(stack, running, traces, calls, workdir, skipped)
        finally:
            for r in running.values():
                if r.proc.poll() is None:
                    r.proc.terminate()
            for r in running.values():
                try:
                    r.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    r.proc.kill()


def test_every_service_starts_as_deployed_and_passes_its_probes(deployed):
    expected = {s.name for s in SERVICES} - set(deployed.skipped)
    assert set(deployed.processes) == expected
    # These have landed whole; only a service still landing may wait (deployed.skipped says why).
    assert {"contacts", "messaging", "ai", "commerce", "gateway"} <= expected, deployed.skipped
    for r in deployed.processes.values():
        assert ready(r) and alive(r), r.name
    readyz = requests.get(f"{deployed.gateway()}/readyz", timeout=5).json()
    assert readyz["ready"] is True and all(v == "SERVING" for v in readyz["backends"].values())
    # The ConfigMap's settings are the ones in force (the processes log them at start, secrets masked).
    contacts_log = deployed.processes["contacts"].log.read_text()
    assert '"store": "dynamodb"' in contacts_log and '"environment": "dev"' in contacts_log
    assert KEYS.secrets["wecare-keys/page-token-key"] not in contacts_log
    messaging_log = deployed.processes["messaging"].log.read_text()
    assert '"service_key": "***"' in messaging_log and KEYS.secrets["messaging-service-key/key"] not in messaging_log


def _spans(path: Path, trace_id: str, need, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    spans: list[dict] = []
    while time.monotonic() < deadline:
        spans = [s for s in jsonl.records(path) if s["trace_id"] == trace_id]  # written to as we read
        if need(spans):
            return spans
        time.sleep(0.2)
    return spans


def _chain(spans: list[dict], span: dict) -> list[str]:
    """The names of the span and its ancestors, up to the root."""
    by_id = {s["span_id"]: s for s in spans}
    names = []
    while span is not None:
        names.append(f"{span['service']}:{span['kind']}:{span['name']}")
        span = by_id.get(span["parent_id"])
    return names


def test_contact_creation_is_one_trace_from_the_gateway_to_dynamodb(deployed):
    trace_id = uuid.uuid4().hex
    headers = {
        "Authorization": f"Bearer {deployed.stack.token('operator')}",
        "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01",
    }
    made = requests.post(
        f"{deployed.gateway()}/v1/contacts",
        json={"displayName": "Trace Test", "phoneNumber": "+919812300001"},
        headers=headers,
        timeout=10,
    )
    assert made.status_code == 200, made.text

    def complete(spans):
        return any(s["service"] == "wecare-contacts" and s["kind"] == "CLIENT" for s in spans) and any(
            s["service"] == "wecare-gateway" for s in spans
        )

    spans = _spans(deployed.traces, trace_id, complete)
    assert complete(spans), spans
    dynamo = [s for s in spans if s["kind"] == "CLIENT" and s["attributes"].get("rpc.system") == "aws-api"]
    assert {s["attributes"]["rpc.service"] for s in dynamo} == {"DynamoDB"}
    for span in dynamo:
        chain = _chain(spans, span)
        assert chain[-1] == "wecare-gateway:SERVER:POST /v1/contacts", chain  # the root is the gateway's request
        assert any(c.startswith("wecare-contacts:SERVER:") for c in chain), chain
        assert span["attributes"]["http.response.status_code"] == 200
    written = {s["name"] for s in dynamo}
    assert written & {"DynamoDB TransactWriteItems", "DynamoDB PutItem"}, written


def test_a_streamed_send_is_one_trace_into_messaging_and_dynamodb(deployed):
    trace_id = uuid.uuid4().hex
    from tests.messaging.support import whatsapp_template

    origination = Settings().whatsapp_phone_number_ids[0]
    messages = [whatsapp_template(f"+9198123{i:05d}", origination, key=f"trace/{trace_id}/{i}") for i in range(3)]
    metadata = (
        ("authorization", f"Bearer {deployed.stack.token('operator')}"),
        ("traceparent", f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"),
    )
    with grpc.insecure_channel(deployed.processes["messaging"].address) as channel:
        stub = messaging_service_pb2_grpc.MessagingServiceStub(channel)
        progress = list(
            stub.SendMessages(mpb.SendMessagesRequest(messages=messages, progress_interval_ms=100), metadata=metadata)
        )
    assert progress[-1].totals.accepted == 3, progress[-1]

    def complete(spans):
        mine = [s for s in spans if s["service"] == "wecare-messaging"]
        sent = sum(s["attributes"].get("wecare.outcome.sent", 0) for s in mine if s["name"] == "dispatch WHATSAPP")
        return any(s["kind"] == "CLIENT" for s in mine) and any(s["kind"] == "SERVER" for s in mine) and sent == 3

    spans = _spans(deployed.traces, trace_id, complete)
    assert complete(spans), spans
    (server,) = [s for s in spans if s["kind"] == "SERVER" and s["service"] == "wecare-messaging"]
    assert server["name"].endswith("SendMessages")
    for span in (s for s in spans if s["kind"] == "CLIENT" and s["attributes"].get("rpc.system") == "aws-api"):
        assert _chain(spans, span)[-1] == _chain(spans, server)[0], "every AWS call hangs under the streamed RPC"
    # The provider calls, made later by the dispatcher, continue the same trace: the calls of the trace within a
    # second share a span under the streamed RPC's, counting them by outcome (no SendWhatsAppMessage client span).
    sends = [s for s in spans if s["name"] == "dispatch WHATSAPP"]
    assert sum(s["attributes"]["messaging.batch.message_count"] for s in sends) == 3, sends
    assert all(s["attributes"]["wecare.outcome"] == "sent" for s in sends), sends
    assert all(s["kind"] == "PRODUCER" and _chain(spans, s)[-1] == _chain(spans, server)[0] for s in sends), sends
    assert not [s for s in spans if s["attributes"].get("rpc.service") == "SocialMessaging"]


def test_metrics_count_each_rpc(deployed):
    port = deployed.processes["contacts"].metrics_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    created = [
        line
        for line in text.splitlines()
        if line.startswith("wecare_rpc_total{") and "CreateContact" in line and 'code="OK"' in line
    ]
    assert created and float(created[0].rsplit(" ", 1)[1]) >= 1


def _parameters() -> dict[str, Any]:
    values: dict[str, Any] = {k: str(v.get("Default", "")) for k, v in template()["Parameters"].items()}
    values.update({"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": iam.ACCOUNT})
    values.update(iam.channel_parameters(Settings()))  # the dev overlay sends from the settings' default ids
    return values


def _policies() -> tuple[dict[str, dict], dict]:
    parameters = _parameters()
    roles = {}
    for service in SERVICES:
        if service.aws.any:
            role = template()["Resources"][f"{service.name.capitalize()}Role"]
            roles[service.name] = iam.resolve(role["Properties"]["Policies"][0]["PolicyDocument"], parameters)
    bucket_policy = next(r for r in template()["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy")
    return roles, iam.resolve(bucket_policy["Properties"]["PolicyDocument"], parameters)


def test_every_recorded_aws_call_is_allowed_by_its_services_policy(deployed):
    # Some traffic for each service's AWS paths beyond the contact and the sends above.
    auth = {"Authorization": f"Bearer {deployed.stack.token('admin')}"}
    base = f"{deployed.gateway()}/v1"
    name = requests.post(f"{base}/contacts", json={"email": "iam@example.com"}, headers=auth, timeout=10).json()["name"]
    for method, path, body in (
        ("GET", f"/{name}", None),
        ("PATCH", f"/{name}?updateMask=displayName", {"displayName": "I Am"}),
        ("GET", "/contacts:search?query=iam", None),
        ("GET", "/contacts?pageSize=5", None),
        ("GET", "/auditRecords?pageSize=5", None),
        (
            "POST",
            "/documents",
            {"title": "Hours", "content": "We open at nine.", "contentType": "CONTENT_TYPE_PLAIN_TEXT"},
        ),
        ("GET", "/documents", None),
        ("DELETE", f"/{name}", None),
    ):
        reply = requests.request(method, base + path, json=body, headers=auth, timeout=10)
        assert reply.status_code == 200, f"{method} {path}: {reply.text}"
    # Commerce: a tracked link made, listed, opened on the public route (a click and a preview), read with its
    # counts, its clicks listed, deleted.
    job = "bulkJobs/01J00000000000000000000000"
    link = requests.post(
        f"{base}/links",
        json={"targetUrl": "https://shop.example/sale", "job": job, "contact": "contacts/01J00000000000000000000001"},
        headers=auth,
        timeout=10,
    ).json()
    short = f"{deployed.gateway()}/l/{link['code']}"
    opened = requests.get(short, headers={"User-Agent": "Mozilla/5.0"}, allow_redirects=False, timeout=10)
    assert opened.status_code == 302 and opened.headers["Location"] == "https://shop.example/sale", opened.text
    preview = requests.get(short, headers={"User-Agent": "WhatsApp/2.23.20.0 A"}, allow_redirects=False, timeout=10)
    assert preview.status_code == 302
    for method, path in (("GET", "/links?pageSize=5"), ("GET", f"/clicks?job={job}"), ("GET", f"/{link['name']}")):
        reply = requests.request(method, base + path, headers=auth, timeout=10)
        assert reply.status_code == 200, f"{method} {path}: {reply.text}"
    stats = reply.json()["stats"]
    assert (stats["clickCount"], stats["previewCount"]) == ("1", "1"), stats
    assert requests.delete(f"{base}/{link['name']}", headers=auth, timeout=10).status_code == 200
    # Commerce: a form previewed, published and deprecated (its WhatsApp Flow through EUM Social: the sandbox), an
    # invitation made, its responses listed and exported as CSV.
    fields = [{"key": "score", "label": "Score", "type": "FIELD_TYPE_NUMBER", "required": True}]
    form = requests.post(
        f"{base}/forms", json={"displayName": "IAM check", "fields": fields}, headers=auth, timeout=10
    ).json()
    for method, path, body in (
        ("POST", f"/{form['name']}:preview", {}),
        ("POST", f"/{form['name']}:publish", {}),
        ("POST", f"/{form['name']}/invitations", {"recipient": "+919812345678"}),
        ("GET", f"/{form['name']}/responses", None),
        ("GET", f"/{form['name']}/responses:export", None),
        ("POST", f"/{form['name']}:deprecate", {}),
    ):
        reply = requests.request(method, base + path, json=body, headers=auth, timeout=10)
        assert reply.status_code == 200, f"{method} {path}: {reply.text}"
    assert reply.json()["state"] == "FORM_STATE_DEPRECATED"
    messaging = deployed.processes["messaging"].address
    with grpc.insecure_channel(messaging) as channel:
        stub = messaging_service_pb2_grpc.MessagingServiceStub(channel)
        admin = (("authorization", f"Bearer {deployed.stack.token('admin')}"),)
        for queue in (mpb.DEAD_LETTER_QUEUE_OUTBOUND, mpb.DEAD_LETTER_QUEUE_INBOUND):
            stub.ListDeadLetters(mpb.ListDeadLettersRequest(queue=queue, page_size=5), metadata=admin)
    time.sleep(2.0)  # the dispatcher's sends of the earlier test land in the log

    calls = jsonl.records(deployed.calls)  # the processes go on writing it
    owners = {c["owner"] for c in calls}
    assert {"contacts", "messaging", "ai", "commerce"} <= owners, owners
    services = {(c["owner"], c["signing_name"]) for c in calls}
    assert ("messaging", "social-messaging") in services and ("messaging", "sqs") in services, services
    assert ("commerce", "social-messaging") in services, services
    roles, bucket_policy = _policies()
    refused = []
    for call in calls:
        assert call["owner"] in roles, f"{call['owner']} called AWS but has no IAM role: {call}"
        for request in iam.requests_of(call):
            resource_policy = bucket_policy if request.action.startswith("s3:") else None
            verdict = iam.decide(request.action, request.resource, roles[call["owner"]], resource_policy)
            if verdict != "Allow":
                refused.append((call["owner"], request, verdict))
    assert not refused, "\n".join(map(str, refused))


def test_writes_outside_the_three_prefixes_are_denied():
    roles, bucket_policy = _policies()
    bucket = "arn:aws:s3:::stream.wecare.digital"
    incoming = f"{bucket}/whatsapp-media/whatsapp-media-incoming/m1.jpg"
    report = f"{bucket}/base-wecare-digital/reports/J1.json"

    def put(owner: str, key: str, policy=None) -> str:
        return iam.decide("s3:PutObject", key, policy or roles[owner], bucket_policy)

    assert put("messaging", incoming) == "Allow"
    assert put("bulk", report) == "Allow"
    assert put("messaging", f"{bucket}/elsewhere/m1.jpg") != "Allow"
    assert put("messaging", f"{bucket}/whatsapp-media/m1.jpg") != "Allow"  # the parent of two prefixes
    assert put("messaging", report) == "ImplicitDeny"  # reports are bulk's
    assert put("bulk", incoming) == "ImplicitDeny"  # media is messaging's
    assert put("contacts", incoming) == "ImplicitDeny"
    assert put("commerce", incoming) == "ImplicitDeny"  # no bucket access until invoices' PDFs land
    # Even a role allowed the whole bucket cannot write outside the prefixes: the bucket policy denies it.
    everything = {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{bucket}/*"}]}
    assert put("x", f"{bucket}/elsewhere/x", everything) == "ExplicitDeny"
    assert put("x", incoming, everything) == "Allow"
    # Not over plain HTTP
    assert iam.decide("s3:GetObject", incoming, roles["messaging"], bucket_policy, **{"aws:SecureTransport": "false"})
    assert (
        iam.decide("s3:GetObject", incoming, roles["messaging"], bucket_policy, **{"aws:SecureTransport": "false"})
        == "ExplicitDeny"
    )


def test_sigterm_stops_every_process_cleanly_writing_nothing_outside_tmp(deployed):
    for r in deployed.processes.values():
        r.proc.terminate()
    for r in deployed.processes.values():
        code = r.proc.wait(timeout=60)
        assert code == 0, f"{r.name} exited {code}:\n{r.log.read_text()[-3000:]}"
    assert list(deployed.workdir.iterdir()) == [], "a process wrote into its working directory (read-only in a pod)"
