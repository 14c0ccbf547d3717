"""Domain errors, raised by domain code and mapped to gRPC status codes with google.rpc details in one place.

Domain code never imports grpc: it raises these, and the error interceptor turns them into a google.rpc.Status
(with BadRequest field violations, ErrorInfo or PreconditionFailure details)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

DOMAIN = "wecare.digital"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: str = ""

    def __init__(self, message: str, *, reason: str = "", metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason or self.reason
        self.metadata = metadata or {}

    def details(self) -> list[any_pb2.Any]:
        if not self.reason:
            return []
        info = error_details_pb2.ErrorInfo(reason=self.reason, domain=DOMAIN, metadata=self.metadata)
        return [_pack(info)]

    def to_status(self) -> status_pb2.Status:
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=self.details())


class InvalidArgument(DomainError):
    """Bad input; names every offending field."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: list[FieldViolation] | FieldViolation | str, description: str = ""):
        if isinstance(violations, str):
            violations = [FieldViolation(violations, description)]
        elif isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = list(violations)
        message = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(message or "invalid argument")

    def details(self) -> list[any_pb2.Any]:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in self.violations
            ]
        )
        return [_pack(bad)]


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    """A rule refuses the request; `reason` names the rule (e.g. CONSENT_OPTED_OUT)."""

    code = grpc.StatusCode.FAILED_PRECONDITION

    def details(self) -> list[any_pb2.Any]:
        out = super().details()
        if self.reason:
            failure = error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=self.reason, subject=self.metadata.get("subject", ""), description=self.message
                    )
                ]
            )
            out.append(_pack(failure))
        return out


class Aborted(DomainError):
    """A concurrent change won (stale etag); read again and retry."""

    code = grpc.StatusCode.ABORTED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    """A backend is unreachable; the caller may retry."""

    code = grpc.StatusCode.UNAVAILABLE


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def internal_status(trace_id: str) -> status_pb2.Status:
    """What a caller sees of an unexpected failure: no internals, the trace id to find the logs."""
    return status_pb2.Status(
        code=code_pb2.INTERNAL, message=f"internal error; the logs of trace {trace_id} say what happened"
    )
