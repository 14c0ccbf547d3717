"""WhatsAppOutboundTable on SQLite: the schema every outbound store module shares, an outbound message as a row,
and applying a status event to a row (by ingest, and by a send result that brings a provider id some status
events were waiting for).

The mutable and queried parts of a message are columns (status, hand-off mark, times, keys) so that every hot
write is a plain UPDATE; the rest is one JSON document. Partial indexes serve the send queue (queued messages per
sender by lane, then due time), the in-doubt scan and the dead-letter outbox. The coordination document, the template
catalogue, registered media ids, suppressions, the tier's ledger and counted customers, the marketing cap and the pair
log are tables of their own in the same file."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from services.messaging.adapters.codec import dumps, status_event_from_dict
from services.messaging.adapters.sqlite_store.table import chunks, marks
from services.messaging.domain.model import (
    TERMINAL,
    Category,
    Channel,
    Lane,
    MessageError,
    OutboundMessage,
    Status,
    StatusEvent,
    advances,
    as_applied,
)

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
DROP INDEX IF EXISTS outbound_queue;
CREATE INDEX IF NOT EXISTS outbound_queue_due ON outbound(origination, lane, due_time, seq)
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
CREATE TABLE IF NOT EXISTS holds (
  kind TEXT NOT NULL, subject TEXT NOT NULL, time REAL NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY (kind, subject, time)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS holds_time ON holds(time);
CREATE TABLE IF NOT EXISTS sender_marks (
  key TEXT PRIMARY KEY, paused_until REAL NOT NULL DEFAULT 0, slow_seen REAL NOT NULL DEFAULT 0
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
CREATE TABLE IF NOT EXISTS tier_ledger (
  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tier_counted (
  recipient TEXT PRIMARY KEY, bucket INTEGER NOT NULL, until REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tier_counted_until ON tier_counted(until);
CREATE TABLE IF NOT EXISTS marketing_sent (
  recipient TEXT NOT NULL, message_id TEXT NOT NULL, time REAL NOT NULL, PRIMARY KEY (recipient, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pair_log (sender TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
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


def row_of(m: OutboundMessage) -> tuple:
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


def message_of(r: sqlite3.Row) -> OutboundMessage:
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


def by_ids(conn: sqlite3.Connection, ids: list[str]) -> list[OutboundMessage]:
    found: dict[str, OutboundMessage] = {}
    for part in chunks(ids):
        for r in conn.execute(f"{SELECT} WHERE id IN ({marks(len(part))})", part):
            found[r["id"]] = message_of(r)
    return [found[i] for i in ids if i in found]


def apply_event(conn: sqlite3.Connection, m: OutboundMessage, event: StatusEvent) -> bool:
    """Applies a status event to a message's row (forward only); whether its status moved."""
    event = as_applied(m, event)
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
        if event.status in TERMINAL:
            sets.append("error = ?")
            params.append(dumps((event.error or MessageError("FAILED")).to_dict()))
        elif m.status == Status.UNKNOWN or m.error:
            sets.append("error = NULL")  # reconciled: the in-doubt note no longer holds
    conn.execute(f"UPDATE outbound SET {', '.join(sets)} WHERE id = ?", (*params, m.id))
    return moves


def orphaned(conn: sqlite3.Connection, provider_ids: list[str]) -> list[str]:
    """Which of these provider ids have status events waiting for their message: one lookup a chunk, not one a
    send (almost always none)."""
    found: set[str] = set()
    for part in chunks(provider_ids):
        sql = f"SELECT DISTINCT key FROM orphan_status WHERE key IN ({marks(len(part))})"
        found.update(r[0] for r in conn.execute(sql, part))
    return [p for p in provider_ids if p in found]


def adopt_orphans(conn: sqlite3.Connection, provider_id: str) -> None:
    """Status events that came before their message had this provider id are applied to it now, in order."""
    rows = conn.execute("SELECT status, doc FROM orphan_status WHERE key = ?", (provider_id,)).fetchall()
    if not rows:
        return
    target = conn.execute(f"{SELECT} WHERE provider_id = ?", (provider_id,)).fetchone()
    if target is None:
        return
    for r in sorted(rows, key=lambda r: json.loads(r["doc"])["time"]):
        current = by_ids(conn, [target["id"]])[0]
        apply_event(conn, current, status_event_from_dict(json.loads(r["doc"])))
    conn.execute("DELETE FROM orphan_status WHERE key = ?", (provider_id,))
