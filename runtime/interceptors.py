"""What happens around every RPC of every service, in this order:

  telemetry  a server span continuing the caller's W3C context, metrics, one log line a call
  audit      every mutating RPC by an authenticated caller, whatever its outcome, refusals included
  auth       the bearer token (person or service) and the access table declared in the protos
  errors     domain errors to google.rpc.Status with details; anything unexpected INTERNAL naming the trace

Each concern is a small class of its own; one grpc.aio.ServerInterceptor (RpcPipeline) runs them around the
handler with plain try/finally, wrapping each method's handler once. (Four stacked interceptors with async context
managers cost about a quarter of GetContact's throughput; see docs/BENCHMARKS.md.) Per-call state lives in
runtime.calls.current_call. Health and reflection stay open: no token, no audit."""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import trace

from runtime import ids
from runtime.audit.model import AuditEntry, AuditStore
from runtime.auth import Identity, TokenVerifier, bearer, require
from runtime.calls import Call, current_call
from runtime.errors import DomainError, internal_status
from runtime.metrics import RPC_SECONDS, RPCS
from runtime.tracing import extract_from_metadata
from wecare.auth.v1 import access_pb2

log = logging.getLogger("wecare.rpc")
OPEN_PREFIXES = (f"/{health.SERVICE_NAME}/", f"/{reflection.SERVICE_NAME}/", "/grpc.reflection.v1.ServerReflection/")
SEVERE = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS)


