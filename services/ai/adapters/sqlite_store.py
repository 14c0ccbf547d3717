"""DocsTable on the embedded SQLite engine: documents (passages as JSON beside the content), a revision counter
bumped in the same transaction as every document write, passage vectors by encoder key and passage id, and
sessions keyed by owner."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

from runtime.errors import Aborted, AlreadyExists, NotFound
from runtime.sqlite import SqliteDatabase
from services.ai.adapters.codec import (
    document_fields,
    document_from,
    passages_from_list,
    passages_to_list,
    session_from,
    session_to,
)
from services.ai.domain.documents import Document
from services.ai.domain.sessions import Session

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  fields TEXT NOT NULL,
  content TEXT NOT NULL,
  passages TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revision (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO revision (one, value) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS passage_vectors (
  key TEXT NOT NULL,
  passage_id TEXT NOT NULL,
  vectors BLOB NOT NULL,
  PRIMARY KEY (key, passage_id)
);
CREATE TABLE IF NOT EXISTS sessions (
  owner TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  expire_time REAL NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (owner, id)
);
"""


ID_BATCH = 500  # ids per IN (...) query: well under SQLite's limit on bound parameters


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _document(row: sqlite3.Row, with_content: bool = True) -> Document:
    fields = json.loads(row["fields"])
    if not with_content:
        return document_from(fields)
    return document_from(fields, row["content"], passages_from_list(json.loads(row["passages"])))


