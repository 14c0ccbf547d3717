"""ConversationStore on SQLite: a row per conversation, latest first by (update time, id), touched by outbound
sends here and by inbound messages in their own transaction (inbound_table.touch)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import conversation_from_dict
from services.messaging.adapters.sqlite_store.inbound_table import touch
from services.messaging.adapters.sqlite_store.table import TOP
from services.messaging.domain.model import Channel, Conversation


class SqliteConversationStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def note_outbound(self, conversations: list[Conversation]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            for c in conversations:
                touch(conn, c)

        if conversations:
            await self._db.write(run)

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
