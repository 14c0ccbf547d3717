"""InboundMessageStore on SQLite: a customer's message stored once per wamid, opening its 24-hour window and
touching its conversation in the same transaction; read, updated (the media copy) and deleted."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps, inbound_from_dict, inbound_to_dict
from services.messaging.adapters.sqlite_store.inbound_table import touch
from services.messaging.adapters.sqlite_store.table import TOP
from services.messaging.domain.model import Channel, InboundMessage, touched_by_inbound


class SqliteInboundMessageStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def add_message(self, message: InboundMessage) -> tuple[InboundMessage, bool]:
        def run(conn: sqlite3.Connection) -> tuple[InboundMessage, bool]:
            r = conn.execute("SELECT doc FROM inbound WHERE wamid = ?", (message.provider_message_id,)).fetchone()
            if r is not None:
                return inbound_from_dict(json.loads(r[0])), False
            conn.execute(
                "INSERT INTO inbound (id, wamid, channel, origination, customer, receive_time, create_time, doc)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    message.id,
                    message.provider_message_id,
                    message.channel.value,
                    message.origination,
                    message.customer,
                    message.receive_time,
                    message.create_time,
                    dumps(inbound_to_dict(message)),
                ),
            )
            conn.execute(
                "INSERT INTO windows (origination, customer, last_inbound) VALUES (?,?,?)"
                " ON CONFLICT (origination, customer)"
                " DO UPDATE SET last_inbound = max(last_inbound, excluded.last_inbound)",
                (message.origination, message.customer, message.receive_time),
            )
            touch(conn, touched_by_inbound(message))
            return message, True

        return await self._db.write(run)

    async def get(self, message_id: str) -> InboundMessage | None:
        r = await self._db.read(lambda c: c.execute("SELECT doc FROM inbound WHERE id = ?", (message_id,)).fetchone())
        return inbound_from_dict(json.loads(r[0])) if r else None

    async def get_by_provider_id(self, provider_message_id: str) -> InboundMessage | None:
        r = await self._db.read(
            lambda c: c.execute("SELECT doc FROM inbound WHERE wamid = ?", (provider_message_id,)).fetchone()
        )
        return inbound_from_dict(json.loads(r[0])) if r else None

    async def update_message(self, message: InboundMessage) -> None:
        await self._db.write(
            lambda c: c.execute(
                "UPDATE inbound SET doc = ? WHERE id = ?", (dumps(inbound_to_dict(message)), message.id)
            )
        )

    async def delete(self, message_id: str) -> InboundMessage | None:
        def run(conn: sqlite3.Connection) -> InboundMessage | None:
            r = conn.execute("SELECT doc FROM inbound WHERE id = ?", (message_id,)).fetchone()
            if r is None:
                return None
            conn.execute("DELETE FROM inbound WHERE id = ?", (message_id,))
            return inbound_from_dict(json.loads(r[0]))

        return await self._db.write(run)

    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[InboundMessage]:
        t, i = before if before else (float("inf"), TOP)
        sql = "SELECT doc FROM inbound WHERE customer = ? AND (receive_time < ? OR (receive_time = ? AND id < ?))"
        params: list[Any] = [customer, t, t, i]
        if channel:
            sql += " AND channel = ?"
            params.append(channel.value)
        sql += " ORDER BY receive_time DESC, id DESC LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, (*params, limit)).fetchall())
        return [inbound_from_dict(json.loads(r[0])) for r in rows]
