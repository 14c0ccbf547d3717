"""WhatsAppOutboundTable and WhatsAppInboundTable on the embedded SQLite engine (one file each, WAL, shared
safely by several messaging processes).

Outbound: the mutable and queried parts of a message are columns (status, hand-off mark, times, keys) so that
every hot write is a plain UPDATE; the rest is one JSON document. Partial indexes serve the send queue (queued
messages per sender in lane order), the in-doubt scan and the dead-letter outbox. The coordination document,
the template catalogue, registered media ids and suppressions live beside the messages."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import (
    conversation_from_dict,
    conversation_to_dict,
    dumps,
    inbound_from_dict,
    inbound_to_dict,
    merge_conversation,
    status_event_from_dict,
    status_event_to_dict,
    template_from_dict,
    template_to_dict,
    voice_call_from_dict,
    voice_call_to_dict,
)
from services.messaging.adapters.store import StatusApplied, Withdrawal
from services.messaging.domain.inbound import Change
from services.messaging.domain.model import (
    AcceptOutcome,
    Category,
    Channel,
    Conversation,
    InboundMessage,
    Lane,
    MessageError,
    MessageState,
    OutboundMessage,
    SendResult,
    Status,
    StatusEvent,
    Template,
    VoiceCall,
    advances,
    message_id_of,
    touched_by_inbound,
)

TOP = "\U0010ffff"
CHUNK = 500  # ids per IN (...) list

OUTBOUND_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbound (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL,
  category TEXT NOT NULL,
  origination TEXT NOT NULL,
  recipient TEXT NOT NULL,
  idem_key TEXT UNIQUE,
  batch TEXT,
  lane INTEGER NOT NULL,
  status TEXT NOT NULL,
  due_time REAL NOT NULL,
  handoff_time REAL,
  attempts INTEGER NOT NULL DEFAULT 0,
  provider_id TEXT,
  error TEXT,
  send_time REAL,
  deliver_time REAL,
  read_time REAL,
  create_time REAL NOT NULL,
  update_time REAL NOT NULL,
  dead_letter INTEGER NOT NULL DEFAULT 0,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbound_queue ON outbound(origination, lane, seq)
  WHERE status = 'ACCEPTED' AND handoff_time IS NULL;
CREATE INDEX IF NOT EXISTS outbound_in_doubt ON outbound(handoff_time)
  WHERE status = 'ACCEPTED' AND handoff_time IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbound_batch ON outbound(batch, update_time) WHERE batch IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbound_customer ON outbound(recipient, create_time, id);
CREATE INDEX IF NOT EXISTS outbound_provider ON outbound(provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbound_dead ON outbound(seq) WHERE dead_letter = 1;
CREATE TABLE IF NOT EXISTS status_seen (
  provider_id TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (provider_id, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orphan_status (
  key TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL, time REAL NOT NULL, PRIMARY KEY (key, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS coordination (
  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
  key TEXT PRIMARY KEY, waba TEXT NOT NULL, template_name TEXT NOT NULL, language TEXT NOT NULL, doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS media_ids (
  origination TEXT NOT NULL, media_key TEXT NOT NULL, media_id TEXT NOT NULL, expires_at REAL NOT NULL,
  PRIMARY KEY (origination, media_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS suppressions (
  recipient TEXT NOT NULL, kind TEXT NOT NULL, until REAL NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (recipient, kind)
) WITHOUT ROWID;
"""

COLUMNS = (
    "id, channel, category, origination, recipient, idem_key, batch, lane, status, due_time, handoff_time, attempts,"
    " provider_id, error, send_time, deliver_time, read_time, create_time, update_time, doc"
)
SELECT = f"SELECT {COLUMNS} FROM outbound"


def _row(m: OutboundMessage) -> tuple:
    doc = {
        "content": m.content,
        "contact_id": m.contact_id,
        "reply_to": m.reply_to,
        "former_idempotency_key": m.former_idempotency_key,
        "extra": m.extra,
    }
    return (
        m.id,
        m.channel.value,
        m.category.value,
        m.origination,
        m.recipient,
        m.idempotency_key or None,
        m.batch_id or None,
        int(m.lane),
        m.status.value,
        m.due_time,
        m.handoff_time,
        m.attempts,
        m.provider_message_id or None,
        dumps(m.error.to_dict()) if m.error else None,
        m.send_time,
        m.deliver_time,
        m.read_time,
        m.create_time,
        m.update_time or m.create_time,
        dumps(doc),
    )


