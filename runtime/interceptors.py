"""The server interceptors every service runs, outermost first:

  telemetry (span from the caller's W3C context, metrics, one log line a call)
  -> audit (every mutating RPC by an authenticated caller, whatever its outcome, refusals included)
  -> authentication and authorization (the access table of the protos)
  -> error mapping (domain errors to google.rpc.Status with details; anything else INTERNAL with the trace id)

Each interceptor wraps the handler's behaviour in an async context manager, the same way for unary and
streaming RPCs, and keeps per-call state in runtime.calls.current_call. Health and reflection stay open."""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import trace

from runtime import ids
from runtime.audit.model import AuditEntry, AuditStore
from runtime.auth import TokenVerifier, bearer, require
from runtime.calls import Call, current_call
from runtime.errors import DomainError, internal_status
from runtime.metrics import RPC_SECONDS, RPCS
from runtime.tracing import extract_from_metadata
from wecare.auth.v1 import access_pb2

log = logging.getLogger("wecare.rpc")
OPEN_PREFIXES = (f"/{health.SERVICE_NAME}/", f"/{reflection.SERVICE_NAME}/", "/grpc.reflection.v1.ServerReflection/")

Scope = Callable[[Any, grpc.aio.ServicerContext], contextlib.AbstractAsyncContextManager]


def _wrap(handler: grpc.RpcMethodHandler, scope: Scope) -> grpc.RpcMethodHandler:
    """The same handler with its behaviour running inside scope(request, context)."""
    if handler.unary_unary or handler.stream_unary:
        behavior = handler.unary_unary or handler.stream_unary

        async def unary(request, context):
            async with scope(request, context):
                return await behavior(request, context)

        make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return make(unary, handler.request_deserializer, handler.response_serializer)

    behavior = handler.unary_stream or handler.stream_stream

    async def streaming(request, context):
        async with scope(request, context):
            result = behavior(request, context)
            if inspect.isasyncgen(result):
                async for item in result:
                    yield item
            else:  # a coroutine that writes with context.write
                await result

    make = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
    return make(streaming, handler.request_deserializer, handler.response_serializer)


class _ScopedInterceptor(grpc.aio.ServerInterceptor):
    def scope(self, method: str, request: Any, context: grpc.aio.ServicerContext):
        raise NotImplementedError

    def applies(self, method: str) -> bool:
        return not method.startswith(OPEN_PREFIXES)

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not self.applies(method):
            return handler
        return _wrap(handler, lambda request, context: self.scope(method, request, context))


def _code_of(exc: BaseException | None, context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    if exc is None:
        return context.code() or grpc.StatusCode.OK
    if isinstance(exc, DomainError):
        return exc.code
    if isinstance(exc, grpc.aio.AbortError) or not isinstance(exc, Exception):
        code = context.code()
        return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.CANCELLED
    return grpc.StatusCode.INTERNAL


class TelemetryInterceptor(_ScopedInterceptor):
    def __init__(self, service: str):
        self._service = service
        self._tracer = trace.get_tracer("wecare.rpc")

    @contextlib.asynccontextmanager
    async def scope(self, method, request, context):
        started = time.perf_counter()
        parent = extract_from_metadata(context.invocation_metadata())
        token = otel_context.attach(parent)
        call = Call(method=method)
        call_token = current_call.set(call)
        error: BaseException | None = None
        try:
            with self._tracer.start_as_current_span(
                method.lstrip("/"), kind=trace.SpanKind.SERVER, attributes={"rpc.system": "grpc"}
            ) as span:
                call.trace_id = format(span.get_span_context().trace_id, "032x")
                try:
                    yield
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    code = _code_of(error, context)
                    span.set_attribute("rpc.grpc.status_code", code.value[0])
                    if code is not grpc.StatusCode.OK:
                        span.set_status(trace.StatusCode.ERROR, code.name)
                    elapsed = time.perf_counter() - started
                    RPCS.labels(self._service, method, code.name).inc()
                    RPC_SECONDS.labels(self._service, method).observe(elapsed)
                    level = logging.DEBUG if code is grpc.StatusCode.OK else logging.INFO
                    if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS):
                        level = logging.ERROR
                    if log.isEnabledFor(level):
                        who = call.identity.subject if call.identity else ""
                        log.log(
                            level,
                            "rpc",
                            extra={"method": method, "code": code.name, "ms": round(elapsed * 1000, 2), "actor": who},
                        )
        finally:
            current_call.reset(call_token)
            otel_context.detach(token)


class AuthInterceptor(_ScopedInterceptor):
    """Every call carries a bearer token; the access table of the protos says who may call what."""

    def __init__(self, verifier: TokenVerifier, table: dict[str, access_pb2.Access]):
        self._verifier = verifier
        self._table = table

    @contextlib.asynccontextmanager
    async def scope(self, method, request, context):
        authorization = next((v for k, v in context.invocation_metadata() if k == "authorization"), None)
        try:
            identity = await self._verifier.verify(bearer(authorization))
            call = current_call.get()
            if call is not None:
                call.identity = identity
            require(self._table.get(method), identity, method)
        except DomainError as exc:
            await context.abort_with_status(rpc_status.to_status(exc.to_status()))
        yield


class AuditInterceptor(_ScopedInterceptor):
    """Writes one AuditTable record for every call of a mutating RPC, whatever its outcome."""

    def __init__(self, store: AuditStore, table: dict[str, access_pb2.Access]):
        self._store = store
        self._mutating = {m for m, a in table.items() if a.mutates}

    def applies(self, method: str) -> bool:
        return method in self._mutating

    @contextlib.asynccontextmanager
    async def scope(self, method, request, context):
        error: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            error = exc
            raise
        finally:
            call = current_call.get()
            identity = call.identity if call else None
            # Unauthenticated calls are logged, not audited: nobody may fill the audit log anonymously.
            if identity is not None:
                await self._append(self._entry(method, request, context, call, identity, error))

    @staticmethod
    def _entry(method, request, context, call, identity, error) -> AuditEntry:
        resource = call.resource or _resource_of(request)
        return AuditEntry(
            id=ids.new_id(),
            time=time.time(),
            actor=identity.subject,
            actor_roles=identity.roles,
            method=method,
            resource=resource,
            outcome=_code_of(error, context).name,
            trace_id=call.trace_id,
            before=call.before,
            after=call.after,
        )

    async def _append(self, entry: AuditEntry) -> None:
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


class ErrorInterceptor(_ScopedInterceptor):
    """Domain errors become their status with details; anything unexpected becomes INTERNAL naming the trace."""

    @contextlib.asynccontextmanager
    async def scope(self, method, request, context):
        try:
            yield
        except DomainError as exc:
            await context.abort_with_status(rpc_status.to_status(exc.to_status()))
        except (grpc.aio.AbortError, GeneratorExit):
            raise
        except Exception:
            call = current_call.get()
            log.exception("unhandled error", extra={"method": method})
            await context.abort_with_status(rpc_status.to_status(internal_status(call.trace_id if call else "")))
