"""The edge: tokens (401) and declared access (403) before anything reaches a service, body size (413), unknown
routes (404) and methods (405), CORS, readiness, the OpenAPI document, and the trace passed on to the service."""

from __future__ import annotations

import asyncio
import time

import grpc
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_spec_validator import validate

from gateway.app import Gateway
from gateway.backends import BACKENDS
from runtime.auth import ServiceTokens
from runtime.clients import service_channel
from runtime.errors import ResourceExhausted
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

CONTACTS_BACKENDS = tuple(b for b in BACKENDS if b.address_setting == "contacts_address")

ORIGIN = "http://localhost:3000"  # the test settings' one allowed origin


async def audit_methods(api, pool) -> list[str]:
    response = await api.get("/v1/auditRecords", params={"pageSize": "1000"}, headers=pool.auth("admin"))
    return [r["method"] for r in (await response.json()).get("auditRecords", [])]


async def test_missing_or_bad_tokens_are_401_before_the_service(api, user_pool):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "none": {},
        "not a jwt": {"Authorization": "Bearer not-a-jwt"},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "expired": {"Authorization": f"Bearer {user_pool.token('admin', exp=int(time.time()) - 60)}"},
        "foreign key": {"Authorization": f"Bearer {user_pool.token('admin', key=stranger)}"},
    }
    for label, headers in cases.items():
        response = await api.post("/v1/contacts", json={"email": "x@example.com"}, headers=headers)
        assert response.status == 401, label
        assert response.headers["WWW-Authenticate"] == "Bearer"
        status = await response.json()
        assert status["code"] == 16 and status["message"], label
    assert "/wecare.contacts.v1.ContactsService/CreateContact" not in await audit_methods(api, user_pool)
    # An ID token (aud instead of client_id) is as good as an access token
    id_token = user_pool.token("viewer", token_use="id")
    response = await api.get("/v1/contacts", headers={"Authorization": f"Bearer {id_token}"})
    assert response.status == 200


async def test_declared_access_is_checked_at_the_edge(api, user_pool):
    created = await (
        await api.post("/v1/contacts", json={"email": "keep@example.com"}, headers=user_pool.auth("operator"))
    ).json()
    for groups in [("viewer",), ("operator",), ()]:
        response = await api.delete("/v1/" + created["name"], headers=user_pool.auth(*groups))
        assert response.status == 403, groups
        assert (await response.json())["code"] == 7
    denied_create = await api.post("/v1/contacts", json={"email": "v@example.com"}, headers=user_pool.auth("viewer"))
    assert denied_create.status == 403
    assert (await api.get("/v1/" + created["name"], headers=user_pool.auth("viewer"))).status == 200
    # The service never saw the refused calls: the audit log has the one creation only
    assert await audit_methods(api, user_pool) == ["/wecare.contacts.v1.ContactsService/CreateContact"]


async def test_service_tokens_are_refused_at_the_edge(api, user_pool, contacts_backend):
    settings = user_pool.pool.settings()
    created = await (
        await api.post("/v1/contacts", json={"email": "svc@example.com"}, headers=user_pool.auth("operator"))
    ).json()
    # bulk and messaging may list contacts over gRPC, ai may read one, the gateway may do neither: through the
    # public door, none of them may do anything.
    for service in ("bulk", "messaging", "ai", "gateway"):
        auth = {"Authorization": f"Bearer {ServiceTokens(settings, service).token()}"}
        for path in ("/v1/contacts", "/v1/" + created["name"]):
            response = await api.get(path, headers=auth)
            assert response.status == 403, (service, path)
            assert (await response.json())["code"] == 7
    # The same bulk token is good inside the cluster, for what bulk needs and not for what it does not
    async with service_channel(contacts_backend.address, ServiceTokens(settings, "bulk").token) as channel:
        stub = contacts_service_pb2_grpc.ContactsServiceStub(channel)
        assert (await stub.ListContacts(contacts_pb.ListContactsRequest(page_size=1))).contacts
        try:
            await stub.GetContact(contacts_pb.GetContactRequest(name=created["name"]))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
        else:
            raise AssertionError("bulk read one contact, which only ai and messaging may")


