"""AuditTable on the embedded SQLite engine: indexed for each filter (actor, resource, time). Append-only: an
entry is inserted, never replaced; the same entry appended again (a retry) is already there, a different one
under a taken id is refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from runtime.audit.model import AuditEntry, AuditQuery, Rewritten
from runtime.sqlite import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
  id TEXT PRIMARY KEY,
  time REAL NOT NULL,
  actor TEXT NOT NULL,
  actor_roles TEXT NOT NULL,
  method TEXT NOT NULL,
  resource TEXT NOT NULL,
  outcome TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  before TEXT,
  after TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit(actor, id);
CREATE INDEX IF NOT EXISTS audit_by_resource ON audit(resource, id);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit(time);
"""


class SqliteAuditStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, SCHEMA)

    async def append(self, entry: AuditEntry) -> None:
        row = (
            entry.id,
            entry.time,
            entry.actor,
            json.dumps(list(entry.actor_roles)),
            entry.method,
            entry.resource,
            entry.outcome,
            entry.trace_id,
            None if entry.before is None else json.dumps(entry.before),
            None if entry.after is None else json.dumps(entry.after),
        )

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?)", row)
            except sqlite3.IntegrityError:
                kept = conn.execute("SELECT * FROM audit WHERE id = ?", (entry.id,)).fetchone()
                if kept is None or tuple(kept) != row:
                    raise Rewritten(entry.id) from None

        await self._db.write(insert)

    async def list(self, query: AuditQuery, before_id: str | None, limit: int) -> list[AuditEntry]:
        where, args = [], []
        for column, value in (("actor", query.actor), ("resource", query.resource)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if query.start_time is not None:
            where.append("time >= ?")
            args.append(query.start_time)
        if query.end_time is not None:
            where.append("time < ?")
            args.append(query.end_time)
        if before_id:
            where.append("id < ?")
            args.append(before_id)
        sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        rows = await self._db.read(lambda conn: conn.execute(sql, args).fetchall())
        return [
            AuditEntry(
                id=r["id"],
                time=r["time"],
                actor=r["actor"],
                actor_roles=tuple(json.loads(r["actor_roles"])),
                method=r["method"],
                resource=r["resource"],
                outcome=r["outcome"],
                trace_id=r["trace_id"],
                before=None if r["before"] is None else json.loads(r["before"]),
                after=None if r["after"] is None else json.loads(r["after"]),
            )
            for r in rows
        ]

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
