"""Fixtures of the gateway tests: an RSA user pool (JWKS served over local HTTP, Cognito-shaped RS256 tokens), the
real contacts servicer behind the runtime interceptors on a free port (SQLite in tmp_path), and the gateway app
in front of it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import grpc
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api import http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, field_mask_pb2, timestamp_pb2, wrappers_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import Gateway
from gateway.routes import Route
from runtime.audit.sqlite_store import SqliteAuditStore
from runtime.auth import TokenVerifier, access_table
from runtime.interceptors import AuditInterceptor, AuthInterceptor, ErrorInterceptor, TelemetryInterceptor
from runtime.pagination import PageTokens
from runtime.settings import Settings
from services.contacts.adapters.sqlite_store import SqliteContactStore
from services.contacts.servicer import AuditServicer, ContactsServicer
from wecare.audit.v1 import audit_service_pb2_grpc
from wecare.contacts.v1 import contacts_service_pb2_grpc

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_gatewaytest"
CLIENT_ID = "gateway-test-client"
KID = "gateway-test-key"
ORIGIN = "http://localhost:3000"
SERVICES = ["wecare.contacts.v1.ContactsService", "wecare.audit.v1.AuditService"]


@dataclass
class UserPool:
    """A stand-in for the Cognito pool: its key signs tokens, its JWKS is served over HTTP."""

    key: rsa.RSAPrivateKey
    jwks_url: str

    def token(self, *groups: str, use: str = "access", expires_in: float = 3600, key=None, kid: str = KID) -> str:
        now = int(time.time())
        claims = {
            "sub": f"user-{'-'.join(groups) or 'none'}",
            "iss": ISSUER,
            "token_use": use,
            "iat": now,
            "exp": now + int(expires_in),
            "cognito:groups": list(groups),
        }
        claims["client_id" if use == "access" else "aud"] = CLIENT_ID
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def auth(self, *groups: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*groups)}"}


@pytest.fixture(scope="session")
async def user_pool():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid=KID, alg="RS256", use="sig")

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response({"keys": [jwk]})

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", jwks)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield UserPool(key, str(server.make_url("/.well-known/jwks.json")))
    finally:
        await server.close()


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every finished span of this process (gateway and in-process services alike)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def gateway_settings(user_pool: UserPool, contacts_address: str, **overrides) -> Settings:
    values = dict(
        cognito_issuer=ISSUER,
        cognito_client_id=CLIENT_ID,
        cognito_jwks_url=user_pool.jwks_url,
        contacts_address=contacts_address,
        cors_origins=(ORIGIN,),
        max_body_bytes=16_384,
    )
    values.update(overrides)
    return Settings(**values)


class ContactsBackend:
    """The contacts process's services with the runtime interceptor chain, in this process, on a free port."""

    def __init__(self, settings: Settings, data_dir):
        self.settings = settings
        self.data_dir = data_dir
        self.server: grpc.aio.Server | None = None
        self.address = ""

    async def start(self) -> None:
        table = access_table(SERVICES)
        audit = SqliteAuditStore(self.data_dir / "audit.sqlite3")
        store = SqliteContactStore(self.data_dir / "contacts.sqlite3")
        self._stores = (audit, store)
        verifier = TokenVerifier(self.settings)
        server = grpc.aio.server(
            interceptors=[
                TelemetryInterceptor("contacts"),
                AuthInterceptor(verifier, table),
                AuditInterceptor(audit, table),
                ErrorInterceptor(),
            ]
        )
        tokens = PageTokens(self.settings.effective_page_token_key)
        contacts_service_pb2_grpc.add_ContactsServiceServicer_to_server(ContactsServicer(store, "IN", tokens), server)
        audit_service_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(audit, tokens), server)
        checks = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(checks, server)
        for name in ["", *SERVICES]:
            await checks.set(name, health_pb2.HealthCheckResponse.SERVING)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self.server = server
        self.address = f"127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)
            self.server = None
            for store in self._stores:
                await store.close()


@pytest.fixture
async def contacts_backend(user_pool, tmp_path):
    settings = gateway_settings(user_pool, "")
    backend = ContactsBackend(settings, tmp_path)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.stop()


@pytest.fixture
async def make_client(user_pool):
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
async def api(user_pool, contacts_backend, make_client, spans):
    """The gateway in front of the contacts backend, and the settings it runs with."""
    settings = gateway_settings(user_pool, contacts_backend.address)
    gateway = Gateway(settings, TokenVerifier(settings))
    client = await make_client(gateway)
    client.gateway = gateway
    return client


@pytest.fixture
def settings_for(user_pool):
    """Gateway settings for a contacts backend address (and any overrides)."""
    return lambda address, **overrides: gateway_settings(user_pool, address, **overrides)


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