def _message(r: sqlite3.Row) -> OutboundMessage:
    doc = json.loads(r["doc"])
    return OutboundMessage(
        id=r["id"],
        channel=Channel(r["channel"]),
        category=Category(r["category"]),
        origination=r["origination"],
        recipient=r["recipient"],
        content=doc.get("content") or {},
        create_time=r["create_time"],
        contact_id=doc.get("contact_id") or "",
        idempotency_key=r["idem_key"] or "",
        reply_to=doc.get("reply_to") or "",
        lane=Lane(r["lane"]),
        batch_id=r["batch"] or "",
        status=Status(r["status"]),
        error=MessageError.from_dict(json.loads(r["error"])) if r["error"] else None,
        provider_message_id=r["provider_id"] or "",
        attempts=r["attempts"],
        due_time=r["due_time"],
        handoff_time=r["handoff_time"],
        send_time=r["send_time"],
        deliver_time=r["deliver_time"],
        read_time=r["read_time"],
        update_time=r["update_time"],
        former_idempotency_key=doc.get("former_idempotency_key") or "",
        extra=doc.get("extra") or {},
    )


def _chunks(items: list[str], size: int = CHUNK) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _by_ids(conn: sqlite3.Connection, ids: list[str]) -> list[OutboundMessage]:
    found: dict[str, OutboundMessage] = {}
    for part in _chunks(ids):
        for r in conn.execute(f"{SELECT} WHERE id IN ({_marks(len(part))})", part):
            found[r["id"]] = _message(r)
    return [found[i] for i in ids if i in found]


class SqliteOutboundStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, OUTBOUND_SCHEMA)

    # --- accepting ---------------------------------------------------------------------------------
    async def accept(self, messages: list[OutboundMessage]) -> list[AcceptOutcome]:
        def run(conn: sqlite3.Connection) -> list[AcceptOutcome]:
            out: list[AcceptOutcome] = []
            for m in messages:
                if m.idempotency_key:
                    r = conn.execute(f"{SELECT} WHERE idem_key = ?", (m.idempotency_key,)).fetchone()
                    if r is not None:
                        held = _message(r)
                        if held.status != Status.WITHDRAWN:
                            out.append(AcceptOutcome(held, duplicate=True))
                            continue
                        # Withdrawn: the key moves to the new message, the old one remembers it.
                        conn.execute(
                            "UPDATE outbound SET idem_key = NULL,"
                            " doc = json_set(doc, '$.former_idempotency_key', ?) WHERE id = ?",
                            (m.idempotency_key, held.id),
                        )
                conn.execute(f"INSERT INTO outbound ({COLUMNS}) VALUES ({_marks(20)})", _row(m))
                out.append(AcceptOutcome(m, duplicate=False))
            return out

        return await self._db.write(run)

    async def get(self, message_id: str) -> OutboundMessage | None:
        r = await self._db.read(lambda c: c.execute(f"{SELECT} WHERE id = ?", (message_id,)).fetchone())
        return _message(r) if r else None

    async def get_by_key(self, idempotency_key: str) -> OutboundMessage | None:
        r = await self._db.read(lambda c: c.execute(f"{SELECT} WHERE idem_key = ?", (idempotency_key,)).fetchone())
        return _message(r) if r else None

    async def get_by_provider_id(self, provider_message_id: str) -> OutboundMessage | None:
        r = await self._db.read(
            lambda c: c.execute(f"{SELECT} WHERE provider_id = ?", (provider_message_id,)).fetchone()
        )
        return _message(r) if r else None

    async def get_by_keys(self, idempotency_keys: list[str]) -> list[OutboundMessage]:
        def run(conn: sqlite3.Connection) -> list[OutboundMessage]:
            out: list[OutboundMessage] = []
            for part in _chunks(list(idempotency_keys)):
                out += [_message(r) for r in conn.execute(f"{SELECT} WHERE idem_key IN ({_marks(len(part))})", part)]
            return out

        return await self._db.read(run) if idempotency_keys else []

    async def get_many(self, message_ids: list[str]) -> list[OutboundMessage]:
        return await self._db.read(lambda c: _by_ids(c, list(message_ids))) if message_ids else []

    # --- the send queue -----------------------------------------------------------------------------
    async def queued(
        self, origination: str, now: float, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[OutboundMessage]:
        def run(conn: sqlite3.Connection) -> list[OutboundMessage]:
            rows = conn.execute(
                f"{SELECT} WHERE origination = ? AND status = 'ACCEPTED' AND handoff_time IS NULL"
                " AND due_time <= ? ORDER BY lane, seq LIMIT ?",
                (origination, now, limit),
            ).fetchall()
            return [_message(r) for r in rows if r["id"] not in exclude]

        return await self._db.read(run)

    async def hand_off(self, message_ids: list[str], now: float) -> list[str]:
        def run(conn: sqlite3.Connection) -> list[str]:
            marked: list[str] = []
            for part in _chunks(message_ids):
                marked += [
                    r[0]
                    for r in conn.execute(
                        "UPDATE outbound SET handoff_time = ?, attempts = attempts + 1, update_time = ?"
                        f" WHERE id IN ({_marks(len(part))}) AND status = 'ACCEPTED' AND handoff_time IS NULL"
                        " RETURNING id",
                        (now, now, *part),
                    )
                ]
            return marked

        return await self._db.write(run) if message_ids else []

    async def record_results(self, results: list[SendResult], fetch: bool = True) -> list[OutboundMessage]:
        def run(conn: sqlite3.Connection) -> list[OutboundMessage]:
            sent_with_ids: list[str] = []
            for r in results:
                error = dumps(r.error.to_dict()) if r.error else None
                if r.outcome == "sent":
                    # The document is rewritten only when the result adds to its extras (most sends add none).
                    patch, params = "", [r.provider_message_id or None, r.time, r.time, r.time]
                    if r.extra:
                        patch = ", doc = json_set(doc, '$.extra', json_patch(json_extract(doc, '$.extra'), json(?)))"
                        params.append(dumps(r.extra))
                    conn.execute(
                        "UPDATE outbound SET"
                        " status = CASE WHEN status IN ('ACCEPTED', 'UNKNOWN') THEN 'SENT' ELSE status END,"
                        " provider_id = COALESCE(provider_id, ?), send_time = COALESCE(send_time, ?),"
                        f" handoff_time = COALESCE(handoff_time, ?), error = NULL, update_time = ?{patch}"
                        " WHERE id = ? AND status NOT IN ('FAILED', 'WITHDRAWN')",
                        (*params, r.message_id),
                    )
                    if r.provider_message_id:
                        sent_with_ids.append(r.provider_message_id)
                elif r.outcome == "failed":
                    conn.execute(
                        "UPDATE outbound SET status = 'FAILED', error = ?, dead_letter = 1, update_time = ?"
                        " WHERE id = ? AND status IN ('ACCEPTED', 'UNKNOWN')",
                        (error, r.time, r.message_id),
                    )
                elif r.outcome == "retry":
                    conn.execute(
                        "UPDATE outbound SET handoff_time = NULL, due_time = ?, error = ?, update_time = ?"
                        " WHERE id = ? AND status = 'ACCEPTED' AND handoff_time IS NOT NULL",
                        (r.retry_at, error, r.time, r.message_id),
                    )
                elif r.outcome == "in_doubt":
                    conn.execute(
                        "UPDATE outbound SET error = ?, update_time = ? WHERE id = ? AND status = 'ACCEPTED'",
                        (error, r.time, r.message_id),
                    )
                else:
                    raise ValueError(f"unknown send outcome {r.outcome!r}")
            for provider_id in sent_with_ids:
                self._adopt_orphans(conn, provider_id)
            return _by_ids(conn, [r.message_id for r in results]) if fetch else []

        return await self._db.write(run) if results else []

    async def in_doubt(self, handed_off_before: float, limit: int) -> list[OutboundMessage]:
        rows = await self._db.read(
            lambda c: c.execute(
                f"{SELECT} WHERE status = 'ACCEPTED' AND handoff_time IS NOT NULL AND handoff_time < ?"
                " ORDER BY handoff_time LIMIT ?",
                (handed_off_before, limit),
            ).fetchall()
        )
        return [_message(r) for r in rows]

    async def mark_unknown(self, message_ids: list[str], now: float) -> list[str]:
        error = dumps(
            MessageError(
                "OUTCOME_UNKNOWN",
                "no answer from the provider and no status event",
                "handed to the provider, then no answer and no status event arrived within the window",
            ).to_dict()
        )

        def run(conn: sqlite3.Connection) -> list[str]:
            changed: list[str] = []
            for part in _chunks(message_ids):
                changed += [
                    r[0]
                    for r in conn.execute(
                        "UPDATE outbound SET status = 'UNKNOWN', error = ?, update_time = ?"
                        f" WHERE id IN ({_marks(len(part))}) AND status = 'ACCEPTED' AND handoff_time IS NOT NULL"
                        " RETURNING id",
                        (error, now, *part),
                    )
                ]
            return changed

        return await self._db.write(run) if message_ids else []

    async def apply_status(self, event: StatusEvent) -> StatusApplied:
        def run(conn: sqlite3.Connection) -> StatusApplied:
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
                return StatusApplied(_message(row) if row else None, changed=False, duplicate=True)
            if row is None:
                # Not ours yet (or sent outside this platform): kept, applied once a message gets this id.
                conn.execute(
                    "INSERT OR REPLACE INTO orphan_status (key, status, doc, time) VALUES (?, ?, ?, ?)",
                    (event.provider_message_id, event.status.value, dumps(status_event_to_dict(event)), event.time),
                )
                return StatusApplied(None, changed=False)
            changed = self._apply(conn, _message(row), event)
            return StatusApplied(_by_ids(conn, [row["id"]])[0], changed=changed)

        return await self._db.write(run)

    @staticmethod
    def _apply(conn: sqlite3.Connection, m: OutboundMessage, event: StatusEvent) -> bool:
        moves = advances(m.status, event.status)
        time_column = {Status.SENT: "send_time", Status.DELIVERED: "deliver_time", Status.READ: "read_time"}.get(
            event.status
        )
        # update_time is when the record last changed here (streams follow changes by it), never the event's
        # own time: Meta's timestamps are whole seconds and may be older than the send record.
        sets = ["provider_id = COALESCE(provider_id, ?)", "update_time = max(update_time, ?)"]
        params: list[Any] = [event.provider_message_id or None, time.time()]
        if time_column:
            sets.append(f"{time_column} = COALESCE({time_column}, ?)")
            params.append(event.time)
        if moves:
            sets.append("status = ?")
            params.append(event.status.value)
            if event.status == Status.FAILED:
                sets.append("error = ?")
                params.append(dumps((event.error or MessageError("FAILED")).to_dict()))
            elif m.status == Status.UNKNOWN or m.error:
                sets.append("error = NULL")  # reconciled: the in-doubt note no longer holds
        conn.execute(f"UPDATE outbound SET {', '.join(sets)} WHERE id = ?", (*params, m.id))
        return moves

    def _adopt_orphans(self, conn: sqlite3.Connection, provider_id: str) -> None:
        rows = conn.execute("SELECT status, doc FROM orphan_status WHERE key = ?", (provider_id,)).fetchall()
        if not rows:
            return
        target = conn.execute(f"{SELECT} WHERE provider_id = ?", (provider_id,)).fetchone()
        if target is None:
            return
        for r in sorted(rows, key=lambda r: json.loads(r["doc"])["time"]):
            current = _by_ids(conn, [target["id"]])[0]
            self._apply(conn, current, status_event_from_dict(json.loads(r["doc"])))
        conn.execute("DELETE FROM orphan_status WHERE key = ?", (provider_id,))

    # --- withdrawal ---------------------------------------------------------------------------------
    async def withdraw_by_key_prefix(self, prefix: str, now: float) -> Withdrawal:
        return await self._withdraw("idem_key >= ? AND idem_key < ?", (prefix, prefix + TOP), now)

    async def withdraw_by_key(self, idempotency_key: str, now: float) -> Withdrawal:
        return await self._withdraw("idem_key = ?", (idempotency_key,), now)

    async def withdraw_batch(self, batch_id: str, now: float) -> Withdrawal:
        return await self._withdraw("batch = ?", (batch_id,), now)

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
            return Withdrawal(_by_ids(conn, ids), in_flight)

        return await self._db.write(run)

    async def batch_changes(self, batch_id: str, since: float) -> list[MessageState]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT id, status, update_time, provider_id, error FROM outbound WHERE batch = ? AND update_time >= ?",
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
            )
            for r in rows
        ]

    # --- outbound-dlq outbox ------------------------------------------------------------------------
    async def dead_letters_pending(self, limit: int) -> list[OutboundMessage]:
        rows = await self._db.read(
            lambda c: c.execute(f"{SELECT} WHERE dead_letter = 1 ORDER BY seq LIMIT ?", (limit,)).fetchall()
        )
        return [_message(r) for r in rows]

    async def dead_letters_sent(self, message_ids: list[str]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            for part in _chunks(message_ids):
                conn.execute(f"UPDATE outbound SET dead_letter = 0 WHERE id IN ({_marks(len(part))})", part)

        if message_ids:
            await self._db.write(run)

    async def requeue(self, message_id: str, now: float) -> OutboundMessage | None:
        def run(conn: sqlite3.Connection) -> OutboundMessage | None:
            r = conn.execute(
                "UPDATE outbound SET status = 'ACCEPTED', handoff_time = NULL, due_time = ?, attempts = 0,"
                " error = NULL, dead_letter = 0, update_time = ?"
                " WHERE id = ? AND status = 'FAILED' AND provider_id IS NULL AND send_time IS NULL RETURNING id",
                (now, now, message_id),
            ).fetchone()
            return _by_ids(conn, [r[0]])[0] if r else None

        return await self._db.write(run)

    async def retry_later(self, message_id: str, due: float, now: float) -> OutboundMessage | None:
        def run(conn: sqlite3.Connection) -> OutboundMessage | None:
            r = conn.execute(
                "UPDATE outbound SET status = 'ACCEPTED', handoff_time = NULL, due_time = ?, attempts = 0,"
                " dead_letter = 0, update_time = ?, send_time = NULL, deliver_time = NULL, read_time = NULL,"
                " doc = json_set(doc, '$.extra.previous_provider_ids',"
                "   json_insert(COALESCE(json_extract(doc, '$.extra.previous_provider_ids'), json('[]')),"
                "               '$[#]', provider_id)),"
                " provider_id = NULL"
                " WHERE id = ? AND status = 'FAILED' AND json_extract(error, '$.code') = '131049' RETURNING id",
                (due, now, message_id),
            ).fetchone()
            return _by_ids(conn, [r[0]])[0] if r else None

        return await self._db.write(run)

    # --- conversations ------------------------------------------------------------------------------
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
        return [_message(r) for r in rows]

    async def delete(self, message_id: str) -> OutboundMessage | None:
        def run(conn: sqlite3.Connection) -> OutboundMessage | None:
            found = _by_ids(conn, [message_id])
            if found:
                conn.execute("DELETE FROM outbound WHERE id = ?", (message_id,))
            return found[0] if found else None

        return await self._db.write(run)

    # --- coordination, catalogue, media, suppressions -----------------------------------------------
    async def load_coordination(self) -> tuple[dict[str, Any], int]:
        r = await self._db.read(lambda c: c.execute("SELECT version, doc FROM coordination WHERE id = 1").fetchone())
        return (json.loads(r["doc"]), r["version"]) if r else ({}, 0)

    async def save_coordination(self, doc: dict[str, Any], expected_version: int) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            if expected_version == 0:
                return (
                    conn.execute(
                        "INSERT OR IGNORE INTO coordination (id, version, doc) VALUES (1, 1, ?)", (dumps(doc),)
                    ).rowcount
                    == 1
                )
            return (
                conn.execute(
                    "UPDATE coordination SET version = version + 1, doc = ? WHERE id = 1 AND version = ?",
                    (dumps(doc), expected_version),
                ).rowcount
                == 1
            )

        return await self._db.write(run)

    async def replace_templates(self, waba: str, templates: list[Template]) -> tuple[int, int]:
        def run(conn: sqlite3.Connection) -> tuple[int, int]:
            before = {r[0] for r in conn.execute("SELECT key FROM templates WHERE waba = ?", (waba,))}
            after = {t.key for t in templates}
            for key in before - after:
                conn.execute("DELETE FROM templates WHERE key = ?", (key,))
            for t in templates:
                conn.execute(
                    "INSERT OR REPLACE INTO templates (key, waba, template_name, language, doc) VALUES (?,?,?,?,?)",
                    (t.key, waba, t.template_name, t.language, dumps(template_to_dict(t))),
                )
            return len(after - before), len(before - after)

        return await self._db.write(run)

    async def list_templates(self, language: str, after: str, limit: int) -> list[Template]:
        sql = "SELECT doc FROM templates WHERE key > ?"
        params: list[Any] = [after]
        if language:
            sql += " AND language = ?"
            params.append(language)
        sql += " ORDER BY key LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, (*params, limit)).fetchall())
        return [template_from_dict(json.loads(r[0])) for r in rows]

    async def get_template(self, template_name: str, language: str) -> Template | None:
        r = await self._db.read(
            lambda c: c.execute("SELECT doc FROM templates WHERE key = ?", (f"{template_name}.{language}",)).fetchone()
        )
        return template_from_dict(json.loads(r[0])) if r else None

    async def media_id(self, origination: str, media_key: str, now: float) -> str | None:
        r = await self._db.read(
            lambda c: c.execute(
                "SELECT media_id FROM media_ids WHERE origination = ? AND media_key = ? AND expires_at > ?",
                (origination, media_key, now),
            ).fetchone()
        )
        return r[0] if r else None

    async def put_media_id(self, origination: str, media_key: str, media_id: str, expires_at: float) -> None:
        await self._db.write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO media_ids (origination, media_key, media_id, expires_at) VALUES (?,?,?,?)",
                (origination, media_key, media_id, expires_at),
            )
        )

    async def suppress(self, recipient: str, kind: str, until: float, reason: str) -> None:
        await self._db.write(
            lambda c: c.execute(
                "INSERT INTO suppressions (recipient, kind, until, reason) VALUES (?,?,?,?)"
                " ON CONFLICT (recipient, kind) DO UPDATE SET until = max(until, excluded.until),"
                " reason = excluded.reason",
                (recipient, kind, until, reason),
            )
        )

    async def suppressed(self, recipient: str, kind: str, now: float) -> str | None:
        r = await self._db.read(
            lambda c: c.execute(
                "SELECT reason FROM suppressions WHERE recipient = ? AND kind IN (?, 'all') AND until > ?",
                (recipient, kind, now),
            ).fetchone()
        )
        return r[0] if r else None

    async def suppressed_many(self, recipients: list[str], kind: str, now: float) -> dict[str, str]:
        def run(conn: sqlite3.Connection) -> dict[str, str]:
            out: dict[str, str] = {}
            for part in _chunks(list(recipients)):
                for r in conn.execute(
                    f"SELECT recipient, reason FROM suppressions WHERE recipient IN ({_marks(len(part))})"
                    " AND kind IN (?, 'all') AND until > ?",
                    (*part, kind, now),
                ):
                    out[r[0]] = r[1]
            return out

        return await self._db.read(run) if recipients else {}

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()


