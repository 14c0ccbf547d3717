"""MessageStore on SQLite: accepting outbound messages with their idempotency keys, reading them, withdrawing the
queued ones, a streamed send's changes, and status events applied forward only (one transaction each)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps, status_event_to_dict
from services.messaging.adapters.sqlite_store.outbound_table import (
    COLUMNS,
    SELECT,
    apply_event,
    by_ids,
    message_of,
    row_of,
)
from services.messaging.adapters.sqlite_store.table import TOP, chunks, marks
from services.messaging.adapters.store import StatusApplied, Withdrawal
from services.messaging.domain.model import (
    AcceptOutcome,
    Channel,
    MessageError,
    MessageState,
    OutboundMessage,
    Status,
    StatusEvent,
    message_id_of,
)


class SqliteMessageStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def accept(self, messages: list[OutboundMessage]) -> list[AcceptOutcome]:
        insert = f"INSERT INTO outbound ({COLUMNS}) VALUES ({marks(20)})"

        def run(conn: sqlite3.Connection) -> list[AcceptOutcome]:
            out: list[AcceptOutcome] = []
            keyless: list[tuple] = []  # a run of messages without a key: one executemany, in order
            for m in messages:
                if not m.idempotency_key:
                    keyless.append(row_of(m))
                    out.append(AcceptOutcome(m, duplicate=False))
                    continue
                if keyless:
                    conn.executemany(insert, keyless)
                    keyless = []
                r = conn.execute(f"{SELECT} WHERE idem_key = ?", (m.idempotency_key,)).fetchone()
                if r is not None:
                    held = message_of(r)
                    if held.status != Status.WITHDRAWN:
                        out.append(AcceptOutcome(held, duplicate=True))
                        continue
                    # Withdrawn: the key moves to the new message, the old one remembers it.
                    conn.execute(
                        "UPDATE outbound SET idem_key = NULL,"
                        " doc = json_set(doc, '$.former_idempotency_key', ?) WHERE id = ?",
                        (m.idempotency_key, held.id),
                    )
                conn.execute(insert, row_of(m))
                out.append(AcceptOutcome(m, duplicate=False))
            if keyless:
                conn.executemany(insert, keyless)
            return out

        return await self._db.write(run)

    async def get(self, message_id: str) -> OutboundMessage | None:
        r = await self._db.read(lambda c: c.execute(f"{SELECT} WHERE id = ?", (message_id,)).fetchone())
        return message_of(r) if r else None

    async def get_by_key(self, idempotency_key: str) -> OutboundMessage | None:
        r = await self._db.read(lambda c: c.execute(f"{SELECT} WHERE idem_key = ?", (idempotency_key,)).fetchone())
        return message_of(r) if r else None

    async def get_by_provider_id(self, provider_message_id: str) -> OutboundMessage | None:
        r = await self._db.read(
            lambda c: c.execute(f"{SELECT} WHERE provider_id = ?", (provider_message_id,)).fetchone()
        )
        return message_of(r) if r else None

    async def get_by_keys(self, idempotency_keys: list[str]) -> list[OutboundMessage]:
        def run(conn: sqlite3.Connection) -> list[OutboundMessage]:
            out: list[OutboundMessage] = []
            for part in chunks(list(idempotency_keys)):
                out += [message_of(r) for r in conn.execute(f"{SELECT} WHERE idem_key IN ({marks(len(part))})", part)]
            return out

        return await self._db.read(run) if idempotency_keys else []

    async def get_many(self, message_ids: list[str]) -> list[OutboundMessage]:
        return await self._db.read(lambda c: by_ids(c, list(message_ids))) if message_ids else []

    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[OutboundMessage]:
        t, i = before if before else (float("inf"), TOP)
        sql = f"{SELECT} WHERE recipient = ? AND (create_time < ? OR (create_time = ? AND id < ?))"
        params: list[Any] = [customer, t, t, i]
        if channel:
            sql += " AND channel = ?"
            params.append(channel.value)
        sql += " ORDER BY create_time DESC, id DESC LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, (*params, limit)).fetchall())
        return [message_of(r) for r in rows]

    async def delete(self, message_id: str) -> OutboundMessage | None:
        def run(conn: sqlite3.Connection) -> OutboundMessage | None:
            found = by_ids(conn, [message_id])
            if found:
                conn.execute("DELETE FROM outbound WHERE id = ?", (message_id,))
            return found[0] if found else None

        return await self._db.write(run)

    # --- withdrawal ---------------------------------------------------------------------------------
    async def withdraw_by_key_prefix(self, prefix: str, now: float) -> Withdrawal:
        return await self._withdraw("idem_key >= ? AND idem_key < ?", (prefix, prefix + TOP), now)

    async def withdraw_by_key(self, idempotency_key: str, now: float) -> Withdrawal:
        return await self._withdraw("idem_key = ?", (idempotency_key,), now)

    async def withdraw_batch(self, batch_id: str, now: float) -> Withdrawal:
        return await self._withdraw("batch = ?", (batch_id,), now)

    async def withdraw_for_recipient(
        self, channel: Channel, recipient: str, accepted_before: float, now: float, keep_extra: str = ""
    ) -> list[OutboundMessage]:
        where = "recipient = ? AND channel = ? AND create_time <= ?"
        params: tuple = (recipient, channel.value, accepted_before)
        if keep_extra:
            where += " AND NOT coalesce(json_extract(doc, ?), 0)"
            params += (f'$.extra."{keep_extra}"',)
        return (await self._withdraw(where, params, now)).withdrawn

    async def _withdraw(self, where: str, params: tuple, now: float) -> Withdrawal:
        def run(conn: sqlite3.Connection) -> Withdrawal:
            ids = [
                r[0]
                for r in conn.execute(
                    f"UPDATE outbound SET status = 'WITHDRAWN', update_time = ? WHERE {where}"
                    " AND status = 'ACCEPTED' AND handoff_time IS NULL RETURNING id",
                    (now, *params),
                )
            ]
            in_flight = conn.execute(
                f"SELECT count(*) FROM outbound WHERE {where} AND status = 'ACCEPTED' AND handoff_time IS NOT NULL",
                params,
            ).fetchone()[0]
            return Withdrawal(by_ids(conn, ids), in_flight)

        return await self._db.write(run)

    async def batch_changes(self, batch_id: str, since: float) -> list[MessageState]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT id, status, update_time, provider_id, error, json_extract(doc, '$.extra.reattempt_key'),"
                " json_extract(doc, '$.extra.reattempt_due') FROM outbound WHERE batch = ? AND update_time >= ?",
                (batch_id, since),
            ).fetchall()
        )
        return [
            MessageState(
                r[0],
                Status(r[1]),
                r[2],
                r[3] or "",
                MessageError.from_dict(json.loads(r[4])) if r[4] else None,
                r[5] or "",
                float(r[6] or 0.0),
            )
            for r in rows
        ]

    # --- status events ------------------------------------------------------------------------------
    async def apply_status(self, event: StatusEvent) -> StatusApplied:
        return (await self.apply_statuses([event]))[0]

    async def apply_statuses(self, events: list[StatusEvent]) -> list[StatusApplied]:
        """One transaction for the whole batch: one commit however many events (SQLite's writes are serialised,
        so a batch's transaction is no longer than its events' would be one after the other)."""

        def run(conn: sqlite3.Connection) -> list[StatusApplied]:
            return [self._apply(conn, e) for e in events]

        return await self._db.write(run) if events else []

    @staticmethod
    def _apply(conn: sqlite3.Connection, event: StatusEvent) -> StatusApplied:
        fresh = conn.execute(
            "INSERT OR IGNORE INTO status_seen (provider_id, status) VALUES (?, ?)",
            (event.provider_message_id, event.status.value),
        ).rowcount
        row = None
        if event.callback_data:
            row = conn.execute(f"{SELECT} WHERE id = ?", (message_id_of(event.callback_data),)).fetchone()
        if row is None:
            row = conn.execute(f"{SELECT} WHERE provider_id = ?", (event.provider_message_id,)).fetchone()
        if not fresh:
            return StatusApplied(message_of(row) if row else None, changed=False, duplicate=True)
        if row is None:
            # Not ours yet (or sent outside this platform): kept, applied once a message gets this id.
            conn.execute(
                "INSERT OR REPLACE INTO orphan_status (key, status, doc, time) VALUES (?, ?, ?, ?)",
                (event.provider_message_id, event.status.value, dumps(status_event_to_dict(event)), event.time),
            )
            return StatusApplied(None, changed=False)
        changed = apply_event(conn, message_of(row), event)
        return StatusApplied(by_ids(conn, [row["id"]])[0], changed=changed)
