"""AWS clients for the asyncio services (aiobotocore: no blocking call in the event loop), one session per
process, endpoints from settings so the same code talks to AWS, to the embedded AWS (moto) or to the sandbox.

Every client is instrumented through botocore's event hooks: a client span per API call (a child of the RPC that
made it, so one trace runs from the gateway down to DynamoDB), and, when WECARE_AWS_CALL_LOG names a file, one
JSON line per call naming the caller, the operation and the resources it touches (the IAM check in tests reads
them; values that could hold personal data are not written). WECARE_DYNAMODB_CAPACITY_LOG adds the DynamoDB
capacity log (runtime/capacity_log.py) the same way: one line per request, its items' sizes and keys' displays."""

from __future__ import annotations

import contextlib
import json
import platform
import re
import threading
from typing import Any

import botocore
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY

from runtime.settings import Settings

_tracer = trace.get_tracer("wecare.aws")
_SPAN = "wecare.span"  # where a call's span waits in botocore's per-call context, between the hooks
# Parameters that name a resource (never an item, a message or a phone number): the call log keeps these only.
_RESOURCE_PARAM = re.compile(r"(Name|Arn|Url|Id|Bucket|Key|CopySource|FromEmailAddress|OriginationIdentity)$|^id$")
_log_lock = threading.Lock()


class AwsClients:
    def __init__(self, settings: Settings, owner: str = ""):
        self._settings = settings
        self._owner = owner  # the process's name, in the call log
        self._session = get_session()
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[tuple[str, str, int, float], object] = {}
        versions = f"Botocore/{botocore.__version__} Python/{platform.python_version()}"
        self._user_agent = f"wecare/{owner or 'process'} {versions}"

    def endpoint_for(self, service: str) -> str | None:
        specific = {"dynamodb": self._settings.dynamodb_endpoint_url}.get(service, "")
        return specific or self._settings.aws_endpoint_url or None

    async def client(
        self,
        service: str,
        endpoint_url: str | None = None,
        max_pool: int = 50,
        max_attempts: int = 4,
        read_timeout: float = 30,
    ):
        """A long-lived client (its connection pool is reused); closed with the process. Callers that retry
        on their own terms (a provider send must never be repeated by the SDK) pass max_attempts=1."""
        endpoint = endpoint_url or self.endpoint_for(service)
        key = (service, endpoint or "", max_attempts, read_timeout)
        if key not in self._clients:
            config = AioConfig(
                max_pool_connections=max_pool,
                # total_max_attempts counts the first call (botocore's `max_attempts` counts retries only:
                # max_attempts=1 made two calls, so a provider send was not made once).
                retries={"mode": "standard", "total_max_attempts": max_attempts},
                connect_timeout=5,
                read_timeout=read_timeout,
                # S3 pre-signed URLs sign Content-Type and Content-Length only with SigV4 (upload limits hold).
                signature_version="s3v4" if service == "s3" else None,
                # A fixed User-Agent: botocore otherwise rebuilds the header for every request (a fifth of the
                # CPU of a provider call, measured), and the deployment's identity is what we want to read in it.
                user_agent=self._user_agent,
            )
            client = await self._stack.enter_async_context(
                self._session.create_client(
                    service, region_name=self._settings.region, endpoint_url=endpoint, config=config
                )
            )
            self._instrument(client)
            self._clients[key] = client
        return self._clients[key]

    def _instrument(self, client) -> None:
        events = client.meta.events
        events.register("before-call", _start_span)
        events.register("after-call", _end_span)
        events.register("after-call-error", _end_span_with_error)
        if self._settings.aws_call_log:
            path, owner, region = self._settings.aws_call_log, self._owner, self._settings.region

            def record(params, model, **_):
                _append(path, call_record(owner, region, model, params))

            events.register("before-parameter-build", record)
        if self._settings.dynamodb_capacity_log and client.meta.service_model.service_name == "dynamodb":
            from runtime.capacity_log import CapacityRecorder  # opt-in: nothing of it is loaded otherwise

            capacity_path = self._settings.dynamodb_capacity_log
            CapacityRecorder(self._owner, lambda record: _append(capacity_path, record)).register(events)

    async def close(self) -> None:
        await self._stack.aclose()
        self._clients.clear()


def _start_span(model, context, **_) -> None:
    if otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY):
        return  # the caller's own span stands for this call (the dispatcher's send span)
    service = model.service_model
    context[_SPAN] = _tracer.start_span(
        f"{service.service_id} {model.name}",  # e.g. "DynamoDB PutItem"
        kind=trace.SpanKind.CLIENT,
        attributes={
            "rpc.system": "aws-api",
            "rpc.service": str(service.service_id),
            "rpc.method": model.name,
            "aws.signing_name": service.signing_name,
        },
    )


def _end_span(http_response, parsed, context, **_) -> None:
    span = context.pop(_SPAN, None)
    if span is None:
        return
    meta = (parsed or {}).get("ResponseMetadata", {})
    status = meta.get("HTTPStatusCode") or getattr(http_response, "status_code", 0)
    span.set_attribute("http.response.status_code", status)
    if meta.get("RequestId"):
        span.set_attribute("aws.request_id", meta["RequestId"])
    span.set_attribute("aws.retry_attempts", meta.get("RetryAttempts", 0))
    error = (parsed or {}).get("Error", {}).get("Code")
    if error:
        span.set_attribute("aws.error_code", error)
    if status >= 400 or error:
        span.set_status(trace.StatusCode.ERROR, error or str(status))
    span.end()


def _end_span_with_error(exception, context, **_) -> None:
    span = context.pop(_SPAN, None)
    if span is not None:
        span.record_exception(exception)
        span.set_status(trace.StatusCode.ERROR, type(exception).__name__)
        span.end()


def call_record(owner: str, region: str, model, params: dict[str, Any]) -> dict[str, Any]:
    """What the call log keeps of one call: who, which operation, and the parameters that name resources."""
    service = model.service_model
    kept: dict[str, Any] = {
        k: v for k, v in params.items() if isinstance(v, str) and len(v) <= 1024 and _RESOURCE_PARAM.search(k)
    }
    if isinstance(params.get("RequestItems"), dict):  # BatchGetItem / BatchWriteItem: the tables
        kept["RequestItems"] = sorted(params["RequestItems"])
    if isinstance(params.get("TransactItems"), list):  # TransactWriteItems / TransactGetItems: kind and table
        kept["TransactItems"] = [
            {kind: body.get("TableName") for kind, body in item.items()} for item in params["TransactItems"]
        ]
    return {
        "owner": owner,
        "service": service.service_name,
        "signing_name": service.signing_name,
        "operation": model.name,
        "region": region,
        "params": kept,
    }


def _append(path: str, record: dict[str, Any]) -> None:
    # Opt-in, for tests: one short append under a lock, shared by every client of the process.
    with _log_lock, open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
