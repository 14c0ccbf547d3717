"""The gateway's aiohttp application: the edge checks (CORS, the bearer token, the RPC's declared access, body
size), the one transcoding handler every annotated RPC shares, Server-Sent Events for server streams, raw bodies
for RPCs that answer google.api.HttpBody, the gateway's own routes (/healthz, /readyz, /openapi.json) and, when
given one, the operator console (gateway.console: `/`, its assets and config, and its page for client routes that
no API route matches).

Seams for later work: `extra_routes` (aiohttp RouteDefs, e.g. the SNS endpoint, matched before the transcoded
API and doing their own authentication) and `admission` (e.g. a request rate limiter, asked after
authentication and before the body is read)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Iterable
from typing import Protocol

import grpc
from aiohttp import web
from google.rpc import code_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import propagate, trace

from gateway import openapi
from gateway.backends import BACKENDS, Backend
from gateway.console import Console
from gateway.httpbody import body_response, relay_body
from gateway.routes import NoRoute, Route, RouteTable, routes_of
from gateway.sse import relay
from gateway.status import error_response, failure, from_rpc_error
from gateway.transcoding import build_request, response_json
from runtime.auth import Identity, TokenVerifier, allows, bearer
from runtime.clients import dial
from runtime.errors import DomainError, InvalidArgument, PermissionDenied, internal_status
from runtime.settings import Settings
from runtime.tracing import current_trace_id, inject_headers

log = logging.getLogger("wecare.http")
UNARY_TIMEOUT = 60.0  # seconds a unary RPC may take before the caller gets 504
READY_TIMEOUT = 1.0
CORS_HEADERS = "authorization, content-type, traceparent, tracestate"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_MAX_AGE = "600"
ROUTE = web.RequestKey("route", Route)  # the matched route, for the span and the log line


class Admission(Protocol):
    """Decides whether an authenticated request may proceed now (e.g. a rate limiter). Raise a DomainError
    (ResourceExhausted -> 429) to refuse it."""

    async def admit(self, request: web.Request, route: Route, identity: Identity) -> None: ...


class EdgeRefusal(Exception):
    """A refusal with its own HTTP status (413, 415, 405) and a google.rpc code for the body."""

    def __init__(self, code: int, message: str, http: int, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.http, self.headers = code, message, http, headers


class Channels:
    """One gRPC channel per backend address, created on first use and kept for the life of the process."""

    def __init__(self):
        self._channels: dict[str, grpc.aio.Channel] = {}

    def get(self, address: str) -> grpc.aio.Channel:
        if address not in self._channels:
            # Plaintext, or TLS when the process was started with a CA (runtime.tls.use).
            self._channels[address] = dial(address, options=[("grpc.max_receive_message_length", 8 * 1024 * 1024)])
        return self._channels[address]

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(self._channels)

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()


class Gateway:
    def __init__(
        self,
        settings: Settings,
        verifier: TokenVerifier,
        *,
        backends: Iterable[Backend] = BACKENDS,
        channels: Channels | None = None,
        extra_rpc_routes: Iterable[Route] = (),
        extra_routes: Iterable[web.AbstractRouteDef] = (),
        admission: Admission | None = None,
        console: Console | None = None,
        sse_keepalive: float = 15.0,
    ):
        self.settings = settings
        self.channels = channels or Channels()
        self.backends = tuple(backends)
        self.routes = RouteTable([*routes_of(self.backends, settings, self.channels.get), *extra_rpc_routes])
        self._verifier = verifier
        self._extra_routes = tuple(extra_routes)
        self._admission = admission
        self._console = console
        self._keepalive = sse_keepalive
        self._origins = frozenset(settings.cors_origins)
        self._openapi = json.dumps(openapi.document(self.routes.routes)).encode()
        self._tracer = trace.get_tracer("wecare.gateway")
        self.draining = False
        self._closing = asyncio.Event()  # set at shutdown: open event streams end cleanly

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._telemetry, self._preflight], client_max_size=self.settings.max_body_bytes
        )
        app.router.add_get("/healthz", self._healthz, allow_head=False)
        app.router.add_get("/readyz", self._readyz, allow_head=False)
        app.router.add_get("/openapi.json", self._openapi_json, allow_head=False)
        app.router.add_routes(self._extra_routes)
        if self._console is not None:
            app.router.add_routes(self._console.routes())
        app.router.add_route("*", "/{path:.*}", self._transcode)
        app.on_response_prepare.append(self._cors_headers)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        self.draining = True
        self._closing.set()

    async def _on_cleanup(self, app: web.Application) -> None:
        await self.channels.close()

    # -- the edge -------------------------------------------------------------------------------------------

    @web.middleware
    async def _telemetry(self, request: web.Request, handler) -> web.StreamResponse:
        """A server span per request (continuing the caller's W3C traceparent) and one log line per request."""
        started = time.perf_counter()
        parent = propagate.extract(request.headers)
        status = 499  # the client went away before an answer
        with self._tracer.start_as_current_span(
            f"{request.method}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.path},
        ) as span:
            try:
                try:
                    response = await handler(request)
                except web.HTTPException as exc:  # aiohttp's own refusals, answered in our shape
                    response = failure(
                        code_pb2.UNKNOWN if exc.status >= 500 else code_pb2.INVALID_ARGUMENT, exc.reason, exc.status
                    )
                except Exception:
                    log.exception("unhandled error", extra={"method": request.method, "path": request.path})
                    response = error_response(internal_status(current_trace_id()))
                status = response.status
                return response
            finally:
                route = request.get(ROUTE)
                template = route.template.text if route else self._own_route(request)
                span.update_name(f"{request.method} {template}" if template else request.method)
                span.set_attribute("http.response.status_code", status)
                if template:
                    span.set_attribute("http.route", template)
                if route:
                    span.set_attribute("rpc.method", route.rpc_path)
                if status >= 500:
                    span.set_status(trace.StatusCode.ERROR)
                log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,  # never the query: it may hold an access_token
                        "route": template,
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )

    def _own_route(self, request: web.Request) -> str:
        """The route of a non-transcoded handler (/healthz, an extra route); "" when nothing matched."""
        match = request.match_info
        if match.http_exception is not None or match.handler == self._transcode:
            return ""
        return match.route.resource.canonical if match.route.resource else ""

    @web.middleware
    async def _preflight(self, request: web.Request, handler) -> web.StreamResponse:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            headers = {}
            if self._origin_allowed(request.headers.get("Origin", "")):
                headers = {
                    "Access-Control-Allow-Methods": CORS_METHODS,
                    "Access-Control-Allow-Headers": CORS_HEADERS,
                    "Access-Control-Max-Age": CORS_MAX_AGE,
                }
            return web.Response(status=204, headers=headers)
        return await handler(request)

    def _origin_allowed(self, origin: str) -> bool:
        return bool(origin) and (origin in self._origins or "*" in self._origins)

    async def _cors_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin", "")
        if self._origin_allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
        vary = response.headers.get("Vary", "")
        if "origin" not in vary.lower():
            response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")  # JSON is never sniffed into HTML

    async def _authenticate(self, request: web.Request, route: Route) -> tuple[Identity, str]:
        token = bearer(request.headers.get("Authorization"))
        if not token and route.streaming:
            token = request.query.get("access_token", "")  # an EventSource cannot set headers
        identity = await self._verifier.verify(token)
        if identity.is_service:
            # Services call each other inside the cluster; none needs the public door, so a leaked service key
            # opens nothing from outside.
            raise PermissionDenied("service tokens are not taken here: services call each other directly")
        if not allows(route.access, identity):
            who = ", ".join(identity.roles) or "this caller"
            raise PermissionDenied(f"{who} may not call {route.rpc.containing_service.name}.{route.rpc.name}")
        return identity, token

    async def _read_body(self, request: web.Request, route: Route) -> bytes:
        """The body, refused with 413 past max_body_bytes before any of it is parsed."""
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise EdgeRefusal(code_pb2.INVALID_ARGUMENT, f"the body is over the limit of {limit} bytes", 413)
        if not request.body_exists:
            return b""
        chunks, size = [], 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > limit:
                raise EdgeRefusal(code_pb2.INVALID_ARGUMENT, f"the body is over the limit of {limit} bytes", 413)
            chunks.append(chunk)
        body = b"".join(chunks)
        if not route.body and body.strip():
            raise InvalidArgument("body", f"{route.http_method} {route.template.text} takes no body")
        given = request.headers.get("Content-Type")
        if body and given is not None and not _is_json(request.content_type):
            raise EdgeRefusal(code_pb2.INVALID_ARGUMENT, f"send application/json, not {given}", 415)
        return body

    # -- the transcoded API ---------------------------------------------------------------------------------

    async def _transcode(self, request: web.Request) -> web.StreamResponse:
        try:
            route, path_values = self.routes.find(request.method, request.rel_url.raw_path)
        except NoRoute as none:
            if none.allowed:
                allowed = ", ".join(none.allowed)
                return failure(
                    code_pb2.UNIMPLEMENTED,
                    f"{request.method} is not allowed on {request.path}; allowed: {allowed}",
                    405,
                    {"Allow": allowed},
                )
            if self._console is not None and self._console.is_client_route(request):
                return await self._console.page(request)  # a page of the console's own router
            return failure(code_pb2.NOT_FOUND, f"no route for {request.method} {request.path}")
        request[ROUTE] = route
        try:
            identity, token = await self._authenticate(request, route)
            if self._admission is not None:
                await self._admission.admit(request, route, identity)
            body = await self._read_body(request, route)
            query = [(k, v) for k, v in request.query.items() if not (route.streaming and k == "access_token")]
            message = build_request(route, path_values, query, body)
        except EdgeRefusal as refusal:
            return failure(refusal.code, refusal.message, refusal.http, refusal.headers)
        except DomainError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.code is grpc.StatusCode.UNAUTHENTICATED else None
            return error_response(exc.to_status(), headers=headers)
        # The services check the caller again: they get the caller's token, and the trace goes on.
        metadata = (("authorization", f"Bearer {token}"), *inject_headers().items())
        try:
            if route.streaming and route.http_body:
                return await relay_body(request, route.call(message, metadata=metadata), self._closing)
            if route.streaming:
                call = route.call(message, metadata=metadata)
                return await relay(
                    request, call, functools.partial(response_json, route), self._keepalive, self._closing
                )
            reply = await route.call(message, metadata=metadata, timeout=UNARY_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            return error_response(from_rpc_error(exc))
        if route.http_body:
            return body_response(reply)
        return web.json_response(response_json(route, reply), dumps=_dumps)

    # -- the gateway's own routes -----------------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, request: web.Request) -> web.Response:
        """200 when every backend service answers its health check SERVING; 503 naming those that do not."""

        async def check(backend: Backend) -> str:
            stub = health_pb2_grpc.HealthStub(self.channels.get(backend.address(self.settings)))
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=backend.service), timeout=READY_TIMEOUT)
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        results = await asyncio.gather(*(check(b) for b in self.backends))
        backends = {f"{b.process}/{b.service}": r for b, r in zip(self.backends, results, strict=True)}
        ready = not self.draining and all(r == "SERVING" for r in results)
        body = {"ready": ready, "backends": backends}
        if self.draining:
            body["draining"] = True
        return web.json_response(body, status=200 if ready else 503)

    async def _openapi_json(self, request: web.Request) -> web.Response:
        return web.Response(body=self._openapi, content_type="application/json")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
