"""Outgoing gRPC calls between services: every call carries this service's identity token and the W3C trace
context of the current span, so nothing inside the cluster is trusted for free and traces stay whole."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from runtime import tls
from runtime.tracing import inject_headers


class _OutgoingMetadata:
    def __init__(self, token: Callable[[], str]):
        self._token = token

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        if "authorization" not in metadata:
            metadata["authorization"] = f"Bearer {self._token()}"
        for key, value in inject_headers().items():
            metadata[key] = value
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


# One class per kind of call: grpc.aio files an interceptor under the first kind it is an instance of, so one
# class implementing all four would only ever see unary-unary calls (streamed calls went out without a token).
class _UnaryUnary(_OutgoingMetadata, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, details, request):
        return await continuation(self._details(details), request)


class _UnaryStream(_OutgoingMetadata, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, details, request):
        return await continuation(self._details(details), request)


class _StreamUnary(_OutgoingMetadata, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, details, request_iterator):
        return await continuation(self._details(details), request_iterator)


class _StreamStream(_OutgoingMetadata, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation, details, request_iterator):
        return await continuation(self._details(details), request_iterator)


def service_channel(address: str, token: Callable[[], str]) -> grpc.aio.Channel:
    """A channel to another service that authenticates as `token()` (a service token) on every call."""
    return dial(
        address,
        interceptors=[kind(token) for kind in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)],
        options=[("grpc.max_receive_message_length", 8 * 1024 * 1024), ("grpc.enable_retries", 1)],
    )


def dial(address: str, *, interceptors=None, options=()) -> grpc.aio.Channel:
    """A channel to another process: TLS when the process was started with a CA (runtime.tls.use), else plaintext.
    Calls are spread over every address the name resolves to (a headless Service answers each ready pod)."""
    options = [*options, ("grpc.lb_policy_name", "round_robin")]
    credentials = tls.client_credentials()
    if credentials is None:
        return grpc.aio.insecure_channel(address, options=list(options), interceptors=interceptors)
    return grpc.aio.secure_channel(address, credentials, options=list(options), interceptors=interceptors)
