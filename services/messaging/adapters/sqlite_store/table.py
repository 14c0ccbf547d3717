"""What every SQLite store of messaging shares: the database (runtime.sqlite: one file per table, WAL, writes on
one thread, safe for several processes) as the Table its stores ping and close once, and the IN-list helpers."""

from __future__ import annotations

from collections.abc import Iterable

from runtime.sqlite import SqliteDatabase

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
