"""Errors at the edge: the HTTP status of every google.rpc code (docs/DESIGN.md), the backend's Status taken from its
grpc-status-details-bin trailer, and details of unknown types still shown."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from gateway.status import DETAILS_KEY, from_rpc_error, http_status, status_json


def test_http_status_of_every_code():
    expected = {
        "OK": 200,
        "INVALID_ARGUMENT": 400,
        "FAILED_PRECONDITION": 400,
        "OUT_OF_RANGE": 400,
        "UNAUTHENTICATED": 401,
        "PERMISSION_DENIED": 403,
        "NOT_FOUND": 404,
        "ALREADY_EXISTS": 409,
        "ABORTED": 409,
        "RESOURCE_EXHAUSTED": 429,
        "CANCELLED": 499,
        "UNIMPLEMENTED": 501,
        "UNAVAILABLE": 503,
        "DEADLINE_EXCEEDED": 504,
        "UNKNOWN": 500,
        "INTERNAL": 500,
        "DATA_LOSS": 500,
    }
    assert {name: http_status(code_pb2.Code.Value(name)) for name in expected} == expected
    assert set(expected) == set(code_pb2.Code.keys())


def _error(code: grpc.StatusCode, details: str, trailers=()) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), details)


def test_the_backends_status_comes_from_its_trailer():
    bad = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field="contact.email", description="no")]
    )
    detail = any_pb2.Any()
    detail.Pack(bad)
    sent = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="contact.email: no", details=[detail])
    error = _error(grpc.StatusCode.INVALID_ARGUMENT, "contact.email: no", [(DETAILS_KEY, sent.SerializeToString())])
    assert status_json(from_rpc_error(error)) == {
        "code": 3,
        "message": "contact.email: no",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "contact.email", "description": "no"}],
            }
        ],
    }
    # A trailer that disagrees with the call's code is not trusted
    lying = _error(grpc.StatusCode.NOT_FOUND, "gone", [(DETAILS_KEY, sent.SerializeToString())])
    assert status_json(from_rpc_error(lying)) == {"code": 5, "message": "gone", "details": []}


def test_transport_failures_do_not_leak_addresses():
    error = _error(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses; ipv4:10.0.3.7:50051")
    status = from_rpc_error(error)
    assert status.code == code_pb2.UNAVAILABLE and "10.0.3.7" not in status.message


def test_unknown_detail_types_are_shown_raw():
    unknown = any_pb2.Any(type_url="type.googleapis.com/acme.Unknown", value=b"\x08\x01")
    assert status_json(status_pb2.Status(code=5, message="x", details=[unknown]))["details"] == [
        {"@type": "type.googleapis.com/acme.Unknown", "value": "CAE="}
    ]
