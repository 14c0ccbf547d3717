"""MarketingCapStore on SQLite: a row per (customer, marketing message counted), taken in one transaction (the
write lock makes it atomic across the processes sharing the file)."""

from __future__ import annotations

import sqlite3

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.sqlite_store.table import chunks, marks


class SqliteMarketingCapStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def take(self, recipient: str, message_id: str, now: float, since: float, limit: int) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            if conn.execute(
                "SELECT 1 FROM marketing_sent WHERE recipient = ? AND message_id = ?", (recipient, message_id)
            ).fetchone():
                return True
            held = conn.execute(
                "SELECT count(*) FROM marketing_sent WHERE recipient = ? AND time > ?", (recipient, since)
            ).fetchone()[0]
            if held >= limit:
                return False
            conn.execute("DELETE FROM marketing_sent WHERE recipient = ? AND time <= ?", (recipient, since))
            conn.execute(
                "INSERT INTO marketing_sent (recipient, message_id, time) VALUES (?, ?, ?)",
                (recipient, message_id, now),
            )
            return True

        return await self._db.write(run)

    async def counts(self, recipients: list[str], since: float) -> dict[str, int]:
        def run(conn: sqlite3.Connection) -> dict[str, int]:
            out: dict[str, int] = {}
            for part in chunks(sorted(set(recipients))):
                rows = conn.execute(
                    f"SELECT recipient, count(*) FROM marketing_sent WHERE recipient IN ({marks(len(part))})"
                    " AND time > ? GROUP BY recipient",
                    (*part, since),
                )
                out.update({r[0]: r[1] for r in rows})
            return out

        return await self._db.read(run) if recipients else {}
