"""An audit entry and the store interface; implementations: sqlite_store (embedded), dynamodb_store (AWS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class AuditEntry:
    id: str  # time-ordered (runtime.ids), so newest-first is id-descending
    time: float  # epoch seconds
    actor: str
    actor_roles: tuple[str, ...]
    method: str
    resource: str
    outcome: str
    trace_id: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""
    resource: str = ""
    start_time: float | None = None  # inclusive
    end_time: float | None = None  # exclusive


class Rewritten(Exception):
    """An append under an id that holds a different entry: the audit log is append-only."""

    def __init__(self, entry_id: str):
        super().__init__(f"audit entry {entry_id} exists with other content; entries are never rewritten")


class AuditStore(Protocol):
    async def append(self, entry: AuditEntry) -> None:
        """Adds the entry; the same entry again is a no-op (a retry), another under its id is Rewritten."""

    async def list(self, query: AuditQuery, before_id: str | None, limit: int) -> list[AuditEntry]:
        """Newest first, ids strictly below before_id when given."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
