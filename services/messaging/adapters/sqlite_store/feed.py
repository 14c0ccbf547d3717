"""EventFeedStore on SQLite: SNS MessageIds applied, and the inbox's change feed. The writes of one SQLite file
are serialised, so the feed keeps one global order: seq (AUTOINCREMENT: never reused after a trim) grows in
commit order, a reader that read up to n never misses a change committed later, and a change key is appended
once (the feed is exactly-once here, which the at-least-once contract allows)."""

from __future__ import annotations

import json
import sqlite3

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps
from services.messaging.adapters.sqlite_store.table import chunks, marks
from services.messaging.domain.inbound import Change

CHANGES_KEPT_SECONDS = 86_400.0
CHANGES_TRIM_EVERY = 1000


class SqliteEventFeedStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def seen_events(self, sns_message_ids: list[str]) -> set[str]:
        def run(conn: sqlite3.Connection) -> set[str]:
            seen: set[str] = set()
            for part in chunks(list(dict.fromkeys(sns_message_ids))):
                rows = conn.execute(f"SELECT message_id FROM sns_events WHERE message_id IN ({marks(len(part))})", part)
                seen.update(r[0] for r in rows)
            return seen

        return await self._db.read(run) if sns_message_ids else set()

    async def commit_events(self, events: list[tuple[str, list[Change]]], now: float) -> None:
        def run(conn: sqlite3.Connection) -> None:
            trim = False
            for sns_message_id, changes in events:
                for change in changes:
                    r = conn.execute(
                        "INSERT OR IGNORE INTO changes (key, kind, conversation, time, written, doc)"
                        " VALUES (?,?,?,?,?,?) RETURNING seq",
                        (change.key, change.kind, change.conversation_id, change.time, now, dumps(change.record)),
                    ).fetchone()
                    trim |= r is not None and r[0] % CHANGES_TRIM_EVERY == 0
                conn.execute("INSERT OR IGNORE INTO sns_events (message_id, time) VALUES (?, ?)", (sns_message_id, now))
            if trim:
                conn.execute("DELETE FROM changes WHERE written < ?", (now - CHANGES_KEPT_SECONDS,))

        if events:
            await self._db.write(run)

    def reader(self) -> SqliteFeedReader:
        return SqliteFeedReader(self._db)


class SqliteFeedReader:
    """The feed read by seq, from where start() found its end."""

    def __init__(self, db: SqliteDatabase):
        self._db = db
        self._seq = 0

    async def start(self) -> None:
        r = await self._db.read(lambda c: c.execute("SELECT max(seq) FROM changes").fetchone())
        self._seq = int(r[0] or 0)

    async def read(self, limit: int) -> list[Change]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT seq, key, kind, conversation, time, doc FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                (self._seq, limit),
            ).fetchall()
        )
        if rows:
            self._seq = rows[-1][0]
        return [Change(r[1], r[2], r[3], r[4], json.loads(r[5]), seq=r[0]) for r in rows]