INBOUND_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbound (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  wamid TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL,
  origination TEXT NOT NULL,
  customer TEXT NOT NULL,
  receive_time REAL NOT NULL,
  create_time REAL NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbound_customer ON inbound(customer, receive_time, id);
CREATE INDEX IF NOT EXISTS inbound_phone_time ON inbound(origination, receive_time);
CREATE TABLE IF NOT EXISTS sns_events (message_id TEXT PRIMARY KEY, time REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows (
  origination TEXT NOT NULL, customer TEXT NOT NULL, last_inbound REAL NOT NULL, PRIMARY KEY (origination, customer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, channel TEXT NOT NULL, update_time REAL NOT NULL, doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_latest ON conversations(update_time, id);
CREATE INDEX IF NOT EXISTS conversations_channel ON conversations(channel, update_time, id);
CREATE TABLE IF NOT EXISTS voice_calls (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  call_id TEXT NOT NULL,
  event TEXT NOT NULL,
  customer TEXT NOT NULL,
  time REAL NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE (call_id, event)
);
CREATE INDEX IF NOT EXISTS voice_calls_customer ON voice_calls(customer, time, id);
CREATE INDEX IF NOT EXISTS voice_calls_time ON voice_calls(time, id);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, conversation TEXT NOT NULL,
  time REAL NOT NULL, written REAL NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_written ON changes(written);
"""
CHANGES_KEPT_SECONDS = 86_400.0
CHANGES_TRIM_EVERY = 1000


class SqliteInboundStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, INBOUND_SCHEMA)

    async def event_seen(self, sns_message_id: str) -> bool:
        r = await self._db.read(
            lambda c: c.execute("SELECT 1 FROM sns_events WHERE message_id = ?", (sns_message_id,)).fetchone()
        )
        return r is not None

    async def mark_event(self, sns_message_id: str, now: float) -> bool:
        return (
            await self._db.write(
                lambda c: (
                    c.execute(
                        "INSERT OR IGNORE INTO sns_events (message_id, time) VALUES (?, ?)", (sns_message_id, now)
                    ).rowcount
                )
            )
            == 1
        )

    async def add_message(self, message: InboundMessage) -> tuple[InboundMessage, bool]:
        def run(conn: sqlite3.Connection) -> tuple[InboundMessage, bool]:
            r = conn.execute("SELECT doc FROM inbound WHERE wamid = ?", (message.provider_message_id,)).fetchone()
            if r is not None:
                return inbound_from_dict(json.loads(r[0])), False
            conn.execute(
                "INSERT INTO inbound (id, wamid, channel, origination, customer, receive_time, create_time, doc)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    message.id,
                    message.provider_message_id,
                    message.channel.value,
                    message.origination,
                    message.customer,
                    message.receive_time,
                    message.create_time,
                    dumps(inbound_to_dict(message)),
                ),
            )
            conn.execute(
                "INSERT INTO windows (origination, customer, last_inbound) VALUES (?,?,?)"
                " ON CONFLICT (origination, customer)"
                " DO UPDATE SET last_inbound = max(last_inbound, excluded.last_inbound)",
                (message.origination, message.customer, message.receive_time),
            )
            self._touch(conn, touched_by_inbound(message))
            return message, True

        return await self._db.write(run)

    @staticmethod
    def _touch(conn: sqlite3.Connection, new: Conversation) -> None:
        r = conn.execute("SELECT doc FROM conversations WHERE id = ?", (new.id,)).fetchone()
        merged = merge_conversation(conversation_from_dict(json.loads(r[0])) if r else None, new)
        conn.execute(
            "INSERT OR REPLACE INTO conversations (id, channel, update_time, doc) VALUES (?,?,?,?)",
            (merged.id, merged.channel.value, merged.update_time, dumps(conversation_to_dict(merged))),
        )

    async def get(self, message_id: str) -> InboundMessage | None:
        r = await self._db.read(lambda c: c.execute("SELECT doc FROM inbound WHERE id = ?", (message_id,)).fetchone())
        return inbound_from_dict(json.loads(r[0])) if r else None

    async def get_by_provider_id(self, provider_message_id: str) -> InboundMessage | None:
        r = await self._db.read(
            lambda c: c.execute("SELECT doc FROM inbound WHERE wamid = ?", (provider_message_id,)).fetchone()
        )
        return inbound_from_dict(json.loads(r[0])) if r else None

    async def update_message(self, message: InboundMessage) -> None:
        await self._db.write(
            lambda c: c.execute(
                "UPDATE inbound SET doc = ? WHERE id = ?", (dumps(inbound_to_dict(message)), message.id)
            )
        )

    async def delete(self, message_id: str) -> InboundMessage | None:
        def run(conn: sqlite3.Connection) -> InboundMessage | None:
            r = conn.execute("SELECT doc FROM inbound WHERE id = ?", (message_id,)).fetchone()
            if r is None:
                return None
            conn.execute("DELETE FROM inbound WHERE id = ?", (message_id,))
            return inbound_from_dict(json.loads(r[0]))

        return await self._db.write(run)

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
                for part in _chunks(customers):
                    for r in conn.execute(
                        "SELECT customer, last_inbound FROM windows WHERE origination = ?"
                        f" AND customer IN ({_marks(len(part))})",
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

    async def list_for_customer(
        self, channel: Channel | None, customer: str, before: tuple[float, str] | None, limit: int
    ) -> list[InboundMessage]:
        t, i = before if before else (float("inf"), TOP)
        sql = "SELECT doc FROM inbound WHERE customer = ? AND (receive_time < ? OR (receive_time = ? AND id < ?))"
        params: list[Any] = [customer, t, t, i]
        if channel:
            sql += " AND channel = ?"
            params.append(channel.value)
        sql += " ORDER BY receive_time DESC, id DESC LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, (*params, limit)).fetchall())
        return [inbound_from_dict(json.loads(r[0])) for r in rows]

    async def note_outbound(self, conversations: list[Conversation]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            for c in conversations:
                self._touch(conn, c)

        if conversations:
            await self._db.write(run)

    async def list_conversations(
        self, channel: Channel | None, before: tuple[float, str] | None, limit: int
    ) -> list[Conversation]:
        t, i = before if before else (float("inf"), TOP)
        sql = "SELECT doc FROM conversations WHERE (update_time < ? OR (update_time = ? AND id < ?))"
        params: list[Any] = [t, t, i]
        if channel:
            sql += " AND channel = ?"
            params.append(channel.value)
        sql += " ORDER BY update_time DESC, id DESC LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, (*params, limit)).fetchall())
        return [conversation_from_dict(json.loads(r[0])) for r in rows]

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        r = await self._db.read(
            lambda c: c.execute("SELECT doc FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        )
        return conversation_from_dict(json.loads(r[0])) if r else None

    async def add_voice_call(self, call: VoiceCall) -> bool:
        return (
            await self._db.write(
                lambda c: (
                    c.execute(
                        "INSERT OR IGNORE INTO voice_calls (id, call_id, event, customer, time, doc)"
                        " VALUES (?,?,?,?,?,?)",
                        (call.id, call.call_id, call.event, call.customer, call.time, dumps(voice_call_to_dict(call))),
                    ).rowcount
                )
            )
            == 1
        )

    async def list_voice_calls(self, customer: str, before: tuple[float, str] | None, limit: int) -> list[VoiceCall]:
        t, i = before if before else (float("inf"), TOP)
        sql = "SELECT doc FROM voice_calls WHERE (time < ? OR (time = ? AND id < ?))"
        params: list[Any] = [t, t, i]
        if customer:
            sql += " AND customer = ?"
            params.append(customer)
        sql += " ORDER BY time DESC, id DESC LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, (*params, limit)).fetchall())
        return [voice_call_from_dict(json.loads(r[0])) for r in rows]

    # The writes of one SQLite file are serialised, so seq (AUTOINCREMENT: never reused after a trim) grows in
    # commit order: a poller that read up to n never misses a change committed later.
    async def commit_event(self, sns_message_id: str, changes: list[Change], now: float) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            fresh = conn.execute(
                "INSERT OR IGNORE INTO sns_events (message_id, time) VALUES (?, ?)", (sns_message_id, now)
            ).rowcount
            if not fresh:
                return False
            for change in changes:
                r = conn.execute(
                    "INSERT OR IGNORE INTO changes (key, kind, conversation, time, written, doc) VALUES (?,?,?,?,?,?)"
                    " RETURNING seq",
                    (change.key, change.kind, change.conversation_id, change.time, now, dumps(change.record)),
                ).fetchone()
                if r is not None and r[0] % CHANGES_TRIM_EVERY == 0:
                    conn.execute("DELETE FROM changes WHERE written < ?", (now - CHANGES_KEPT_SECONDS,))
            return True

        return await self._db.write(run)

    async def changes_after(self, seq: int, limit: int) -> list[Change]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT seq, key, kind, conversation, time, doc FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        )
        return [Change(r[1], r[2], r[3], r[4], json.loads(r[5]), seq=r[0]) for r in rows]

    async def last_change_seq(self) -> int:
        r = await self._db.read(lambda c: c.execute("SELECT max(seq) FROM changes").fetchone())
        return int(r[0] or 0)

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
