"""ContactsTable on the embedded SQLite engine.

Unique indexes keep a number or an address to one contact; FTS5 serves word search; an index on the folded
name serves prefix search; the tag table (tag, id), written in the contact's own transaction, serves an audience
by tag in id order. So every query the service makes is an index lookup (search p99 in docs/BENCHMARKS.md). A file
from before the tag table gets it filled once, at open (TAGS_VERSION)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from runtime.errors import Aborted, AlreadyExists, DomainError, NotFound
from runtime.sqlite import SqliteDatabase
from services.contacts.adapters.codec import from_document, to_document
from services.contacts.domain import Contact

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  phone TEXT UNIQUE,
  email_key TEXT UNIQUE,
  name_key TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_by_name ON contacts(name_key, id);
CREATE VIRTUAL TABLE IF NOT EXISTS contacts_words USING fts5(
  words, tokenize="unicode61 remove_diacritics 2 tokenchars '_'"
);
CREATE TABLE IF NOT EXISTS contact_tags (
  tag TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (tag, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contact_tags_by_contact ON contact_tags(id);
"""
SELECT = "SELECT doc FROM contacts"
TAGS_VERSION = 1  # PRAGMA user_version from which contact_tags holds every contact's tags


def _row(contact: Contact) -> tuple:
    return (
        contact.id,
        contact.phone_number or None,
        contact.email_key or None,
        contact.name_key,
        contact.version,
        json.dumps(to_document(contact), separators=(",", ":")),
    )


def _conflict(exc: sqlite3.IntegrityError, contact: Contact, prefix: str = "contact") -> AlreadyExists:
    text = str(exc)
    if "contacts.phone" in text:
        return AlreadyExists(
            f"another contact already has phone number {contact.phone_number}",
            reason="PHONE_NUMBER_TAKEN",
            metadata={"field": f"{prefix}.phone_number"},
        )
    if "contacts.email_key" in text:
        return AlreadyExists(
            f"another contact already has email {contact.email}",
            reason="EMAIL_TAKEN",
            metadata={"field": f"{prefix}.email"},
        )
    return AlreadyExists(f"{contact.name} already exists", reason="CONTACT_EXISTS")


def _decode(rows) -> list[Contact]:
    return [from_document(json.loads(r[0])) for r in rows]


