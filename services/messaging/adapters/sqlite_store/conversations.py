"""ConversationStore on SQLite: a row per conversation, latest first by (update time, id), touched by outbound
sends here and by inbound messages in their own transaction (inbound_table.touch)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import conversation_from_dict, conversation_to_dict, dumps, merge_conversation
from services.messaging.adapters.sqlite_store.table import TOP, chunks, marks
from services.messaging.domain.model import Channel, Conversation


class SqliteConversationStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def note_outbound(self, conversations: list[Conversation]) -> None:
        if conversations:
            await self._db.write(lambda conn: touch_many(conn, conversations))

    async def list_conversations(
        self, channel: Channel | None, before: tuple[float, str] | None, limit: int
    ) -> list[Conversation]:
        t, i = before if before else (float("inf"), TOP)
        sql = "SELECT doc FROM conversations WHERE (update_time < ? OR (update_time = ? AND id < ?))"
        params: list[Any] = [t, t, i]
        if channel:
            sql += " AND channel = ?"
            params.append(channel.value)
        sql += " ORDER BY update_time DESC, id DESC LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, (*params, limit)).fetchall())
        return [conversation_from_dict(json.loads(r[0])) for r in rows]

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        r = await self._db.read(
            lambda c: c.execute("SELECT doc FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        )
        return conversation_from_dict(json.loads(r[0])) if r else None


def touch_many(conn: sqlite3.Connection, conversations: list[Conversation]) -> None:
    """A group of conversations touched as inbound_table.touch touches one, merged in the same order, with one read
    and one write statement for the group (a chunk of sends) instead of two a send."""
    merged: dict[str, Conversation] = {}
    ids = list(dict.fromkeys(c.id for c in conversations))
    for part in chunks(ids):
        rows = conn.execute(f"SELECT id, doc FROM conversations WHERE id IN ({marks(len(part))})", part)
        merged.update((r[0], conversation_from_dict(json.loads(r[1]))) for r in rows)
    for c in conversations:
        merged[c.id] = merge_conversation(merged.get(c.id), c)
    conn.executemany(
        "INSERT OR REPLACE INTO conversations (id, channel, update_time, doc) VALUES (?,?,?,?)",
        [(m.id, m.channel.value, m.update_time, dumps(conversation_to_dict(m))) for m in (merged[i] for i in ids)],
    )
