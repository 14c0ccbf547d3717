"""RPCs that answer google.api.HttpBody (a CSV export, a file): the message's bytes are the HTTP response body and
its content_type the Content-Type, as grpc-gateway does it, for any RPC so declared (no per-route code).

A server stream of HttpBody is one response streamed chunk by chunk (Transfer-Encoding: chunked): the first
message's content_type is the Content-Type, every message's data is appended. A failure before the first message
is an ordinary error response with its status; after it the status line has gone, so the connection is cut
without the final chunk and the client sees an incomplete body, never a complete-looking truncated file. The call
lives as long as the client reads: a client that leaves cancels it."""

from __future__ import annotations

import asyncio
import logging

import grpc
from aiohttp import web
from google.api import httpbody_pb2

log = logging.getLogger("wecare.gateway")
DEFAULT_TYPE = "application/octet-stream"


def body_response(reply: httpbody_pb2.HttpBody) -> web.Response:
    return web.Response(body=reply.data, headers={"Content-Type": reply.content_type or DEFAULT_TYPE})


async def relay_body(
    request: web.Request, call: grpc.aio.UnaryStreamCall, closing: asyncio.Event
) -> web.StreamResponse:
    """Streams the call's HttpBody messages as one response. Raises grpc.aio.AioRpcError when the call fails
    before its first message (the caller answers it as an error)."""
    response: web.StreamResponse | None = None
    try:
        first = await call.read()  # an AioRpcError here goes back to the caller, before any header is sent
        content_type = DEFAULT_TYPE if first is grpc.aio.EOF else first.content_type or DEFAULT_TYPE
        response = web.StreamResponse(status=200, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
        await response.prepare(request)
        message = first
        while message is not grpc.aio.EOF:
            if closing.is_set():
                raise ConnectionAbortedError("the gateway is stopping")
            if message.data:
                await response.write(message.data)
            message = await call.read()
        await response.write_eof()
        return response
    except (grpc.aio.AioRpcError, ConnectionAbortedError) as exc:
        if response is None:
            raise
        log.warning(
            "body stream failed after it began; cutting the connection",
            extra={"path": request.path, "error": str(exc)[:300]},
        )
        if request.transport is not None:
            request.transport.abort()  # no final chunk: the client sees the body is incomplete
        return response
    except ConnectionResetError:
        log.info("body stream client went away; cancelling the call", extra={"path": request.path})
        return response
    finally:
        call.cancel()  # a no-op when the call has ended
