"""InvoiceTable on the embedded SQLite engine.

`invoices` holds each invoice as one document with its version, contact and issue day (indexed for ListInvoices
and the reconciliation report); `counters` the last number of each series and financial year; `numbers` each
number given, unique. issue() and credit() advance the counter and write the document in one IMMEDIATE
transaction: SQLite's file lock serialises writers across every process on the file, so numbers are consecutive
and a rolled-back write takes none."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

from runtime.errors import Aborted, FailedPrecondition, NotFound
from runtime.sqlite import SqliteDatabase
from services.commerce.adapters.invoice_codec import from_document, to_document
from services.commerce.domain import gst
from services.commerce.domain.invoices import MAX_SEQUENCE, SERIES, Invoice, issue

SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
  id TEXT PRIMARY KEY,
  contact TEXT NOT NULL,
  issue_day TEXT,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS invoices_by_contact ON invoices(contact, id);
CREATE INDEX IF NOT EXISTS invoices_by_issue_day ON invoices(issue_day, id);
CREATE TABLE IF NOT EXISTS counters (
  series TEXT NOT NULL,
  year TEXT NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY (series, year)
);
CREATE TABLE IF NOT EXISTS numbers (
  number TEXT PRIMARY KEY,
  invoice_id TEXT NOT NULL UNIQUE
);
"""


def _dump(invoice: Invoice) -> str:
    return json.dumps(to_document(invoice), separators=(",", ":"))


def _issue_day(invoice: Invoice) -> str | None:
    return gst.india_date(invoice.issue_time).isoformat() if invoice.issue_time is not None else None


def next_number(conn: sqlite3.Connection, invoice: Invoice, now: float) -> Invoice:
    """Inside a write transaction: the invoice issued with its series' next number of the year of `now`."""
    year = gst.financial_year(now)
    series = SERIES[invoice.kind.value]
    row = conn.execute(
        "INSERT INTO counters (series, year, last) VALUES (?, ?, 1)"
        " ON CONFLICT (series, year) DO UPDATE SET last = last + 1 RETURNING last",
        (series, year),
    ).fetchone()
    if row[0] > MAX_SEQUENCE:
        raise FailedPrecondition(f"{series} numbers of {year} are used up", reason="NUMBERS_EXHAUSTED")
    issued = issue(invoice, year, row[0], now)
    conn.execute("INSERT INTO numbers (number, invoice_id) VALUES (?, ?)", (issued.number, issued.id))
    return issued


class SqliteInvoiceStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, SCHEMA)

    async def create(self, invoice: Invoice) -> None:
        await self._db.write(
            lambda conn: conn.execute(
                "INSERT INTO invoices (id, contact, issue_day, version, doc) VALUES (?,?,?,?,?)",
                (invoice.id, invoice.contact, _issue_day(invoice), invoice.version, _dump(invoice)),
            )
        )

    async def get(self, invoice_id: str) -> Invoice | None:
        row = self._db.read_point(
            lambda c: c.execute("SELECT doc FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
        )
        return from_document(json.loads(row[0])) if row else None

    async def list(self, after_id: str | None, limit: int, contact: str = "") -> list[Invoice]:
        if contact:
            query = "SELECT doc FROM invoices WHERE contact = ? AND id > ? ORDER BY id LIMIT ?"
            args: tuple = (contact, after_id or "", limit)
        else:
            query, args = "SELECT doc FROM invoices WHERE id > ? ORDER BY id LIMIT ?", (after_id or "", limit)
        rows = await self._db.read(lambda c: c.execute(query, args).fetchall())
        return [from_document(json.loads(r[0])) for r in rows]

    @staticmethod
    def _current(conn: sqlite3.Connection, invoice_id: str, expected_version: int | None) -> Invoice:
        row = conn.execute("SELECT doc FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
        if row is None:
            raise NotFound(f"invoices/{invoice_id} does not exist")
        current = from_document(json.loads(row[0]))
        if expected_version is not None and current.version != expected_version:
            raise Aborted(f"invoices/{invoice_id} changed meanwhile (etag {current.etag}); read it again")
        return current

    @staticmethod
    def _write(conn: sqlite3.Connection, invoice: Invoice) -> None:
        conn.execute(
            "UPDATE invoices SET contact = ?, issue_day = ?, version = ?, doc = ? WHERE id = ?",
            (invoice.contact, _issue_day(invoice), invoice.version, _dump(invoice), invoice.id),
        )

    async def replace(self, invoice: Invoice, expected_version: int) -> Invoice:
        def run(conn: sqlite3.Connection) -> Invoice:
            self._current(conn, invoice.id, expected_version)
            self._write(conn, invoice)
            return invoice

        return await self._db.write(run)

    async def delete_draft(self, invoice_id: str, expected_version: int | None) -> Invoice | None:
        def run(conn: sqlite3.Connection) -> Invoice | None:
            try:
                current = self._current(conn, invoice_id, expected_version)
            except NotFound:
                return None
            if current.issued:
                raise FailedPrecondition(
                    f"{current.name} is issued ({current.number}): it stays; correct it with a credit note",
                    reason="INVOICE_ISSUED",
                    metadata={"subject": current.name},
                )
            conn.execute("DELETE FROM invoices WHERE id = ?", (invoice_id,))
            return current

        return await self._db.write(run)

    async def issue(self, invoice: Invoice, now: float) -> Invoice:
        def run(conn: sqlite3.Connection) -> Invoice:
            current = self._current(conn, invoice.id, invoice.version)
            if current.issued:
                raise Aborted(f"{invoice.name} was issued meanwhile ({current.number})")
            issued = next_number(conn, current, now)
            self._write(conn, issued)
            return issued

        return await self._db.write(run)

    async def credit(self, note: Invoice, invoice: Invoice, now: float) -> tuple[Invoice, Invoice]:
        def run(conn: sqlite3.Connection) -> tuple[Invoice, Invoice]:
            current = self._current(conn, invoice.id, invoice.version)
            issued = next_number(conn, note, now)
            conn.execute(
                "INSERT INTO invoices (id, contact, issue_day, version, doc) VALUES (?,?,?,?,?)",
                (issued.id, issued.contact, _issue_day(issued), issued.version, _dump(issued)),
            )
            credited = dataclasses.replace(
                current,
                credited=current.credited + issued.totals.total,
                update_time=now,
                version=current.version + 1,
            )
            self._write(conn, credited)
            return issued, credited

        return await self._db.write(run)

    async def issued_on(self, day: str) -> list[Invoice]:
        rows = await self._db.read(
            lambda c: c.execute("SELECT doc FROM invoices WHERE issue_day = ? ORDER BY id", (day,)).fetchall()
        )
        return [from_document(json.loads(r[0])) for r in rows]

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