async def test_oversize_bodies_are_413_before_parsing(api, user_pool):
    limit = api.gateway.settings.max_body_bytes
    big = '{"email": "big@example.com", "displayName": "' + "x" * limit + '"}'
    response = await api.post(
        "/v1/contacts", data=big, headers={**user_pool.auth("operator"), "Content-Type": "application/json"}
    )
    assert response.status == 413
    assert str(limit) in (await response.json())["message"]

    async def chunks():  # no Content-Length: the capped read refuses it
        yield b'{"email": "big@example.com", "displayName": "'
        for _ in range(limit // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = await api.post(
        "/v1/contacts", data=chunks(), headers={**user_pool.auth("operator"), "Content-Type": "application/json"}
    )
    assert response.status == 413
    listed = await api.get("/v1/contacts", headers=user_pool.auth("viewer"))
    assert (await listed.json()).get("contacts", []) == []


async def test_unknown_routes_404_and_wrong_methods_405(api, user_pool):
    response = await api.get("/v1/nothing/here", headers=user_pool.auth("admin"))
    assert response.status == 404
    assert (await response.json())["code"] == 5
    response = await api.put("/v1/contacts", json={}, headers=user_pool.auth("admin"))
    assert response.status == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
    response = await api.post("/v1/contacts:search", headers=user_pool.auth("admin"))
    assert response.status == 405 and response.headers["Allow"] == "GET"


async def test_other_content_types_are_415(api, user_pool):
    response = await api.post(
        "/v1/contacts", data="email=x@example.com", headers={**user_pool.auth("operator"), "Content-Type": "text/plain"}
    )
    assert response.status == 415


