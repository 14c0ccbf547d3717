"""PayTable on the embedded SQLite engine.

`payments` holds each payment as one document with its invoice, creation day and receipt state (indexed);
`events` every event key applied (its primary key is what makes an event apply once); `links` the payment links
made for invoices. record() inserts the event key and writes the merged payment in one IMMEDIATE transaction."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

from runtime.sqlite import SqliteDatabase
from services.commerce.adapters.pay_codec import from_document, link_from_document, link_to_document, to_document
from services.commerce.domain import gst
from services.commerce.domain.payments import Observation, Payment, PaymentLink, Recorded, merge

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
  id TEXT PRIMARY KEY,
  invoice TEXT NOT NULL,
  create_day TEXT NOT NULL,
  receipt TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_invoice ON payments(invoice, id);
CREATE INDEX IF NOT EXISTS payments_by_day ON payments(create_day, id);
CREATE INDEX IF NOT EXISTS payments_by_receipt ON payments(receipt, id);
CREATE TABLE IF NOT EXISTS events (
  key TEXT PRIMARY KEY,
  payment_id TEXT NOT NULL,
  at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
  id TEXT PRIMARY KEY,
  invoice TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS links_by_invoice ON links(invoice, id);
"""


def create_day(payment: Payment) -> str:
    return gst.india_date(payment.create_time or payment.update_time).isoformat()


def _load(row) -> Payment | None:
    return from_document(json.loads(row[0])) if row else None


class SqlitePayStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, SCHEMA)

    @staticmethod
    def _write(conn: sqlite3.Connection, payment: Payment) -> None:
        conn.execute(
            "INSERT INTO payments (id, invoice, create_day, receipt, version, doc) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET invoice = excluded.invoice, create_day = excluded.create_day,"
            " receipt = excluded.receipt, version = excluded.version, doc = excluded.doc",
            (
                payment.id,
                payment.invoice,
                create_day(payment),
                payment.receipt,
                payment.version,
                json.dumps(to_document(payment), separators=(",", ":")),
            ),
        )

    async def record(self, event_key: str, seen: Observation, now: float) -> Recorded:
        def run(conn: sqlite3.Connection) -> Recorded:
            current = _load(conn.execute("SELECT doc FROM payments WHERE id = ?", (seen.payment_id,)).fetchone())
            fresh = conn.execute(
                "INSERT INTO events (key, payment_id, at) VALUES (?,?,?) ON CONFLICT (key) DO NOTHING",
                (event_key, seen.payment_id, now),
            ).rowcount
            if not fresh:
                return Recorded(current, duplicate=True, before=current)
            merged = merge(current, seen, now)
            self._write(conn, merged)
            return Recorded(merged, duplicate=False, before=current)

        return await self._db.write(run)

    async def get(self, payment_id: str) -> Payment | None:
        return _load(
            self._db.read_point(lambda c: c.execute("SELECT doc FROM payments WHERE id = ?", (payment_id,)).fetchone())
        )

    async def _many(self, query: str, args: tuple) -> list[Payment]:
        rows = await self._db.read(lambda c: c.execute(query, args).fetchall())
        return [from_document(json.loads(r[0])) for r in rows]

    async def list(self, after_id: str | None, limit: int) -> list[Payment]:
        return await self._many("SELECT doc FROM payments WHERE id > ? ORDER BY id LIMIT ?", (after_id or "", limit))

    async def of_invoice(self, invoice_id: str) -> list[Payment]:
        return await self._many("SELECT doc FROM payments WHERE invoice = ? ORDER BY id", (invoice_id,))

    async def created_on(self, day: str) -> list[Payment]:
        return await self._many("SELECT doc FROM payments WHERE create_day = ? ORDER BY id", (day,))

    async def annotate(self, payment_id: str, *, already_paid: bool | None = None, receipt: str | None = None) -> None:
        def run(conn: sqlite3.Connection) -> None:
            current = _load(conn.execute("SELECT doc FROM payments WHERE id = ?", (payment_id,)).fetchone())
            if current is None:
                return
            changed = dataclasses.replace(
                current,
                already_paid=current.already_paid if already_paid is None else already_paid,
                receipt=current.receipt if receipt is None else receipt,
            )
            if changed != current:
                self._write(conn, dataclasses.replace(changed, version=current.version + 1))

        await self._db.write(run)

    async def receipts_due(self, limit: int) -> list[Payment]:
        return await self._many("SELECT doc FROM payments WHERE receipt = 'DUE' ORDER BY id LIMIT ?", (limit,))

    async def save_link(self, link: PaymentLink) -> None:
        await self._db.write(
            lambda conn: conn.execute(
                "INSERT INTO links (id, invoice, doc) VALUES (?,?,?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (link.id, link.invoice, json.dumps(link_to_document(link), separators=(",", ":"))),
            )
        )

    async def links_of(self, invoice_id: str) -> list[PaymentLink]:
        rows = await self._db.read(
            lambda c: c.execute("SELECT doc FROM links WHERE invoice = ? ORDER BY id", (invoice_id,)).fetchall()
        )
        return [link_from_document(json.loads(r[0])) for r in rows]

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
