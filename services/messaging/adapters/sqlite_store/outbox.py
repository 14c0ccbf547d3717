"""DeadLetterOutbox on SQLite: failed messages carry a flag (a partial index) until outbound-dlq has taken them,
so a letter is never lost between the failure and the queue."""

from __future__ import annotations

import sqlite3

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.sqlite_store.outbound_table import SELECT, message_of
from services.messaging.adapters.sqlite_store.table import chunks, marks
from services.messaging.domain.model import OutboundMessage


class SqliteDeadLetterOutbox:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def dead_letters_pending(self, limit: int) -> list[OutboundMessage]:
        rows = await self._db.read(
            lambda c: c.execute(f"{SELECT} WHERE dead_letter = 1 ORDER BY seq LIMIT ?", (limit,)).fetchall()
        )
        return [message_of(r) for r in rows]

    async def dead_letters_sent(self, message_ids: list[str]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            for part in chunks(message_ids):
                conn.execute(f"UPDATE outbound SET dead_letter = 0 WHERE id IN ({marks(len(part))})", part)

        if message_ids:
            await self._db.write(run)
