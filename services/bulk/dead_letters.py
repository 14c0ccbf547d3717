"""bulk-dlq, for admins: a peek at the chunks in it, and their replay onto bulk-queue with a dry run, a maximum
count and a rate cap. A replay has no duplicate effect: a chunk whose recipients all have their outcome (or
whose job is over) is only removed, and a replayed chunk's recipients are claimed and sent under their keys
like any other (those already sent come back from messaging as duplicates)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum

from services.bulk.adapters.chunk_queue import ChunkQueue, Delivery
from services.bulk.adapters.store import ChunkStore, JobStore
from services.bulk.domain.model import FINISHED

PEEK_VISIBILITY = 5  # seconds a peeked letter stays hidden if its release fails
REDRIVEN = "bulk-queue's redrive moved it after its receive limit: a worker stopped while working it, each time"


class Replayed(Enum):
    REPLAYED = "replayed"
    WOULD_REPLAY = "would_replay"
    ALREADY_DONE = "already_done"
    FAILED = "failed"


@dataclass(frozen=True)
class DeadChunk:
    delivery: Delivery
    reason: str


@dataclass
class ReplayStep:
    results: list[tuple[DeadChunk, Replayed, str]] = field(default_factory=list)
    replayed: int = 0
    already_done: int = 0
    failed: int = 0


class DeadLetters:
    def __init__(self, queue: ChunkQueue, jobs: JobStore, chunks: ChunkStore):
        self._queue = queue
        self._jobs = jobs
        self._chunks = chunks

    async def peek(self, limit: int) -> tuple[list[DeadChunk], int]:
        found: dict[str, Delivery] = {}
        receipts: list[str] = []
        try:
            while len(found) < limit:
                batch = await self._queue.take_dead(limit - len(found), PEEK_VISIBILITY)
                if not batch:
                    break
                receipts += [d.receipt for d in batch]
                fresh = [d for d in batch if d.message_id not in found]
                found.update({d.message_id: d for d in fresh})
                if not fresh:
                    break
        finally:
            if receipts:
                await self._queue.release_dead(receipts)
        return [DeadChunk(d, d.reason or REDRIVEN) for d in found.values()], await self._queue.dead_count()

    async def _done(self, delivery: Delivery) -> bool:
        ref = delivery.ref
        assert ref is not None
        job = await self._jobs.get(ref.job_id)
        if job is None or job.state in FINISHED:
            return True
        chunk = await self._chunks.get_chunk(ref.job_id, ref.seq)
        return chunk is None or not chunk.open

    async def replay(self, dry_run: bool, max_count: int, per_second: float) -> AsyncIterator[ReplayStep]:
        handled: set[str] = set()
        kept: list[str] = []  # receipts of letters left in the queue (dry run, failures): visible again at the end
        interval = 1.0 / per_second
        last = 0.0
        try:
            while len(handled) < max_count:
                batch = await self._queue.take_dead(min(10, max_count - len(handled)), visibility=60)
                batch = [d for d in batch if d.message_id not in handled]
                if not batch:
                    return
                step = ReplayStep()
                for d in batch:
                    wait = last + interval - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    last = time.monotonic()
                    handled.add(d.message_id)
                    dead = DeadChunk(d, d.reason or REDRIVEN)
                    if d.ref is None:
                        kept.append(d.receipt)
                        step.results.append((dead, Replayed.FAILED, "not a bulk chunk message"))
                        step.failed += 1
                    elif dry_run:
                        kept.append(d.receipt)
                        step.results.append((dead, Replayed.WOULD_REPLAY, ""))
                    else:
                        try:
                            if await self._done(d):
                                await self._queue.delete_dead(d.receipt)
                                step.results.append((dead, Replayed.ALREADY_DONE, ""))
                                step.already_done += 1
                            else:
                                await self._queue.requeue(d)
                                step.results.append((dead, Replayed.REPLAYED, ""))
                                step.replayed += 1
                        except Exception as exc:
                            kept.append(d.receipt)
                            step.results.append((dead, Replayed.FAILED, f"{type(exc).__name__}: {exc}"))
                            step.failed += 1
                yield step
        finally:
            if kept:
                await self._queue.release_dead(kept)
