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
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import Gateway
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
