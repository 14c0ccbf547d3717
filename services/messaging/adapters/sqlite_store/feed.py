"""EventFeedStore on SQLite: SNS MessageIds applied, and the inbox's change feed. The writes of one SQLite file
are serialised, so seq (AUTOINCREMENT: never reused after a trim) grows in commit order: a poller that read up
to n never misses a change committed later."""

from __future__ import annotations

import json
import sqlite3

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps
from services.messaging.domain.inbound import Change

CHANGES_KEPT_SECONDS = 86_400.0
CHANGES_TRIM_EVERY = 1000


class SqliteEventFeedStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def event_seen(self, sns_message_id: str) -> bool:
        r = await self._db.read(
            lambda c: c.execute("SELECT 1 FROM sns_events WHERE message_id = ?", (sns_message_id,)).fetchone()
        )
        return r is not None

    async def mark_event(self, sns_message_id: str, now: float) -> bool:
        return (
            await self._db.write(
                lambda c: (
                    c.execute(
                        "INSERT OR IGNORE INTO sns_events (message_id, time) VALUES (?, ?)", (sns_message_id, now)
                    ).rowcount
                )
            )
            == 1
        )

    async def commit_event(self, sns_message_id: str, changes: list[Change], now: float) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            fresh = conn.execute(
                "INSERT OR IGNORE INTO sns_events (message_id, time) VALUES (?, ?)", (sns_message_id, now)
            ).rowcount
            if not fresh:
                return False
            for change in changes:
                r = conn.execute(
                    "INSERT OR IGNORE INTO changes (key, kind, conversation, time, written, doc) VALUES (?,?,?,?,?,?)"
                    " RETURNING seq",
                    (change.key, change.kind, change.conversation_id, change.time, now, dumps(change.record)),
                ).fetchone()
                if r is not None and r[0] % CHANGES_TRIM_EVERY == 0:
                    conn.execute("DELETE FROM changes WHERE written < ?", (now - CHANGES_KEPT_SECONDS,))
            return True

        return await self._db.write(run)

    async def changes_after(self, seq: int, limit: int) -> list[Change]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT seq, key, kind, conversation, time, doc FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        )
        return [Change(r[1], r[2], r[3], r[4], json.loads(r[5]), seq=r[0]) for r in rows]

    async def last_change_seq(self) -> int:
        r = await self._db.read(lambda c: c.execute("SELECT max(seq) FROM changes").fetchone())
        return int(r[0] or 0)
