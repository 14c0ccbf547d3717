"""BulkJobsTable and BulkJobChunksTable on the embedded SQLite engine (one file each, WAL, shared safely by
several bulk processes).

Jobs are one JSON document each, changed by compare-and-swap on `version`; a partial index keeps the jobs with
background work. In the chunks file, a recipient's state is columns (every claim and outcome is a plain
conditional UPDATE) beside its identity document; each chunk row counts its open recipients, and the job's
counters live in the same file, so one transaction changes a recipient, its chunk and the counts together."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from runtime.sqlite import SqliteDatabase
from services.bulk.adapters.codec import job_from_doc, job_to_doc, recipient_from_doc, recipient_to_doc
from services.bulk.domain.model import (
    ACTIVE,
    OPEN,
    Chunk,
    Counts,
    Expansion,
    Job,
    Outcome,
    Recipient,
    Update,
    applies,
    delta,
    open_change,
)

JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  active INTEGER NOT NULL,
  doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_active ON jobs(id) WHERE active = 1;
"""

CHUNKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
  job TEXT NOT NULL, seq INTEGER NOT NULL, size INTEGER NOT NULL, open INTEGER NOT NULL,
  PRIMARY KEY (job, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_open ON chunks(job, seq) WHERE open > 0;
CREATE TABLE IF NOT EXISTS recipients (
  job TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
  doc TEXT NOT NULL,
  outcome TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '', provider_id TEXT NOT NULL DEFAULT '', error_code TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '', update_time REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (job, seq, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS holds (
  job TEXT NOT NULL, seq INTEGER NOT NULL, holder TEXT NOT NULL, held_until REAL NOT NULL,
  PRIMARY KEY (job, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
  job TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (job, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS expansions (
  job TEXT PRIMARY KEY, cursor TEXT NOT NULL, next_seq INTEGER NOT NULL, done INTEGER NOT NULL,
  owner TEXT NOT NULL, lease_until REAL NOT NULL
) WITHOUT ROWID;
"""
STATE = "outcome, owner, message, provider_id, error_code, reason, update_time"


def _active(job: Job) -> int:
    return int(job.state in ACTIVE or job.needs_report)


def _dumps(doc) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class SqliteJobStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, JOBS_SCHEMA)

    async def create(self, job: Job) -> None:
        await self._db.write(
            lambda c: c.execute(
                "INSERT INTO jobs (id, version, active, doc) VALUES (?,?,?,?)",
                (job.id, job.version, _active(job), _dumps(job_to_doc(job))),
            )
        )

    async def get(self, job_id: str) -> Job | None:
        row = self._db.read_point(lambda c: c.execute("SELECT doc FROM jobs WHERE id = ?", (job_id,)).fetchone())
        return job_from_doc(json.loads(row[0])) if row else None

    async def list(self, before_id: str | None, limit: int) -> list[Job]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT doc FROM jobs WHERE id < ? ORDER BY id DESC LIMIT ?", (before_id or "\U0010ffff", limit)
            ).fetchall()
        )
        return [job_from_doc(json.loads(r[0])) for r in rows]

    async def replace(self, job: Job, expected_version: int) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "UPDATE jobs SET version = ?, active = ?, doc = ? WHERE id = ? AND version = ?",
                (job.version, _active(job), _dumps(job_to_doc(job)), job.id, expected_version),
            )
            return cur.rowcount == 1

        return await self._db.write(run)

    async def active(self) -> list[Job]:
        rows = await self._db.read(lambda c: c.execute("SELECT doc FROM jobs WHERE active = 1").fetchall())
        return [job_from_doc(json.loads(r[0])) for r in rows]

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()


def _add(totals: dict[str, int], changes: dict[str, int]) -> None:
    for k, v in changes.items():
        totals[k] = totals.get(k, 0) + v


def _bump(c: sqlite3.Connection, job_id: str, changes: dict[str, int]) -> None:
    c.executemany(
        "INSERT INTO counters (job, name, n) VALUES (?,?,?) ON CONFLICT (job, name) DO UPDATE SET n = n + excluded.n",
        [(job_id, k, v) for k, v in changes.items() if v],
    )


def _hold(c: sqlite3.Connection, job_id: str, seq: int, owner: str, until: float, now: float) -> bool:
    """Takes or extends the chunk's hold (its lease) for owner: free, run out before `now`, or owner's already."""
    return (
        c.execute(
            "INSERT INTO holds (job, seq, holder, held_until) VALUES (?, ?, ?, ?) ON CONFLICT (job, seq) DO UPDATE"
            " SET holder = excluded.holder, held_until = excluded.held_until"
            " WHERE holds.holder = excluded.holder OR holds.held_until < ?",
            (job_id, seq, owner, until, now),
        ).rowcount
        > 0
    )


class SqliteChunkStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, CHUNKS_SCHEMA)

    async def add_chunk(self, chunk: Chunk) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            open_count = sum(1 for r in chunk.recipients if r.outcome in OPEN)
            cur = c.execute(
                "INSERT INTO chunks (job, seq, size, open) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                (chunk.job_id, chunk.seq, len(chunk.recipients), open_count),
            )
            if cur.rowcount == 0:
                return False
            c.executemany(
                f"INSERT INTO recipients (job, seq, idx, doc, {STATE}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        chunk.job_id,
                        chunk.seq,
                        r.index,
                        _dumps(recipient_to_doc(r)),
                        r.outcome.value,
                        r.owner,
                        r.message,
                        r.provider_id,
                        r.error_code,
                        r.reason,
                        r.update_time,
                    )
                    for r in chunk.recipients
                ],
            )
            counts = {"total": len(chunk.recipients)}
            for r in chunk.recipients:
                if r.outcome == Outcome.SUPPRESSED:
                    _add(counts, {"suppressed": 1, f"sup:{r.reason}": 1})
            _bump(c, chunk.job_id, counts)
            return True

        return await self._db.write(run)

    async def get_chunk(self, job_id: str, seq: int) -> Chunk | None:
        def run(c: sqlite3.Connection):
            return c.execute(
                f"SELECT idx, doc, {STATE} FROM recipients WHERE job = ? AND seq = ? ORDER BY idx", (job_id, seq)
            ).fetchall()

        rows = await self._db.read(run)
        if not rows:
            exists = self._db.read_point(
                lambda c: c.execute("SELECT 1 FROM chunks WHERE job = ? AND seq = ?", (job_id, seq)).fetchone()
            )
            return Chunk(job_id, seq, []) if exists else None
        return Chunk(job_id, seq, [recipient_from_doc(r["idx"], json.loads(r["doc"]), dict(r)) for r in rows])

    async def open_count(self, job_id: str, seq: int) -> int | None:
        row = self._db.read_point(
            lambda c: c.execute("SELECT open FROM chunks WHERE job = ? AND seq = ?", (job_id, seq)).fetchone()
        )
        return row[0] if row else None

    async def open_chunks(self, job_id: str, count: int) -> list[int]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT seq FROM chunks WHERE job = ? AND open > 0 AND seq < ? ORDER BY seq", (job_id, count)
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def claim(self, job_id: str, seq: int, owner: str, until: float, now: float) -> list[Recipient]:
        def run(c: sqlite3.Connection):
            if not _hold(c, job_id, seq, owner, until, now):
                return []
            c.execute(
                "UPDATE recipients SET outcome = 'CLAIMED', owner = ?"
                " WHERE job = ? AND seq = ? AND outcome IN ('PENDING', 'CLAIMED')",
                (owner, job_id, seq),
            )
            return c.execute(
                f"SELECT idx, doc, {STATE} FROM recipients"
                " WHERE job = ? AND seq = ? AND outcome = 'CLAIMED' AND owner = ? ORDER BY idx",
                (job_id, seq, owner),
            ).fetchall()

        rows = await self._db.write(run)
        return [recipient_from_doc(r["idx"], json.loads(r["doc"]), dict(r)) for r in rows]

    async def renew(self, job_id: str, seq: int, owner: str, until: float) -> bool:
        return await self._db.write(
            lambda c: (
                c.execute(
                    "UPDATE holds SET held_until = ? WHERE job = ? AND seq = ? AND holder = ?",
                    (until, job_id, seq, owner),
                ).rowcount
                > 0
            )
        )

    async def release(self, job_id: str, seq: int, owner: str, indexes: list[int]) -> int:
        def run(c: sqlite3.Connection) -> int:
            released = sum(
                c.execute(
                    "UPDATE recipients SET outcome = 'PENDING', owner = ''"
                    " WHERE job = ? AND seq = ? AND idx = ? AND outcome = 'CLAIMED' AND owner = ?",
                    (job_id, seq, i, owner),
                ).rowcount
                for i in indexes
            )
            c.execute("DELETE FROM holds WHERE job = ? AND seq = ? AND holder = ?", (job_id, seq, owner))
            return released

        return await self._db.write(run)

    async def record(self, job_id: str, seq: int, updates: list[Update], now: float) -> int:
        def run(c: sqlite3.Connection) -> int:
            totals: dict[str, int] = {}
            opened = applied = 0
            for u in updates:
                row = c.execute(
                    "SELECT outcome, message, provider_id FROM recipients WHERE job = ? AND seq = ? AND idx = ?",
                    (job_id, seq, u.index),
                ).fetchone()
                if row is None:
                    continue
                current = Outcome(row["outcome"])
                if not applies(current, u.outcome):
                    continue
                c.execute(
                    "UPDATE recipients SET outcome = ?, owner = '', message = ?, provider_id = ?,"
                    " error_code = ?, reason = ?, update_time = ? WHERE job = ? AND seq = ? AND idx = ?",
                    (
                        u.outcome.value,
                        u.message or row["message"],
                        u.provider_id or row["provider_id"],
                        u.error_code,
                        u.reason,
                        now,
                        job_id,
                        seq,
                        u.index,
                    ),
                )
                applied += 1
                opened += open_change(current, u.outcome)
                _add(totals, delta(current, u.outcome))
            if opened:
                c.execute("UPDATE chunks SET open = open + ? WHERE job = ? AND seq = ?", (opened, job_id, seq))
            _bump(c, job_id, totals)
            return applied

        return await self._db.write(run)

    async def counts(self, job_id: str) -> Counts:
        rows = self._db.read_point(
            lambda c: c.execute("SELECT name, n FROM counters WHERE job = ?", (job_id,)).fetchall()
        )
        return Counts.from_totals({r[0]: r[1] for r in rows})

    async def expansion(self, job_id: str) -> Expansion:
        row = self._db.read_point(
            lambda c: c.execute(
                "SELECT cursor, next_seq, done, owner, lease_until FROM expansions WHERE job = ?", (job_id,)
            ).fetchone()
        )
        return Expansion(row[0], row[1], bool(row[2]), row[3], row[4]) if row else Expansion()

    async def take_expansion(self, job_id: str, owner: str, until: float, now: float) -> Expansion | None:
        def run(c: sqlite3.Connection) -> Expansion | None:
            c.execute(
                "INSERT INTO expansions (job, cursor, next_seq, done, owner, lease_until) VALUES (?, '', 0, 0, '', 0)"
                " ON CONFLICT DO NOTHING",
                (job_id,),
            )
            cur = c.execute(
                "UPDATE expansions SET owner = ?, lease_until = ? WHERE job = ? AND done = 0"
                " AND (owner = '' OR owner = ? OR lease_until < ?)"
                " RETURNING cursor, next_seq, done, owner, lease_until",
                (owner, until, job_id, owner, now),
            )
            row = cur.fetchone()
            return Expansion(row[0], row[1], bool(row[2]), row[3], row[4]) if row else None

        return await self._db.write(run)

    async def save_expansion(self, job_id: str, owner: str, progress: Expansion) -> bool:
        return await self._db.write(
            lambda c: (
                c.execute(
                    "UPDATE expansions SET cursor = ?, next_seq = ?, done = ?, owner = ?, lease_until = ?"
                    " WHERE job = ? AND owner = ?",
                    (
                        progress.cursor,
                        progress.next_seq,
                        int(progress.done),
                        progress.owner,
                        progress.lease_until,
                        job_id,
                        owner,
                    ),
                ).rowcount
                == 1
            )
        )

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
