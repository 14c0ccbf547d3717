"""WindowStore on SQLite: the latest inbound message per (phone, customer), which opens the 24-hour window (the
row only ever moves later), and the count of inbound messages on a phone since a time."""

from __future__ import annotations

import sqlite3

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.sqlite_store.table import chunks, marks


class SqliteWindowStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def last_inbound(self, origination: str, customer: str) -> float | None:
        r = await self._db.read(
            lambda c: c.execute(
                "SELECT last_inbound FROM windows WHERE origination = ? AND customer = ?", (origination, customer)
            ).fetchone()
        )
        return r[0] if r else None

    async def last_inbound_many(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
        def run(conn: sqlite3.Connection) -> dict[tuple[str, str], float]:
            out: dict[tuple[str, str], float] = {}
            by_phone: dict[str, list[str]] = {}
            for origination, customer in pairs:
                by_phone.setdefault(origination, []).append(customer)
            for origination, customers in by_phone.items():
                for part in chunks(customers):
                    for r in conn.execute(
                        "SELECT customer, last_inbound FROM windows WHERE origination = ?"
                        f" AND customer IN ({marks(len(part))})",
                        (origination, *part),
                    ):
                        out[(origination, r[0])] = r[1]
            return out

        return await self._db.read(run) if pairs else {}

    async def inbound_count(self, origination: str, since: float) -> int:
        r = await self._db.read(
            lambda c: c.execute(
                "SELECT count(*) FROM inbound WHERE origination = ? AND receive_time >= ?", (origination, since)
            ).fetchone()
        )
        return int(r[0])
