"""LinkTable on the embedded SQLite engine.

`links` holds each link once (unique id, code and request_id); `clicks` one row per person and link, keyed so,
with indexes for the clicks of a message and of a job; `link_stats` the counts of each link, changed in
the same transaction as the click row, so counts and clicks always agree."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from runtime.errors import AlreadyExists
from runtime.sqlite import SqliteDatabase
from services.commerce.adapters.link_codec import from_document, to_document
from services.commerce.adapters.link_store import click_key
from services.commerce.domain.links import Click, Link, LinkStats

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  code TEXT NOT NULL UNIQUE,
  request_id TEXT UNIQUE,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS link_stats (
  link_id TEXT PRIMARY KEY,
  clicks INTEGER NOT NULL DEFAULT 0,
  unique_clickers INTEGER NOT NULL DEFAULT 0,
  previews INTEGER NOT NULL DEFAULT 0,
  first_time REAL,
  last_time REAL
);
CREATE TABLE IF NOT EXISTS clicks (
  key TEXT PRIMARY KEY,
  link_id TEXT NOT NULL,
  person TEXT NOT NULL,
  contact TEXT NOT NULL,
  recipient TEXT NOT NULL,
  message TEXT NOT NULL,
  job TEXT NOT NULL,
  first_time REAL NOT NULL,
  last_time REAL NOT NULL,
  opens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS clicks_by_message ON clicks(message, key);
CREATE INDEX IF NOT EXISTS clicks_by_job ON clicks(job, key);
"""
CLICK_COLUMNS = "link_id, person, contact, recipient, message, job, first_time, last_time, opens"


def _links(rows) -> list[Link]:
    return [from_document(json.loads(r[0])) for r in rows]


def _clicks(rows) -> list[Click]:
    return [Click(*row) for row in rows]


class SqliteLinkStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, SCHEMA)

    async def create(self, links: list[Link]) -> list[Link]:
        def run(conn: sqlite3.Connection) -> list[Link]:
            out = []
            for link in links:
                if link.request_id:
                    found = conn.execute("SELECT doc FROM links WHERE request_id = ?", (link.request_id,)).fetchall()
                    if found:
                        out.append(_links(found)[0])
                        continue
                conn.execute(
                    "INSERT INTO links (id, code, request_id, doc) VALUES (?,?,?,?)",
                    (link.id, link.code, link.request_id or None, json.dumps(to_document(link), separators=(",", ":"))),
                )
                out.append(link)
            return out

        try:
            return await self._db.write(run)
        except sqlite3.IntegrityError as exc:  # 128 random bits: a taken code or id is next to impossible
            raise AlreadyExists(f"a link already has this code or id ({exc})", reason="CODE_TAKEN") from None

    async def get(self, link_id: str) -> Link | None:
        rows = self._db.read_point(lambda c: c.execute("SELECT doc FROM links WHERE id = ?", (link_id,)).fetchall())
        return _links(rows)[0] if rows else None

    async def by_code(self, code: str) -> Link | None:
        rows = self._db.read_point(lambda c: c.execute("SELECT doc FROM links WHERE code = ?", (code,)).fetchall())
        return _links(rows)[0] if rows else None

    async def list(self, after_id: str | None, limit: int) -> list[Link]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT doc FROM links WHERE id > ? ORDER BY id LIMIT ?", (after_id or "", limit)
            ).fetchall()
        )
        return _links(rows)

    async def delete(self, link_id: str) -> Link | None:
        def run(conn: sqlite3.Connection) -> Link | None:
            found = conn.execute("SELECT doc FROM links WHERE id = ?", (link_id,)).fetchall()
            if not found:
                return None
            conn.execute("DELETE FROM links WHERE id = ?", (link_id,))
            conn.execute("DELETE FROM link_stats WHERE link_id = ?", (link_id,))
            return _links(found)[0]

        return await self._db.write(run)

    async def stats(self, link_id: str) -> LinkStats:
        row = self._db.read_point(
            lambda c: c.execute(
                "SELECT clicks, unique_clickers, previews, first_time, last_time FROM link_stats WHERE link_id = ?",
                (link_id,),
            ).fetchone()
        )
        return LinkStats(*row) if row else LinkStats()

    async def record_click(self, link: Link, person: str, at: float) -> bool:
        key = click_key(link.id, person)

        def run(conn: sqlite3.Connection) -> bool:
            repeat = conn.execute(
                "UPDATE clicks SET opens = opens + 1, last_time = max(last_time, ?) WHERE key = ?", (at, key)
            ).rowcount
            if not repeat:
                conn.execute(
                    f"INSERT INTO clicks (key, {CLICK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (key, link.id, person, link.contact, link.recipient, link.message, link.job, at, at, 1),
                )
            conn.execute(
                "INSERT INTO link_stats (link_id, clicks, unique_clickers, first_time, last_time)"
                " VALUES (?, 1, ?, ?, ?) ON CONFLICT (link_id) DO UPDATE SET clicks = clicks + 1,"
                " unique_clickers = unique_clickers + excluded.unique_clickers,"
                " first_time = min(coalesce(first_time, excluded.first_time), excluded.first_time),"
                " last_time = max(coalesce(last_time, excluded.last_time), excluded.last_time)",
                (link.id, 0 if repeat else 1, at, at),
            )
            return not repeat

        return await self._db.write(run)

    async def record_preview(self, link: Link, at: float) -> None:
        await self._db.write(
            lambda conn: conn.execute(
                "INSERT INTO link_stats (link_id, previews) VALUES (?, 1)"
                " ON CONFLICT (link_id) DO UPDATE SET previews = previews + 1",
                (link.id,),
            )
        )

    async def clicks_of_message(self, message_id: str, after: str | None, limit: int) -> list[Click]:
        return await self._clicks_by("message", message_id, after, limit)

    async def clicks_of_job(self, job_id: str, after: str | None, limit: int) -> list[Click]:
        return await self._clicks_by("job", job_id, after, limit)

    async def _clicks_by(self, column: str, value: str, after: str | None, limit: int) -> list[Click]:
        if not value:
            return []
        rows = await self._db.read(
            lambda c: c.execute(
                f"SELECT {CLICK_COLUMNS} FROM clicks WHERE {column} = ? AND key > ? ORDER BY key LIMIT ?",
                (value, after or "", limit),
            ).fetchall()
        )
        return _clicks(rows)

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