async def test_cors_preflight_and_origin_echo(api, user_pool):
    preflight = await api.options(
        "/v1/contacts",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "traceparent"} <= allowed
    assert int(preflight.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in preflight.headers["Vary"]

    foreign = await api.options(
        "/v1/contacts", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert "Access-Control-Allow-Methods" not in foreign.headers

    ok = await api.get("/v1/contacts", headers={**user_pool.auth("viewer"), "Origin": ORIGIN})
    assert ok.status == 200
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in ok.headers["Vary"]
    refused = await api.get("/v1/contacts", headers={"Origin": ORIGIN})  # errors carry CORS too, for the browser
    assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = await api.get("/v1/contacts", headers={**user_pool.auth("viewer"), "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers and "Origin" in other.headers["Vary"]


async def test_health_and_readiness(user_pool, contacts_backend, make_client, settings_for, verifier):
    settings = settings_for(contacts_backend.address)
    client = await make_client(Gateway(settings, verifier(settings), backends=CONTACTS_BACKENDS))
    assert (await client.get("/healthz")).status == 200
    for _ in range(100):  # the process turns SERVING once its first probes pass
        ready = await client.get("/readyz")
        if ready.status == 200:
            break
        await asyncio.sleep(0.05)
    assert ready.status == 200
    body = await ready.json()
    assert body["ready"] is True
    assert body["backends"] == {
        "contacts/wecare.contacts.v1.ContactsService": "SERVING",
        "contacts/wecare.audit.v1.AuditService": "SERVING",
    }
    await contacts_backend.stop()
    not_ready = await client.get("/readyz")
    assert not_ready.status == 503
    body = await not_ready.json()
    assert body["ready"] is False
    assert body["backends"]["contacts/wecare.contacts.v1.ContactsService"] == "UNAVAILABLE"
    assert (await client.get("/healthz")).status == 200  # alive, just not ready
    # A call to the stopped backend is 503 Status JSON, without the internal address
    down = await client.get("/v1/contacts", headers=user_pool.auth("viewer"))
    assert down.status == 503
    status = await down.json()
    assert status["code"] == 14 and "127.0.0.1" not in status["message"]


async def test_openapi_document_lists_the_routes_and_validates(api):
    response = await api.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    paths = document["paths"]
    assert set(paths["/v1/contacts"]) == {"get", "post"}
    assert set(paths["/v1/contacts/{contactId}"]) == {"get", "patch", "delete"}
    assert set(paths["/v1/contacts:search"]) == {"get"}
    assert set(paths["/v1/auditRecords"]) == {"get"}
    listing = paths["/v1/contacts"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"pageSize", "pageToken", "tags"}
    tags = next(p for p in listing["parameters"] if p["name"] == "tags")
    assert tags["schema"]["type"] == "array"  # ?tags=vip&tags=pune
    patch = paths["/v1/contacts/{contactId}"]["patch"]
    assert {(p["name"], p["in"]) for p in patch["parameters"]} == {("contactId", "path"), ("updateMask", "query")}
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/wecare.contacts.v1.Contact"
    }
    contact = document["components"]["schemas"]["wecare.contacts.v1.Contact"]["properties"]
    assert contact["phoneNumber"] == {"type": "string"}
    assert contact["createTime"] == {"type": "string", "format": "date-time", "readOnly": True}
    assert contact["attributes"] == {"type": "object", "additionalProperties": {"type": "string"}}
    status = document["components"]["schemas"]["google.rpc.Status"]["properties"]
    assert set(status) == {"code", "message", "details"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert paths["/healthz"]["get"]["security"] == []


async def test_the_callers_trace_continues_into_the_service(api, user_pool, spans, new_trace):
    created = await (
        await api.post("/v1/contacts", json={"email": "trace@example.com"}, headers=user_pool.auth("operator"))
    ).json()
    trace_id, client_span, traceparent = new_trace()
    response = await api.get("/v1/" + created["name"], headers={**user_pool.auth("viewer"), "traceparent": traceparent})
    assert response.status == 200
    for _ in range(50):
        mine = [s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]
        if len(mine) >= 2:
            break
        await asyncio.sleep(0.02)
    by_name = {s.name: s for s in mine}
    edge = by_name["GET /v1/{name=contacts/*}"]
    service = by_name["wecare.contacts.v1.ContactsService/GetContact"]
    assert format(edge.parent.span_id, "016x") == client_span
    assert service.parent.span_id == edge.context.span_id
    assert edge.attributes["http.response.status_code"] == 200


class Closed:
    """An admission policy that refuses everyone, as a rate limiter does when a caller is over its rate."""

    def __init__(self):
        self.asked: list[tuple[str, str]] = []

    async def admit(self, request, route, identity) -> None:
        self.asked.append((route.rpc.name, identity.subject))
        raise ResourceExhausted("over the rate; retry later")


async def test_seams_for_extra_routes_and_admission(user_pool, contacts_backend, make_client, settings_for, verifier):
    async def sns(request: web.Request) -> web.Response:  # stands in for the SNS endpoint of the messaging work
        return web.json_response({"took": len(await request.read())})

    settings = settings_for(contacts_backend.address)
    admission = Closed()
    gateway = Gateway(
        settings,
        verifier(settings),
        backends=CONTACTS_BACKENDS,
        extra_routes=[web.post("/v1/events/sns", sns)],
        admission=admission,
    )
    client = await make_client(gateway)
    extra = await client.post("/v1/events/sns", data=b"{}")  # its own authentication; no bearer token
    assert extra.status == 200 and await extra.json() == {"took": 2}
    refused = await client.post("/v1/contacts", json={"email": "x@example.com"}, headers=user_pool.auth("operator"))
    assert refused.status == 429
    assert (await refused.json())["code"] == 8
    assert admission.asked == [("CreateContact", "user-operator")]
    # Unauthenticated callers are refused before admission is asked
    assert (await client.get("/v1/contacts")).status == 401
    assert len(admission.asked) == 1
    # One channel for the contacts process, shared by ContactsService and AuditService
    assert gateway.channels.addresses == (contacts_backend.address,)
