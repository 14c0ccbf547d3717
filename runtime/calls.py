"""Per-call context, set by the interceptors and read by servicers and logs (contextvars: one per RPC task)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from runtime.auth import Identity


@dataclass
class Call:
    method: str
    identity: Identity | None = None
    trace_id: str = ""
    # What the audit record says about the change, noted by the servicer when it knows more than the request.
    resource: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


current_call: ContextVar[Call | None] = ContextVar("current_call", default=None)


def caller() -> Identity | None:
    call = current_call.get()
    return call.identity if call else None


def note_change(resource: str, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """Tells the audit interceptor which resource changed and how (without personal data)."""
    call = current_call.get()
    if call is not None:
        call.resource = resource
        call.before = before
        call.after = after
