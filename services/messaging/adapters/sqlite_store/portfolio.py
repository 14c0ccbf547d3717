"""PortfolioStore on SQLite: the tier ledger as one row changed by compare-and-swap on its version (domain.tier
says what is in it), and a row per counted customer (the bucket they count in, until when)."""

from __future__ import annotations

import sqlite3
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.sqlite_store.table import chunks, load_document, marks, save_document


class SqlitePortfolioStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def load_ledger(self) -> tuple[dict[str, Any], int]:
        return await load_document(self._db, "tier_ledger")

    async def save_ledger(self, doc: dict[str, Any], expected_version: int) -> bool:
        return await save_document(self._db, "tier_ledger", doc, expected_version)

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
