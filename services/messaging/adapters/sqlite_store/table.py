"""What every SQLite store of messaging shares: the database (runtime.sqlite: one file per table, WAL, writes on
one thread, safe for several processes) as the Table its stores ping and close once, and the IN-list helpers."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps

TOP = "\U0010ffff"  # sorts after every key: the open end of a range
CHUNK = 500  # ids per IN (...) list


class SqliteTable:
    def __init__(self, db: SqliteDatabase):
        self.db = db

    async def ping(self) -> None:
        await self.db.ping()

    async def close(self) -> None:
        self.db.close()


def chunks(items: list[str], size: int = CHUNK) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def marks(n: int) -> str:
    return ",".join("?" * n)


async def load_document(db: SqliteDatabase, table: str) -> tuple[dict[str, Any], int]:
    """A document kept as the one row (id 1, version, doc) of `table`; ({}, 0) where none is."""
    r = await db.read(lambda c: c.execute(f"SELECT version, doc FROM {table} WHERE id = 1").fetchone())
    return (json.loads(r["doc"]), r["version"]) if r else ({}, 0)


async def save_document(db: SqliteDatabase, table: str, doc: dict[str, Any], expected_version: int) -> bool:
    """Compare-and-swap on the document's version; False when another writer moved it first."""

    def run(conn: sqlite3.Connection) -> bool:
        if expected_version == 0:
            sql, params = f"INSERT OR IGNORE INTO {table} (id, version, doc) VALUES (1, 1, ?)", (dumps(doc),)
        else:
            sql = f"UPDATE {table} SET version = version + 1, doc = ? WHERE id = 1 AND version = ?"
            params = (dumps(doc), expected_version)
        return conn.execute(sql, params).rowcount == 1

    return await db.write(run)
