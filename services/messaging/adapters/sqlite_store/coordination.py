"""CoordinationStore on SQLite: the dispatchers' coordination document, one row changed by compare-and-swap on its
version (domain.coordination says what is in it), and the senders' marks, a row each, apart from it."""

from __future__ import annotations

from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.sqlite_store.table import load_document, save_document


class SqliteCoordinationStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def load_coordination(self) -> tuple[dict[str, Any], int]:
        return await load_document(self._db, "coordination")

    async def save_coordination(self, doc: dict[str, Any], expected_version: int) -> bool:
        return await save_document(self._db, "coordination", doc, expected_version)

    async def mark_sender(self, key: str, field: str, at: float) -> None:
        column = {"paused_until": "paused_until", "slow_seen": "slow_seen"}[field]
        await self._db.write(
            lambda c: c.execute(
                f"INSERT INTO sender_marks (key, {column}) VALUES (?, ?)"
                f" ON CONFLICT (key) DO UPDATE SET {column} = max({column}, excluded.{column})",
                (key, at),
            )
        )

    async def sender_marks(self) -> dict[str, dict[str, float]]:
        rows = await self._db.read(
            lambda c: c.execute("SELECT key, paused_until, slow_seen FROM sender_marks").fetchall()
        )
        return {r[0]: {"paused_until": r[1], "slow_seen": r[2]} for r in rows}