def _bump(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE revision SET value = value + 1 WHERE one = 1")


class SqliteDocsStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, SCHEMA)

    async def create_document(self, document: Document) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO documents (id, version, fields, content, passages) VALUES (?,?,?,?,?)",
                (
                    document.id,
                    document.version,
                    _json(document_fields(document)),
                    document.content,
                    _json(passages_to_list(document.passages)),
                ),
            )
            _bump(conn)

        try:
            await self._db.write(run)
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"{document.name} already exists", reason="DOCUMENT_EXISTS") from None

    async def get_document(self, document_id: str) -> Document | None:
        rows = await self._db.read(
            lambda c: c.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchall()
        )
        return _document(rows[0]) if rows else None

    async def list_documents(self, after_id: str | None, limit: int, with_content: bool = True) -> list[Document]:
        columns = "*" if with_content else "id, fields"
        rows = await self._db.read(
            lambda c: c.execute(
                f"SELECT {columns} FROM documents WHERE id > ? ORDER BY id LIMIT ?", (after_id or "", limit)
            ).fetchall()
        )
        return [_document(r, with_content) for r in rows]

    async def replace_document(self, document: Document, expected_version: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            found = conn.execute("SELECT version FROM documents WHERE id = ?", (document.id,)).fetchone()
            if found is None:
                raise NotFound(f"{document.name} does not exist")
            if found["version"] != expected_version:
                raise Aborted(f"{document.name} changed meanwhile; read it again", reason="ETAG_MISMATCH")
            conn.execute(
                "UPDATE documents SET version = ?, fields = ?, content = ?, passages = ? WHERE id = ?",
                (
                    document.version,
                    _json(document_fields(document)),
                    document.content,
                    _json(passages_to_list(document.passages)),
                    document.id,
                ),
            )
            _bump(conn)

        await self._db.write(run)

    async def delete_document(self, document_id: str, expected_version: int | None = None) -> Document | None:
        def run(conn: sqlite3.Connection) -> Document | None:
            found = conn.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
            if found is None:
                return None
            if expected_version is not None and found["version"] != expected_version:
                raise Aborted(f"documents/{document_id} changed meanwhile; read it again", reason="ETAG_MISMATCH")
            conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
            _bump(conn)
            return _document(found)

        return await self._db.write(run)

    async def revision(self) -> int:
        row = await self._db.read(lambda c: c.execute("SELECT value FROM revision WHERE one = 1").fetchone())
        return int(row["value"])

    async def all_documents(self) -> list[Document]:
        rows = await self._db.read(lambda c: c.execute("SELECT * FROM documents ORDER BY id").fetchall())
        return [_document(r) for r in rows]

    async def passage_vectors(self, key: str, passage_ids: Sequence[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(passage_ids))

        def run(conn: sqlite3.Connection) -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            for start in range(0, len(wanted), ID_BATCH):
                part = wanted[start : start + ID_BATCH]
                rows = conn.execute(
                    f"SELECT passage_id, vectors FROM passage_vectors WHERE key = ? AND passage_id IN "
                    f"({','.join('?' * len(part))})",
                    (key, *part),
                )
                found.update((r["passage_id"], bytes(r["vectors"])) for r in rows)
            return found

        return await self._db.read(run)

    async def put_passage_vectors(self, key: str, vectors: Mapping[str, bytes]) -> None:
        rows = [(key, pid, blob) for pid, blob in vectors.items()]
        await self._db.write(
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO passage_vectors (key, passage_id, vectors) VALUES (?,?,?)", rows
            )
        )

    async def passage_vector_ids(self, key: str) -> list[str]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT passage_id FROM passage_vectors WHERE key = ? ORDER BY passage_id", (key,)
            ).fetchall()
        )
        return [r["passage_id"] for r in rows]

    async def delete_passage_vectors(self, key: str, passage_ids: Sequence[str]) -> None:
        rows = [(key, pid) for pid in passage_ids]
        await self._db.write(
            lambda c: c.executemany("DELETE FROM passage_vectors WHERE key = ? AND passage_id = ?", rows)
        )

    async def create_session(self, session: Session, keep: int) -> list[str]:
        def run(conn: sqlite3.Connection) -> list[str]:
            conn.execute(
                "INSERT INTO sessions (owner, id, version, expire_time, doc) VALUES (?,?,?,?,?)",
                (session.owner, session.id, session.version, session.expire_time, _json(session_to(session))),
            )
            expired = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM sessions WHERE owner = ? AND expire_time <= ?", (session.owner, session.create_time)
                )
            ]
            live = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM sessions WHERE owner = ? AND expire_time > ? ORDER BY id DESC",
                    (session.owner, session.create_time),
                )
            ]
            dropped = expired + live[keep:]
            conn.executemany("DELETE FROM sessions WHERE owner = ? AND id = ?", [(session.owner, i) for i in dropped])
            return dropped

        return await self._db.write(run)

    async def get_session(self, owner: str, session_id: str, now: float) -> Session | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT doc FROM sessions WHERE owner = ? AND id = ? AND expire_time > ?", (owner, session_id, now)
            ).fetchone()
        )
        return session_from(json.loads(row["doc"])) if row else None

    async def list_sessions(self, owner: str, now: float, before_id: str | None, limit: int) -> list[Session]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT doc FROM sessions WHERE owner = ? AND id < ? AND expire_time > ? ORDER BY id DESC LIMIT ?",
                (owner, before_id or "\U0010ffff", now, limit),
            ).fetchall()
        )
        return [session_from(json.loads(r["doc"])) for r in rows]

    async def replace_session(self, session: Session, expected_version: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            found = conn.execute(
                "SELECT version FROM sessions WHERE owner = ? AND id = ?", (session.owner, session.id)
            ).fetchone()
            if found is None:
                raise NotFound(f"{session.name} does not exist")
            if found["version"] != expected_version:
                raise Aborted(f"{session.name} changed meanwhile; retry", reason="SESSION_CHANGED")
            conn.execute(
                "UPDATE sessions SET version = ?, expire_time = ?, doc = ? WHERE owner = ? AND id = ?",
                (session.version, session.expire_time, _json(session_to(session)), session.owner, session.id),
            )

        await self._db.write(run)

    async def delete_session(self, owner: str, session_id: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM sessions WHERE owner = ? AND id = ?", (owner, session_id)).rowcount > 0

        return await self._db.write(run)

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
