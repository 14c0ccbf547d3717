"""PairLogStore on SQLite: a sender's pair-limit memory, one row a sender, replaced whole when it is handed over."""

from __future__ import annotations

import json

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps


class SqlitePairLogStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def save_pairs(self, sender: str, pairs: dict[str, float]) -> None:
        await self._db.write(
            lambda c: c.execute("INSERT OR REPLACE INTO pair_log (sender, doc) VALUES (?, ?)", (sender, dumps(pairs)))
        )

    async def load_pairs(self, sender: str) -> dict[str, float]:
        r = await self._db.read(lambda c: c.execute("SELECT doc FROM pair_log WHERE sender = ?", (sender,)).fetchone())
        return {k: float(v) for k, v in json.loads(r[0]).items()} if r else {}
