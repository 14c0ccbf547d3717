"""Fixtures of the gateway tests: callers with Cognito-shaped RS256 tokens from the shared test pool (its JWKS
also served over local HTTP, for a gateway in its own process), the contacts process wired exactly as its main()
wires it on a free port (SQLite in tmp_path), and the gateway app in front of it."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from google.api import http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, field_mask_pb2, timestamp_pb2, wrappers_pb2
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import Gateway
from gateway.backends import BACKENDS
from gateway.routes import Route
from runtime.settings import Settings
from services.contacts.main import wire as wire_contacts
from tests.support.identity import TestPool
from tests.support.servers import running
from tests.support.tracing import span_exporter

ORIGIN = "http://localhost:3000"


@dataclass
class Callers:
    """People of the test user pool; each caller's `sub` says its groups (`user-operator`)."""

    pool: TestPool

    def token(self, *groups: str, **claims: Any) -> str:
        claims.setdefault("sub", "user-" + ("-".join(groups) or "none"))
        return self.pool.token(*groups, **claims)

    def auth(self, *groups: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*groups)}"}


@pytest.fixture(scope="session")
def user_pool() -> Callers:
    return Callers(TestPool())


@pytest.fixture(scope="session")
async def jwks_url(user_pool):
    """The pool's JWKS over HTTP, as Cognito serves it: for a gateway running as its own process."""
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(user_pool.pool.private_key.public_key(), as_dict=True)
    jwk.update(kid=user_pool.pool.kid, alg="RS256", use="sig")

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response({"keys": [jwk]})

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", jwks)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/.well-known/jwks.json"))
    finally:
        await server.close()


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every finished span of this process (gateway and in-process services alike)."""
    return span_exporter()


class ContactsBackend:
    """The contacts process in this event loop, as its main() wires it; stop() ends it mid-test."""

    def __init__(self):
        self._stack = contextlib.AsyncExitStack()
        self.address = ""

    async def start(self, pool: TestPool, data_dir) -> None:
        process = await self._stack.enter_async_context(running("contacts", wire_contacts, pool, data_dir))
        self.address = process.address

    async def stop(self) -> None:
        await self._stack.aclose()


@pytest.fixture
async def contacts_backend(user_pool, tmp_path):
    backend = ContactsBackend()
    await backend.start(user_pool.pool, tmp_path)
    try:
        yield backend
    finally:
        await backend.stop()


@pytest.fixture
def settings_for(user_pool):
    """Gateway settings for a contacts backend address (and any overrides)."""

    def make(address: str, **overrides) -> Settings:
        values: dict[str, Any] = dict(contacts_address=address, cors_origins=(ORIGIN,), max_body_bytes=16_384)
        values.update(overrides)
        return user_pool.pool.settings(**values)

    return make


# The gateway in these tests fronts the contacts process only (the other services have tests of their own).
CONTACTS_BACKENDS = tuple(b for b in BACKENDS if b.address_setting == "contacts_address")


@pytest.fixture
def verifier(user_pool):
    """The gateway's TokenVerifier, knowing the pool's key."""
    return lambda settings: user_pool.pool.verifier(settings)


@pytest.fixture
async def make_client():
    """Starts a gateway app (aiohttp test server on a real port) for a Gateway built by the test."""
    clients: list[TestClient] = []

    async def make(gateway: Gateway) -> TestClient:
        client = TestClient(TestServer(gateway.app(), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def api(contacts_backend, make_client, spans, settings_for, verifier):
    """The gateway in front of the contacts backend; `api.gateway` is the Gateway."""
    settings = settings_for(contacts_backend.address)
    gateway = Gateway(settings, verifier(settings), backends=CONTACTS_BACKENDS)
    client = await make_client(gateway)
    client.gateway = gateway
    return client


@pytest.fixture
def new_trace():
    """A fresh W3C trace context as a client would send it: (trace id, span id, traceparent header)."""

    def make() -> tuple[str, str, str]:
        trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
        return trace_id, span_id, f"00-{trace_id}-{span_id}-01"

    return make


# A probe service whose request has a field of every kind the transcoding rules treat differently (bool, repeated,
# enum, int64, uint32, double, Timestamp, FieldMask, wrapper, nested and recursive messages, maps, repeated
# messages), for the rules the contacts protos alone cannot show.
F = descriptor_pb2.FieldDescriptorProto


def _probe_file() -> descriptor_pb2.FileDescriptorProto:
    deps = [timestamp_pb2.DESCRIPTOR.name, field_mask_pb2.DESCRIPTOR.name, wrappers_pb2.DESCRIPTOR.name]
    file = descriptor_pb2.FileDescriptorProto(
        name="wecare/gatewaytest/v1/probe.proto", package="wecare.gatewaytest.v1", syntax="proto3", dependency=deps
    )
    kind = file.enum_type.add(name="Kind")
    for number, name in enumerate(["KIND_UNSPECIFIED", "KIND_RED", "KIND_BLUE"]):
        kind.value.add(name=name, number=number)
    inner = file.message_type.add(name="Inner")
    inner.field.add(name="label", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="label")
    inner.field.add(name="count", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL, json_name="count")
    inner.field.add(
        name="child", number=3, type=F.TYPE_MESSAGE, type_name=".wecare.gatewaytest.v1.Inner", json_name="child"
    )
    probe = file.message_type.add(name="Probe")
    entry = probe.nested_type.add(name="AttrsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, json_name="key")
    entry.field.add(name="value", number=2, type=F.TYPE_STRING, json_name="value")
    fields = [
        ("name", F.TYPE_STRING, "", False),
        ("flag", F.TYPE_BOOL, "", False),
        ("tags", F.TYPE_STRING, "", True),
        ("numbers", F.TYPE_INT32, "", True),
        ("kind", F.TYPE_ENUM, ".wecare.gatewaytest.v1.Kind", False),
        ("big", F.TYPE_INT64, "", False),
        ("at", F.TYPE_MESSAGE, ".google.protobuf.Timestamp", False),
        ("mask", F.TYPE_MESSAGE, ".google.protobuf.FieldMask", False),
        ("inner", F.TYPE_MESSAGE, ".wecare.gatewaytest.v1.Inner", False),
        ("attrs", F.TYPE_MESSAGE, ".wecare.gatewaytest.v1.Probe.AttrsEntry", True),
        ("ratio", F.TYPE_DOUBLE, "", False),
        ("maybe", F.TYPE_MESSAGE, ".google.protobuf.BoolValue", False),
        ("items", F.TYPE_MESSAGE, ".wecare.gatewaytest.v1.Inner", True),
        ("small", F.TYPE_UINT32, "", False),
        ("display_name", F.TYPE_STRING, "", False),
    ]
    for number, (name, kind_, type_name, repeated) in enumerate(fields, start=1):
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        field = probe.field.add(
            name=name,
            number=number,
            type=kind_,
            label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL,
            json_name=camel,
        )
        if type_name:
            field.type_name = type_name
    service = file.service.add(name="ProbeService")
    service.method.add(
        name="Echo", input_type=".wecare.gatewaytest.v1.Probe", output_type=".wecare.gatewaytest.v1.Probe"
    )
    service.method.add(
        name="Watch",
        input_type=".wecare.gatewaytest.v1.Probe",
        output_type=".wecare.gatewaytest.v1.Probe",
        server_streaming=True,
    )
    return file


@pytest.fixture(scope="module")
def probe_service():
    pool = descriptor_pool.Default()
    try:
        return pool.FindServiceByName("wecare.gatewaytest.v1.ProbeService")
    except KeyError:
        pool.AddSerializedFile(_probe_file().SerializeToString())
        return pool.FindServiceByName("wecare.gatewaytest.v1.ProbeService")


@pytest.fixture
async def route_for(probe_service):
    channel = grpc.aio.insecure_channel("127.0.0.1:1")  # never called: these tests stop before the backend

    def make(rule: http_pb2.HttpRule, method: str = "Echo") -> Route:
        return Route.build(probe_service.methods_by_name[method], rule, None, channel, "127.0.0.1:1")

    yield make
    await channel.close()
