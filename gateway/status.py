"""Errors at the HTTP edge: a JSON google.rpc.Status (`{"code", "message", "details"}`) with the HTTP status that
google/rpc/code.proto gives its code, whether the error came from a backend's trailers or from the gateway."""

from __future__ import annotations

import base64
import json
import logging

import grpc
from aiohttp import web
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2  # noqa: F401  (registers the detail types for JSON)

log = logging.getLogger("wecare.gateway")
DETAILS_KEY = "grpc-status-details-bin"

HTTP_STATUS = {
    code_pb2.OK: 200,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNAUTHENTICATED: 401,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.ABORTED: 409,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.CANCELLED: 499,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DEADLINE_EXCEEDED: 504,
}


def http_status(code: int) -> int:
    return HTTP_STATUS.get(code, 500)


def status_json(status: status_pb2.Status) -> dict:
    """Proto3 JSON of a Status, with `code`, `message` and `details` always present."""
    details = []
    for detail in status.details:
        try:
            details.append(json_format.MessageToDict(detail))
        except (TypeError, KeyError, json_format.Error):
            # A detail type this gateway does not know: still shown, as the Any's raw form.
            details.append({"@type": detail.type_url, "value": base64.b64encode(detail.value).decode()})
    return {"code": status.code, "message": status.message, "details": details}


def from_rpc_error(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The backend's own Status (its grpc-status-details-bin trailer) or, without one, what the transport said."""
    code = error.code().value[0]
    for key, value in error.trailing_metadata() or ():
        if key == DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            if status.code == code:
                return status
    if code == code_pb2.UNAVAILABLE:
        # The transport's words name internal addresses; the log keeps them, the caller gets the gist.
        log.warning("backend unavailable", extra={"grpc_details": error.details()})
        return status_pb2.Status(code=code, message="the service is unavailable; retry shortly")
    return status_pb2.Status(code=code, message=error.details() or error.code().name)


def error_response(status: status_pb2.Status, http: int | None = None, headers: dict | None = None) -> web.Response:
    return web.Response(
        status=http or http_status(status.code),
        body=json.dumps(status_json(status), separators=(",", ":"), ensure_ascii=False).encode(),
        content_type="application/json",
        headers=headers,
    )


def failure(code: int, message: str, http: int | None = None, headers: dict | None = None) -> web.Response:
    return error_response(status_pb2.Status(code=code, message=message), http, headers)
