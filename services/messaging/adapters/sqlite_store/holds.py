"""HoldStore on SQLite: a row per hold (kind, subject, time), read back by time; rows older than a day go."""

from __future__ import annotations

import sqlite3

from runtime.sqlite import SqliteDatabase
from services.messaging.domain.holds import HORIZON, Hold, HoldKind


class SqliteHoldStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def note_holds(self, holds: list[Hold]) -> None:
        if not holds:
            return

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR IGNORE INTO holds (kind, subject, time, source) VALUES (?,?,?,?)",
                [(h.kind.value, h.subject, h.time, h.source) for h in holds],
            )
            conn.execute("DELETE FROM holds WHERE time < ?", (max(h.time for h in holds) - HORIZON,))

        await self._db.write(run)

    async def holds_since(self, after: float, now: float) -> list[Hold]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT kind, subject, time, source FROM holds WHERE time > ? ORDER BY time",
                (max(after, now - HORIZON),),
            ).fetchall()
        )
        return [Hold(HoldKind(r[0]), r[1], r[2], r[3]) for r in rows]
