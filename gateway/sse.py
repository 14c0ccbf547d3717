"""Server streams as Server-Sent Events: one `data:` event of proto3 JSON a message; a failure after the stream
has begun is an `event: error` whose data is the google.rpc.Status JSON. A failure before the first message
(a missing resource, a refused caller) is still a plain HTTP error with its status code.

The gRPC call lives exactly as long as the browser listens: when the client goes away (the handler is
cancelled, or a write finds the connection closed) the call is cancelled, so the backend stops its work."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import grpc
from aiohttp import web

from gateway.status import from_rpc_error, status_json

log = logging.getLogger("wecare.gateway")
HEADERS_GRACE = 0.1  # seconds
HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # proxies must not hold events back
}


def event(data: Any, name: str = "") -> bytes:
    """One SSE event. json.dumps never emits a raw newline, so the data is always one `data:` line."""
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n".encode()


async def relay(
    request: web.Request,
    call: grpc.aio.UnaryStreamCall,
    to_json: Callable[[Any], Any],
    keepalive: float,
    closing: asyncio.Event,
) -> web.StreamResponse:
    """Streams the call's messages to the client as SSE until the call ends or the client leaves.

    Raises grpc.aio.AioRpcError when the call fails before the stream started (the caller answers it as an
    ordinary error response). Starts at the first message, or as soon as the backend sends its headers (a watch
    that is live with nothing to say yet: the browser learns at once that it is connected), or after `keepalive`
    seconds; after that an idle stream carries a comment every `keepalive` seconds, which also finds dead
    connections.
    When `closing` is set (the gateway stops) the stream ends cleanly and the EventSource reconnects elsewhere."""
    pending: asyncio.Future | None = asyncio.ensure_future(call.read())
    headers = asyncio.ensure_future(call.initial_metadata())
    stopping = asyncio.ensure_future(closing.wait())
    response = web.StreamResponse(status=200, headers=HEADERS)
    try:
        done, _ = await asyncio.wait({pending, headers}, timeout=keepalive, return_when=asyncio.FIRST_COMPLETED)
        if pending not in done and headers in done:
            # A refusal's status comes right behind its (empty) headers: a short wait tells it from a live watch.
            done, _ = await asyncio.wait({pending}, timeout=HEADERS_GRACE)
        if pending in done:
            first = pending.result()  # an AioRpcError here goes back to the caller, before any header is sent
            pending = None
        await response.prepare(request)
        if pending is None:
            if first is grpc.aio.EOF:
                await response.write_eof()
                return response
            await response.write(event(to_json(first)))
        while True:
            if pending is None:
                pending = asyncio.ensure_future(call.read())
            done, _ = await asyncio.wait({pending, stopping}, timeout=keepalive, return_when=asyncio.FIRST_COMPLETED)
            if pending not in done:
                if stopping in done:
                    break
                await response.write(b": keep-alive\n\n")
                continue
            try:
                message = pending.result()
            except grpc.aio.AioRpcError as exc:
                status = from_rpc_error(exc)
                log.info("stream failed", extra={"rpc_code": status.code, "rpc_message": status.message})
                await response.write(event(status_json(status), "error"))
                break
            finally:
                pending = None
            if message is grpc.aio.EOF:
                break
            await response.write(event(to_json(message)))
        await response.write_eof()
        return response
    except ConnectionResetError:
        log.info("stream client went away; cancelling the call", extra={"path": request.path})
        return response
    except asyncio.CancelledError:
        log.info("stream cancelled; cancelling the call", extra={"path": request.path})
        raise
    finally:
        call.cancel()  # a no-op when the call has ended
        stopping.cancel()
        headers.cancel()
        if headers.done() and not headers.cancelled():
            headers.exception()  # the call's failure is answered through its read; this copy is only retrieved
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # its outcome no longer matters
                await pending