def code_of(error: BaseException | None, context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    """The status a call ended with, from what it raised (or did not)."""
    if error is None:
        code = context.code()
        return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK
    if isinstance(error, DomainError):
        return error.code
    if isinstance(error, grpc.aio.AbortError) or not isinstance(error, Exception):
        code = context.code()
        return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.CANCELLED
    return grpc.StatusCode.INTERNAL


class Telemetry:
    def __init__(self, service: str):
        self._service = service
        self._tracer = trace.get_tracer("wecare.rpc")
        self._counters: dict[tuple[str, str], Any] = {}  # metric children, looked up once per method and code
        self._timers: dict[str, Any] = {}

    def begin(self, method: str, context: grpc.aio.ServicerContext) -> tuple[Call, Any, Any, Any, float]:
        metadata = context.invocation_metadata()
        # Most calls carry no trace context of their own: skip the propagators then (a measurable cost per call).
        parent = extract_from_metadata(metadata) if any(k == "traceparent" for k, _ in metadata) else None
        span = self._tracer.start_span(
            method[1:], context=parent, kind=trace.SpanKind.SERVER, attributes={"rpc.system": "grpc"}
        )
        active = otel_context.attach(trace.set_span_in_context(span, parent))
        call = Call(method=method, trace_id=format(span.get_span_context().trace_id, "032x"))
        return call, current_call.set(call), span, active, time.perf_counter()

    def end(self, method: str, begun, error: BaseException | None, context: grpc.aio.ServicerContext) -> None:
        call, call_token, span, active, started = begun
        code = code_of(error, context)
        elapsed = time.perf_counter() - started
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if code is not grpc.StatusCode.OK:
            span.set_status(trace.StatusCode.ERROR, code.name)
        counter = self._counters.get((method, code.name))
        if counter is None:
            counter = self._counters[(method, code.name)] = RPCS.labels(self._service, method, code.name)
        counter.inc()
        timer = self._timers.get(method)
        if timer is None:
            timer = self._timers[method] = RPC_SECONDS.labels(self._service, method)
        timer.observe(elapsed)
        level = logging.ERROR if code in SEVERE else logging.DEBUG if code is grpc.StatusCode.OK else logging.INFO
        if log.isEnabledFor(level):
            who = call.identity.subject if call.identity else ""
            log.log(
                level, "rpc", extra={"method": method, "code": code.name, "ms": round(elapsed * 1000, 2), "actor": who}
            )
        span.end()
        current_call.reset(call_token)
        otel_context.detach(active)


class Authenticator:
    """Every call carries a bearer token; the access table of the protos says who may call what."""

    def __init__(self, verifier: TokenVerifier, table: dict[str, access_pb2.Access]):
        self._verifier = verifier
        self._table = table

    async def check(self, method: str, context: grpc.aio.ServicerContext, call: Call) -> None:
        authorization = next((v for k, v in context.invocation_metadata() if k == "authorization"), None)
        identity = await self._verifier.verify(bearer(authorization))
        call.identity = identity
        require(self._table.get(method), identity, method)


class AuditTrail:
    """One AuditTable record for every call of a mutating RPC by an authenticated caller, whatever its outcome.
    Unauthenticated calls are logged, not audited: nobody may fill the audit log anonymously."""

    def __init__(self, store: AuditStore, table: dict[str, access_pb2.Access]):
        self._store = store
        self.mutating = frozenset(m for m, a in table.items() if a.mutates)

    async def record(self, method: str, request: Any, context, call: Call, error: BaseException | None) -> None:
        identity: Identity | None = call.identity
        if identity is None:
            return
        entry = AuditEntry(
            id=ids.new_id(),
            time=time.time(),
            actor=identity.subject,
            actor_roles=identity.roles,
            method=method,
            resource=call.resource or _resource_of(request),
            outcome=code_of(error, context).name,
            trace_id=call.trace_id,
            before=call.before,
            after=call.after,
        )
        for attempt in range(3):
            try:
                await self._store.append(entry)
                return
            except Exception:
                if attempt == 2:
                    # Not lost: the JSON log line carries the whole record to the log pipeline.
                    log.exception("audit write failed; record follows", extra={"audit": entry.__dict__})


def _resource_of(request: Any) -> str:
    """The resource a request names: its `name`, or the `name` of the resource it carries (UpdateX)."""
    name = getattr(request, "name", "")
    if isinstance(name, str) and name:
        return name
    for field, value in request.ListFields() if hasattr(request, "ListFields") else ():
        inner = getattr(value, "name", "") if field.message_type is not None else ""
        if isinstance(inner, str) and inner:
            return inner
    return ""


async def abort_for(error: Exception, context: grpc.aio.ServicerContext, call: Call, method: str) -> None:
    """Domain errors become their status with details; anything unexpected becomes INTERNAL naming the trace."""
    if isinstance(error, DomainError):
        await context.abort_with_status(rpc_status.to_status(error.to_status()))
    log.error("unhandled error", exc_info=error, extra={"method": method})
    await context.abort_with_status(rpc_status.to_status(internal_status(call.trace_id)))


class RpcPipeline(grpc.aio.ServerInterceptor):
    def __init__(self, telemetry: Telemetry, audit: AuditTrail, auth: Authenticator):
        self._telemetry = telemetry
        self._audit = audit
        self._auth = auth
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        # Wrapped once per method (the inner handler is the same object call after call).
        wrapped = self._wrapped.get(method)
        if wrapped is None or wrapped[0] is not handler:
            wrapped = self._wrapped[method] = (handler, self._wrap(method, handler))
        return wrapped[1]

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        telemetry, auth = self._telemetry, self._auth
        audit = self._audit if method in self._audit.mutating else None

        async def finish(begun, request, context, error) -> None:
            try:
                if audit is not None:
                    await audit.record(method, request, context, begun[0], error)
            finally:
                telemetry.end(method, begun, error, context)

        if handler.unary_unary or handler.stream_unary:
            behavior = handler.unary_unary or handler.stream_unary

            async def unary(request, context):
                begun = telemetry.begin(method, context)
                error = None
                try:
                    try:
                        await auth.check(method, context, begun[0])
                        return await behavior(request, context)
                    except (grpc.aio.AbortError, GeneratorExit):
                        raise
                    except Exception as exc:
                        await abort_for(exc, context, begun[0], method)
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    await finish(begun, request, context, error)

            make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
            return make(unary, handler.request_deserializer, handler.response_serializer)

        behavior = handler.unary_stream or handler.stream_stream

        async def streaming(request, context):
            begun = telemetry.begin(method, context)
            error = None
            try:
                try:
                    await auth.check(method, context, begun[0])
                    result = behavior(request, context)
                    if inspect.isasyncgen(result):
                        async for item in result:
                            yield item
                    else:  # a coroutine that writes with context.write
                        await result
                except (grpc.aio.AbortError, GeneratorExit):
                    raise
                except Exception as exc:
                    await abort_for(exc, context, begun[0], method)
            except BaseException as exc:
                error = exc
                raise
            finally:
                await finish(begun, request, context, error)

        make = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
        return make(streaming, handler.request_deserializer, handler.response_serializer)