def _fill_tags(path: Path) -> None:
    """Once per file: the tags of contacts written before the tag table existed (idempotent; several processes
    opening the file at once fill it once, the first under the write lock)."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("PRAGMA user_version").fetchone()[0] < TAGS_VERSION:
            conn.execute(
                "INSERT OR IGNORE INTO contact_tags (tag, id)"
                " SELECT t.value, c.id FROM contacts c, json_each(c.doc, '$.tags') t"
            )
            conn.execute(f"PRAGMA user_version = {TAGS_VERSION}")
        conn.execute("COMMIT")
    finally:
        conn.close()


class SqliteContactStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, SCHEMA)
        _fill_tags(self._db.path)

    @staticmethod
    def _insert(conn: sqlite3.Connection, contact: Contact) -> None:
        cur = conn.execute(
            "INSERT INTO contacts (id, phone, email_key, name_key, version, doc) VALUES (?,?,?,?,?,?)", _row(contact)
        )
        conn.execute(
            "INSERT INTO contacts_words (rowid, words) VALUES (?, ?)", (cur.lastrowid, " ".join(contact.search_words()))
        )
        conn.executemany("INSERT INTO contact_tags (tag, id) VALUES (?, ?)", [(t, contact.id) for t in contact.tags])

    async def get(self, contact_id: str) -> Contact | None:
        rows = self._db.read_point(lambda c: c.execute(SELECT + " WHERE id = ?", (contact_id,)).fetchall())
        return _decode(rows)[0] if rows else None

    async def create(self, contact: Contact) -> None:
        try:
            await self._db.write(lambda conn: self._insert(conn, contact))
        except sqlite3.IntegrityError as exc:
            raise _conflict(exc, contact) from None

    async def create_many(self, contacts: list[Contact]) -> list[DomainError | None]:
        def run(conn: sqlite3.Connection) -> list[DomainError | None]:
            out: list[DomainError | None] = []
            for i, contact in enumerate(contacts):
                conn.execute("SAVEPOINT item")
                try:
                    self._insert(conn, contact)
                    conn.execute("RELEASE item")
                    out.append(None)
                except sqlite3.IntegrityError as exc:
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    out.append(_conflict(exc, contact, f"requests[{i}].contact"))
            return out

        return await self._db.write(run)

    async def replace(self, contact: Contact, expected_version: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            found = conn.execute("SELECT seq, version FROM contacts WHERE id = ?", (contact.id,)).fetchone()
            if found is None:
                raise NotFound(f"{contact.name} does not exist")
            if found["version"] != expected_version:
                raise Aborted(
                    f"{contact.name} changed meanwhile; read it again and reapply the change", reason="ETAG_MISMATCH"
                )
            row = _row(contact)
            conn.execute(
                "UPDATE contacts SET phone=?, email_key=?, name_key=?, version=?, doc=? WHERE seq=?",
                (*row[1:], found["seq"]),
            )
            conn.execute("DELETE FROM contacts_words WHERE rowid = ?", (found["seq"],))
            conn.execute(
                "INSERT INTO contacts_words (rowid, words) VALUES (?, ?)",
                (found["seq"], " ".join(contact.search_words())),
            )
            conn.execute("DELETE FROM contact_tags WHERE id = ?", (contact.id,))
            conn.executemany(
                "INSERT INTO contact_tags (tag, id) VALUES (?, ?)", [(t, contact.id) for t in contact.tags]
            )

        try:
            await self._db.write(run)
        except sqlite3.IntegrityError as exc:
            raise _conflict(exc, contact) from None

    async def delete(self, contact_id: str, expected_version: int | None = None) -> Contact | None:
        def run(conn: sqlite3.Connection) -> Contact | None:
            found = conn.execute("SELECT seq, version, doc FROM contacts WHERE id = ?", (contact_id,)).fetchone()
            if found is None:
                return None
            if expected_version is not None and found["version"] != expected_version:
                raise Aborted(f"contacts/{contact_id} changed meanwhile; read it again", reason="ETAG_MISMATCH")
            conn.execute("DELETE FROM contacts WHERE seq = ?", (found["seq"],))
            conn.execute("DELETE FROM contacts_words WHERE rowid = ?", (found["seq"],))
            conn.execute("DELETE FROM contact_tags WHERE id = ?", (contact_id,))
            return from_document(json.loads(found["doc"]))

        return await self._db.write(run)

    async def list(self, after_id: str | None, limit: int) -> list[Contact]:
        rows = await self._db.read(
            lambda c: c.execute(SELECT + " WHERE id > ? ORDER BY id LIMIT ?", (after_id or "", limit)).fetchall()
        )
        return _decode(rows)

    async def list_tagged(
        self, tags: tuple[str, ...], after_id: str | None, limit: int
    ) -> tuple[list[Contact], str | None]:
        if not tags or limit <= 0:
            return [], None
        sql = "SELECT c.doc FROM contact_tags t JOIN contacts c ON c.id = t.id WHERE t.tag = ? AND t.id > ?"
        sql += " AND EXISTS (SELECT 1 FROM contact_tags o WHERE o.tag = ? AND o.id = t.id)" * (len(tags) - 1)
        args = (tags[0], after_id or "", *tags[1:], limit)
        contacts = _decode(await self._db.read(lambda c: c.execute(sql + " ORDER BY t.id LIMIT ?", args).fetchall()))
        return contacts, (contacts[-1].id if len(contacts) == limit else None)

    async def find_by_phone(self, phone_number: str) -> Contact | None:
        rows = self._db.read_point(lambda c: c.execute(SELECT + " WHERE phone = ?", (phone_number,)).fetchall())
        return _decode(rows)[0] if rows else None

    async def find_by_email(self, email: str) -> Contact | None:
        key = email.strip().lower()
        rows = self._db.read_point(lambda c: c.execute(SELECT + " WHERE email_key = ?", (key,)).fetchall())
        return _decode(rows)[0] if rows else None

    async def by_name_prefix(self, prefix: str, limit: int) -> list[Contact]:
        if not prefix:
            return []
        rows = await self._db.read(
            lambda c: c.execute(
                SELECT + " WHERE name_key >= ? AND name_key < ? ORDER BY name_key, id LIMIT ?",
                (prefix, prefix + "\U0010ffff", limit),
            ).fetchall()
        )
        return _decode(rows)

    async def by_words(self, words: tuple[str, ...], limit: int) -> list[Contact]:
        if not words:
            return []
        match = " AND ".join('"' + w.replace('"', '""') + '"*' for w in words)
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT c.doc FROM contacts_words w JOIN contacts c ON c.seq = w.rowid"
                " WHERE contacts_words MATCH ? LIMIT ?",
                (match, limit),
            ).fetchall()
        )
        return _decode(rows)

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
