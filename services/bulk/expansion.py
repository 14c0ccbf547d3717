"""The audience turned into chunks, as a stream: contacts are read page by page from the contacts service,
each member admitted or suppressed (domain.spec.admit), cut into chunks of `chunk_size` recipients (or fewer,
so a chunk's identities stay well inside one DynamoDB item), each chunk written once to BulkJobChunksTable and
put on bulk-queue, and the position saved after it. An inline list is chunked when the job is created (its rows
are checked there); starting the job only queues its chunks.

One process expands a job at a time (a lease in the chunk store, renewed with every save); a process that dies
leaves the lease to run out and the next one continues from the saved position: chunks already written are
not written again, chunks already queued may be queued again (a worker takes a chunk once whatever SQS
delivers). The position is the contacts page a chunk began in and how many members of that page came before."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from services.bulk.adapters.chunk_queue import ChunkQueue, ChunkRef
from services.bulk.adapters.contacts import ContactsDirectory
from services.bulk.adapters.store import ChunkStore
from services.bulk.domain import spec
from services.bulk.domain.model import Chunk, Expansion, Job, JobState, Outcome, Recipient
from services.bulk.domain.spec import Candidate
from services.bulk.job_states import JobStates

log = logging.getLogger("wecare.bulk.expansion")
CHUNK_BYTES = 200_000  # identities a chunk carries at most (a DynamoDB item holds 400 KB)


@dataclass
class Audit:
    """A dry run's (or an inline list's) tally: who is sent to, who is suppressed and why."""

    total: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)

    def suppress(self, reason: str) -> None:
        self.suppressed[reason] = self.suppressed.get(reason, 0) + 1

    @property
    def recipients(self) -> int:
        return self.total - sum(self.suppressed.values())


def recipient_of(
    candidate: Candidate, index: int, seq: int, job: Job, region: str, names: set[str], inline: bool
) -> Recipient:
    admitted = spec.admit(candidate, job.channel, region, names, job.audience.consent, inline)
    if isinstance(admitted, str):
        return Recipient(
            index, candidate.address.strip(), candidate.contact, outcome=Outcome.SUPPRESSED, reason=admitted
        )
    origination = job.originations[(seq + index) % len(job.originations)]
    return Recipient(index, admitted.address, candidate.contact, origination, admitted.values)


def _size(r: Recipient) -> int:
    return 40 + len(r.address) + len(r.contact) + len(r.origination) + sum(len(k) + len(v) for k, v in r.values.items())


class Cutter:
    """Where a chunk ends, the one rule for every audience: at chunk_size recipients or CHUNK_BYTES of identities.
    `seq` and `index` are the next recipient's place."""

    def __init__(self, job_id: str, chunk_size: int, seq: int = 0):
        self._job_id = job_id
        self._chunk_size = chunk_size
        self.seq = seq
        self.open: list[Recipient] = []
        self._bytes = 0

    @property
    def index(self) -> int:
        return len(self.open)

    def add(self, r: Recipient) -> Chunk | None:
        """Adds the recipient; the chunk it completed, if it did."""
        self.open.append(r)
        self._bytes += _size(r)
        if len(self.open) >= self._chunk_size or self._bytes >= CHUNK_BYTES:
            return self.rest()
        return None

    def rest(self) -> Chunk | None:
        """The open chunk, however full (the audience ended), and the next begins."""
        if not self.open:
            return None
        chunk = Chunk(self._job_id, self.seq, self.open)
        self.seq, self.open, self._bytes = self.seq + 1, [], 0
        return chunk


def inline_chunks(job: Job, rows: list[Candidate], region: str, chunk_size: int) -> Iterator[Chunk]:
    """An inline list's chunks: rows admitted or suppressed, a repeated address suppressed as `duplicate`."""
    names = spec.placeholders(job.content)
    seen: set[str] = set()
    cut = Cutter(job.id, chunk_size)
    for row in rows:
        r = recipient_of(row, cut.index, cut.seq, job, region, names, inline=True)
        if r.outcome != Outcome.SUPPRESSED:
            if r.address in seen:
                r = Recipient(r.index, r.address, r.contact, outcome=Outcome.SUPPRESSED, reason="duplicate")
            else:
                seen.add(r.address)
        if full := cut.add(r):
            yield full
    if rest := cut.rest():
        yield rest


@dataclass(frozen=True)
class Position:
    page: str = ""  # the contacts page token the next chunk begins in ("" = the first page)
    skip: int = 0  # members of that page already in earlier chunks

    def text(self) -> str:
        return json.dumps({"page": self.page, "skip": self.skip}, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> Position:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data["page"], int(data["skip"]))


