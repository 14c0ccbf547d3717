"""VoiceCallStore on SQLite: call events once per (call id, event), newest first, for one customer or all."""

from __future__ import annotations

import json
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps, voice_call_from_dict, voice_call_to_dict
from services.messaging.adapters.sqlite_store.table import TOP
from services.messaging.domain.model import VoiceCall


class SqliteVoiceCallStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def add_voice_call(self, call: VoiceCall) -> bool:
        return (
            await self._db.write(
                lambda c: (
                    c.execute(
                        "INSERT OR IGNORE INTO voice_calls (id, call_id, event, customer, time, doc)"
                        " VALUES (?,?,?,?,?,?)",
                        (call.id, call.call_id, call.event, call.customer, call.time, dumps(voice_call_to_dict(call))),
                    ).rowcount
                )
            )
            == 1
        )

    async def list_voice_calls(self, customer: str, before: tuple[float, str] | None, limit: int) -> list[VoiceCall]:
        t, i = before if before else (float("inf"), TOP)
        sql = "SELECT doc FROM voice_calls WHERE (time < ? OR (time = ? AND id < ?))"
        params: list[Any] = [t, t, i]
        if customer:
            sql += " AND customer = ?"
            params.append(customer)
        sql += " ORDER BY time DESC, id DESC LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, (*params, limit)).fetchall())
        return [voice_call_from_dict(json.loads(r[0])) for r in rows]
