"""WhatsAppInboundTable on SQLite: the schema every inbound store module shares, and a conversation touched
(read, merged in the domain's way, written back) inside whichever transaction touches it."""

from __future__ import annotations

import json
import sqlite3

from services.messaging.adapters.codec import (
    conversation_from_dict,
    conversation_to_dict,
    dumps,
    merge_conversation,
)
from services.messaging.domain.model import Conversation

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


def touch(conn: sqlite3.Connection, new: Conversation) -> None:
    r = conn.execute("SELECT doc FROM conversations WHERE id = ?", (new.id,)).fetchone()
    merged = merge_conversation(conversation_from_dict(json.loads(r[0])) if r else None, new)
    conn.execute(
        "INSERT OR REPLACE INTO conversations (id, channel, update_time, doc) VALUES (?,?,?,?)",
        (merged.id, merged.channel.value, merged.update_time, dumps(conversation_to_dict(merged))),
    )