class Expander:
    def __init__(
        self,
        chunks: ChunkStore,
        queue: ChunkQueue,
        directory: ContactsDirectory,
        states: JobStates,
        region: str,
        chunk_size: int,
        lease_seconds: float,
        owner: str,
        wall=time.time,
    ):
        self._chunks = chunks
        self._queue = queue
        self._directory = directory
        self._states = states
        self._region = region
        self._chunk_size = chunk_size
        self._lease = lease_seconds
        self._owner = owner
        self._wall = wall

    async def expand(self, job: Job) -> bool:
        """Expands (or goes on expanding) a RUNNING job; False when another process holds the expansion or the
        job stopped running meanwhile (the position is kept), True when the whole audience is queued."""
        now = self._wall()
        progress = await self._chunks.take_expansion(job.id, self._owner, now + self._lease, now)
        if progress is None:
            return False
        if job.audience.listed:
            return await self._queue_inline(job, progress)
        return await self._expand_contacts(job, progress)

    async def _save(self, job: Job, next_seq: int, position: Position | None) -> bool:
        done = position is None
        progress = Expansion(
            cursor="" if done else position.text(),
            next_seq=next_seq,
            done=done,
            owner="" if done else self._owner,
            lease_until=0.0 if done else self._wall() + self._lease,
        )
        if not await self._chunks.save_expansion(job.id, self._owner, progress):
            log.warning("expansion lease lost", extra={"job": job.name})
            return False
        return True

    async def _running(self, job: Job) -> bool:
        current = await self._states.get(job.id)
        if current is not None and current.state == JobState.RUNNING:
            return True
        # Paused or cancelled: give the lease back; a resume continues from the saved position.
        kept = await self._chunks.expansion(job.id)
        await self._chunks.save_expansion(job.id, self._owner, replace(kept, owner="", lease_until=0.0))
        return False

    async def _queue_inline(self, job: Job, progress: Expansion) -> bool:
        seq, total = progress.next_seq, job.audience.chunks
        while seq < total:
            if not await self._running(job):
                return False
            end = min(seq + 10, total)
            await self._queue.send([ChunkRef(job.id, s) for s in range(seq, end)])
            seq = end
            if seq < total and not await self._save(job, seq, Position()):
                return False
        log.info("audience queued", extra={"job": job.name, "chunks": seq})
        return await self._save(job, seq, None)

    async def _expand_contacts(self, job: Job, progress: Expansion) -> bool:
        names = spec.placeholders(job.content)
        cut = Cutter(job.id, self._chunk_size, progress.next_seq)
        position = Position.parse(progress.cursor)
        token, skip = position.page, position.skip
        began_at = position
        written: list[ChunkRef] = []
        saved_seq, saved_at = cut.seq, self._wall()
        # The next page is read while this one is written.
        reading = asyncio.ensure_future(self._directory.page(job.audience, job.channel, token))
        while True:
            if not await self._running(job):
                reading.cancel()
                return False
            members, next_token = await reading
            if next_token:
                reading = asyncio.ensure_future(self._directory.page(job.audience, job.channel, next_token))
            for offset in range(skip, len(members)):
                if not cut.open:
                    began_at = Position(token, offset)
                r = recipient_of(members[offset], cut.index, cut.seq, job, self._region, names, inline=False)
                if full := cut.add(r):
                    await self._chunks.add_chunk(full)
                    written.append(ChunkRef(job.id, full.seq))
            skip = 0
            if written:
                await self._queue.send(written)
                written = []
            if next_token and (cut.seq > saved_seq or self._wall() - saved_at > self._lease / 3):
                # The next chunk begins where the open one did, or at the next page when none is open.
                if not await self._save(job, cut.seq, began_at if cut.open else Position(next_token, 0)):
                    return False
                saved_seq, saved_at = cut.seq, self._wall()
            if not next_token:
                break
            token = next_token
        if rest := cut.rest():
            await self._chunks.add_chunk(rest)
            await self._queue.send([ChunkRef(job.id, rest.seq)])
        if not await self._save(job, cut.seq, None):
            return False
        log.info("audience expanded", extra={"job": job.name, "chunks": cut.seq})
        return True


async def survey_contacts(job: Job, directory: ContactsDirectory, region: str, open_windows: set[str] | None) -> Audit:
    """A dry run over a contact audience: every page read, nothing written."""
    names = spec.placeholders(job.content)
    audit = Audit()
    token = ""
    while True:
        members, token = await directory.page(job.audience, job.channel, token)
        for c in members:
            audit.total += 1
            admitted = spec.admit(c, job.channel, region, names, job.audience.consent, inline=False)
            if isinstance(admitted, str):
                audit.suppress(admitted)
            elif open_windows is not None and admitted.address not in open_windows:
                audit.suppress("closed_window")
        if not token:
            return audit


async def survey_inline(
    job: Job,
    rows: list[Candidate],
    directory: ContactsDirectory,
    region: str,
    open_windows: set[str] | None,
) -> Audit:
    """A dry run over an inline list: the chunks it would make, with the consent contacts hold for its addresses."""
    audit = Audit()
    admitted: list[Recipient] = []
    for chunk in inline_chunks(job, rows, region, 1000):
        for r in chunk.recipients:
            audit.total += 1
            if r.outcome == Outcome.SUPPRESSED:
                audit.suppress(r.reason)
            else:
                admitted.append(r)
    consent = await directory.consent(job.channel, {r.address for r in admitted})
    for r in admitted:
        state = consent.get(r.address, ("UNKNOWN", None))[0]
        if state == "OPTED_OUT":
            audit.suppress("opted_out")
        elif job.audience.consent == "OPTED_IN" and state != "OPTED_IN":
            audit.suppress("not_opted_in")
        elif open_windows is not None and r.address not in open_windows:
            audit.suppress("closed_window")
    return audit
