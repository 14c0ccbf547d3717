"""AWS clients for the asyncio services (aiobotocore: no blocking call in the event loop), one session per
process, endpoints from settings so the same code talks to AWS, to the embedded AWS (moto) or to the sandbox.

Every client is instrumented through botocore's event hooks: a client span per API call (a child of the RPC that
made it, so one trace runs from the gateway down to DynamoDB), and, when WECARE_AWS_CALL_LOG names a file, one
JSON line per call naming the caller, the operation and the resources it touches (the IAM check in tests reads
them; values that could hold personal data are not written). WECARE_DYNAMODB_CAPACITY_LOG adds the DynamoDB
capacity log (runtime/capacity_log.py) the same way: one line per request, its items' sizes and keys' displays.

`lean()` gives one operation of a client as a runtime.aws_lean.LeanOperation (the dispatcher's sends): the same
request, endpoint, credentials and call log, without the SDK's per-call machinery."""

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

from runtime.aws_lean import LeanOperation, Unsupported
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
        self._clients: dict[tuple[str, str, int, float, float], object] = {}
        self._lean: dict[tuple[str, str, str], LeanOperation] = {}
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
        connect_timeout: float = 5,
    ):
        """A long-lived client (its connection pool is reused); closed with the process. Callers that retry
        on their own terms (a provider send must never be repeated by the SDK) pass max_attempts=1."""
        endpoint = endpoint_url or self.endpoint_for(service)
        key = (service, endpoint or "", max_attempts, read_timeout, connect_timeout)
        if key not in self._clients:
            config = AioConfig(
                max_pool_connections=max_pool,
                # total_max_attempts counts the first call (botocore's `max_attempts` counts retries only:
                # max_attempts=1 made two calls, so a provider send was not made once).
                retries={"mode": "standard", "total_max_attempts": max_attempts},
                connect_timeout=connect_timeout,
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

    async def lean(
        self,
        service: str,
        operation: str,
        endpoint_url: str | None = None,
        max_pool: int = 50,
        read_timeout: float = 30.0,
        client_span: bool = True,
    ) -> LeanOperation:
        """`operation` (e.g. "SendWhatsAppMessage") of the client `client()` gives (one attempt), called the lean
        way with that client's endpoint, credentials and timeouts. Raises runtime.aws_lean.Unsupported when
        the operation needs what only the SDK does (the caller keeps the SDK's method for it). `client_span`
        False: the caller's own span stands for the call."""
        endpoint = endpoint_url or self.endpoint_for(service)
        key = (service, operation, endpoint or "")
        if key in self._lean:
            return self._lean[key]
        client = await self.client(service, endpoint, max_pool=max_pool, max_attempts=1, read_timeout=read_timeout)
        model = client.meta.service_model.operation_model(operation)
        credentials = await self._session.get_credentials()
        if credentials is None:
            raise Unsupported("no credentials: the SDK's call reports it")
        # Resolved once: none of these operations has parameters the endpoint rules read (aws_lean checks).
        context = {"client_region": client.meta.region_name, "client_config": client.meta.config}
        url, headers, _ = await client._resolve_endpoint_ruleset(model, {}, context)
        if headers:
            raise Unsupported(f"{operation}: the endpoint adds headers")
        signing = context.get("signing", {})
        record = None
        if self._settings.aws_call_log:
            path, owner, region = self._settings.aws_call_log, self._owner, self._settings.region

            def record(params):
                _append(path, call_record(owner, region, model, params))

        op = LeanOperation(
            client,
            operation,
            credentials,
            url,
            (
                signing.get("signing_name", model.service_model.signing_name),
                signing.get("region", client.meta.region_name),
            ),
            client._user_agent_creator.to_string(),  # fixed for the client (its config names it; see client())
            max_pool,
            client_span=client_span,
            record=record,
        )
        self._lean[key] = op
        return op

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
        for op in self._lean.values():
            await op.close()
        self._lean.clear()
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
