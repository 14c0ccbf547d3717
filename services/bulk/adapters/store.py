"""The bulk stores' interfaces. Implementations: sqlite_store (embedded default), dynamodb_jobs and dynamodb_store
(AWS). Both pass tests/bulk/test_store_contract.py.

- JobStore (BulkJobsTable): jobs, changed only by compare-and-swap on their version.
- ChunkStore (BulkJobChunksTable): a job's chunks of recipients with each recipient's state, the job's counters
  (kept in the same writes as the recipient changes they count, so they never drift), and the expansion's
  progress and lease."""

from __future__ import annotations

from typing import Protocol

from services.bulk.domain.model import Chunk, Counts, Expansion, Job, Recipient, Update


class JobStore(Protocol):
    async def create(self, job: Job) -> None: ...

    async def get(self, job_id: str) -> Job | None: ...

    async def list(self, before_id: str | None, limit: int) -> list[Job]:
        """Newest first (ids grow with time), ids strictly below before_id."""
        ...

    async def replace(self, job: Job, expected_version: int) -> bool:
        """Writes job if the stored one is still at expected_version; False (nothing written) otherwise."""
        ...

    async def active(self) -> list[Job]:
        """Jobs with background work: SCHEDULED, RUNNING, PAUSED, and finished ones whose report is not written."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class ChunkStore(Protocol):
    async def add_chunk(self, chunk: Chunk) -> bool:
        """Writes a chunk with its recipients (suppressed ones with their outcome), and counts them, once: a
        chunk already written is left as it is (False). Expansion may repeat after a crash."""
        ...

    async def get_chunk(self, job_id: str, seq: int) -> Chunk | None: ...

    async def open_count(self, job_id: str, seq: int) -> int | None:
        """How many recipients of the chunk are still PENDING or CLAIMED (None: no such chunk)."""
        ...

    async def open_chunks(self, job_id: str, count: int) -> list[int]:
        """Of chunks 0..count-1, those with a recipient still PENDING or CLAIMED, in order."""
        ...

    async def claim(self, job_id: str, seq: int, owner: str, until: float, now: float) -> list[Recipient]:
        """Takes the chunk's hold for owner until `until` (free, run out before `now`, or owner's already) and
        claims every recipient of it that is PENDING or CLAIMED (by a holder whose lease ran out); returns those
        now claimed by owner. Held by another: none."""
        ...

    async def renew(self, job_id: str, seq: int, owner: str, until: float) -> bool:
        """Extends owner's hold on the chunk (one write, whatever its size); False: it is no longer owner's."""
        ...

    async def release(self, job_id: str, seq: int, owner: str, indexes: list[int]) -> int:
        """Puts owner's claims on these recipients back to PENDING (a withdrawn send) and gives up owner's hold
        on the chunk, so its next delivery is claimed at once; returns how many recipients."""
        ...

    async def record(self, job_id: str, seq: int, updates: list[Update], now: float) -> int:
        """Applies outcomes that move their recipient forward (model.advances), whoever holds the claim, and
        the counters with them; the rest are ignored. Returns how many were applied."""
        ...

    async def counts(self, job_id: str) -> Counts: ...

    async def expansion(self, job_id: str) -> Expansion: ...

    async def take_expansion(self, job_id: str, owner: str, until: float, now: float) -> Expansion | None:
        """The expansion's lease for owner (when free, run out, or owner's already), or None."""
        ...

    async def save_expansion(self, job_id: str, owner: str, progress: Expansion) -> bool:
        """Stores progress (cursor, next_seq, done, lease) if owner still holds the lease."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
