"""SuppressionStore on SQLite: recipients not to be sent a kind of message until a time (131050: marketing),
a longer suppression never shortened by a later one."""

from __future__ import annotations

import sqlite3

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.sqlite_store.table import chunks, marks


class SqliteSuppressionStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def suppress(self, recipient: str, kind: str, until: float, reason: str) -> None:
        await self._db.write(
            lambda c: c.execute(
                "INSERT INTO suppressions (recipient, kind, until, reason) VALUES (?,?,?,?)"
                " ON CONFLICT (recipient, kind) DO UPDATE SET until = max(until, excluded.until),"
                " reason = excluded.reason",
                (recipient, kind, until, reason),
            )
        )

    async def suppressed(self, recipient: str, kind: str, now: float) -> str | None:
        r = await self._db.read(
            lambda c: c.execute(
                "SELECT reason FROM suppressions WHERE recipient = ? AND kind IN (?, 'all') AND until > ?",
                (recipient, kind, now),
            ).fetchone()
        )
        return r[0] if r else None

    async def suppressed_many(self, recipients: list[str], kind: str, now: float) -> dict[str, str]:
        def run(conn: sqlite3.Connection) -> dict[str, str]:
            out: dict[str, str] = {}
            for part in chunks(list(recipients)):
                for r in conn.execute(
                    f"SELECT recipient, reason FROM suppressions WHERE recipient IN ({marks(len(part))})"
                    " AND kind IN (?, 'all') AND until > ?",
                    (*part, kind, now),
                ):
                    out[r[0]] = r[1]
            return out

        return await self._db.read(run) if recipients else {}
