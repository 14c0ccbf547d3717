"""PortfolioStore on SQLite: the tier ledger as one row changed by compare-and-swap on its version (domain.tier
says what is in it), and a row per counted customer (the bucket they count in, until when)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps
from services.messaging.adapters.sqlite_store.table import chunks, marks


class SqlitePortfolioStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def load_ledger(self) -> tuple[dict[str, Any], int]:
        r = await self._db.read(lambda c: c.execute("SELECT version, doc FROM tier_ledger WHERE id = 1").fetchone())
        return (json.loads(r["doc"]), r["version"]) if r else ({}, 0)

    async def save_ledger(self, doc: dict[str, Any], expected_version: int) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            if expected_version == 0:
                sql, params = "INSERT OR IGNORE INTO tier_ledger (id, version, doc) VALUES (1, 1, ?)", (dumps(doc),)
            else:
                sql = "UPDATE tier_ledger SET version = version + 1, doc = ? WHERE id = 1 AND version = ?"
                params = (dumps(doc), expected_version)
            return conn.execute(sql, params).rowcount == 1

        return await self._db.write(run)

    async def counted(self, recipients: list[str], now: float) -> dict[str, int]:
        def run(conn: sqlite3.Connection) -> dict[str, int]:
            out: dict[str, int] = {}
            for part in chunks(sorted(set(recipients))):
                rows = conn.execute(
                    f"SELECT recipient, bucket FROM tier_counted WHERE recipient IN ({marks(len(part))}) AND until > ?",
                    (*part, now),
                )
                out.update({r[0]: r[1] for r in rows})
            return out

        return await self._db.read(run) if recipients else {}

    async def count(self, recipients: list[str], bucket: int, until: float, now: float) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO tier_counted (recipient, bucket, until) VALUES (?, ?, ?) ON CONFLICT (recipient)"
                " DO UPDATE SET bucket = excluded.bucket, until = excluded.until WHERE excluded.until > until",
                [(r, bucket, until) for r in recipients],
            )
            # Customers out of the window are forgotten a few at a time (a write here is the cheap moment).
            conn.execute(
                "DELETE FROM tier_counted WHERE recipient IN"
                " (SELECT recipient FROM tier_counted WHERE until <= ? LIMIT 200)",
                (now,),
            )

        if recipients:
            await self._db.write(run)
