"""SendQueue on SQLite: the dispatcher's queue (a partial index of queued messages per sender by lane, then due
time), hand-off marks and call results written in groups (one transaction each), the in-doubt scan, putting a
message back in the queue (an outbound-dlq replay), what the pre-call checks decide (held until later, refused),
and a LIMITED message's link to its re-attempt. The dispatcher's writes (hand-off marks, results, unknown,
deferred, refused) are URGENT on the database's writer: a provider call waits on them, and a big acceptance
(SendMessages fan-out) must not hold them up."""

from __future__ import annotations

import sqlite3

from runtime.sqlite import URGENT, SqliteDatabase
from services.messaging.adapters.codec import dumps
from services.messaging.adapters.sqlite_store.outbound_table import SELECT, adopt_orphans, by_ids, message_of, orphaned
from services.messaging.adapters.sqlite_store.table import chunks, marks
from services.messaging.domain.model import MessageError, OutboundMessage, SendResult, Status


class SqliteSendQueue:
    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def queued(
        self, origination: str, now: float, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[OutboundMessage]:
        def run(conn: sqlite3.Connection) -> list[OutboundMessage]:
            rows = conn.execute(
                f"{SELECT} WHERE origination = ? AND status = 'ACCEPTED' AND handoff_time IS NULL"
                " AND due_time <= ? ORDER BY lane, due_time, seq LIMIT ?",
                (origination, now, limit),
            ).fetchall()
            return [message_of(r) for r in rows if r["id"] not in exclude]

        return await self._db.read(run)

    async def hand_off(self, message_ids: list[str], now: float) -> list[str]:
        def run(conn: sqlite3.Connection) -> list[str]:
            marked: list[str] = []
            for part in chunks(message_ids):
                marked += [
                    r[0]
                    for r in conn.execute(
                        "UPDATE outbound SET handoff_time = ?, attempts = attempts + 1, update_time = ?"
                        f" WHERE id IN ({marks(len(part))}) AND status = 'ACCEPTED' AND handoff_time IS NULL"
                        " RETURNING id",
                        (now, now, *part),
                    )
                ]
            return marked

        return await self._db.write(run, URGENT) if message_ids else []

    async def record_results(self, results: list[SendResult], fetch: bool = True) -> list[OutboundMessage]:
        def run(conn: sqlite3.Connection) -> list[OutboundMessage]:
            plain: list[tuple] = []  # a run of sent results that add no extras: one executemany, in order
            sent_with_ids: list[str] = []
            for r in results:
                if r.outcome == "sent" and not r.extra:
                    plain.append((r.provider_message_id or None, r.time, r.time, r.time, r.message_id))
                else:
                    _sent(conn, plain)
                    plain = []
                    _record(conn, r)
                if r.outcome == "sent" and r.provider_message_id:
                    sent_with_ids.append(r.provider_message_id)
            _sent(conn, plain)
            for provider_id in orphaned(conn, sent_with_ids):
                adopt_orphans(conn, provider_id)
            return by_ids(conn, [r.message_id for r in results]) if fetch else []

        return await self._db.write(run, URGENT) if results else []

    async def in_doubt(self, handed_off_before: float, limit: int) -> list[OutboundMessage]:
        rows = await self._db.read(
            lambda c: c.execute(
                f"{SELECT} WHERE status = 'ACCEPTED' AND handoff_time IS NOT NULL AND handoff_time < ?"
                " ORDER BY handoff_time LIMIT ?",
                (handed_off_before, limit),
            ).fetchall()
        )
        return [message_of(r) for r in rows]

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
            for part in chunks(message_ids):
                changed += [
                    r[0]
                    for r in conn.execute(
                        "UPDATE outbound SET status = 'UNKNOWN', error = ?, update_time = ?"
                        f" WHERE id IN ({marks(len(part))}) AND status = 'ACCEPTED' AND handoff_time IS NOT NULL"
                        " RETURNING id",
                        (error, now, *part),
                    )
                ]
            return changed

        return await self._db.write(run, URGENT) if message_ids else []

    async def requeue(self, message_id: str, now: float) -> OutboundMessage | None:
        def run(conn: sqlite3.Connection) -> OutboundMessage | None:
            r = conn.execute(
                "UPDATE outbound SET status = 'ACCEPTED', handoff_time = NULL, due_time = ?, attempts = 0,"
                " error = NULL, dead_letter = 0, update_time = ?"
                " WHERE id = ? AND status = 'FAILED' AND provider_id IS NULL AND send_time IS NULL RETURNING id",
                (now, now, message_id),
            ).fetchone()
            return by_ids(conn, [r[0]])[0] if r else None

        return await self._db.write(run)

    async def defer(self, held: list[tuple[str, float, MessageError]], now: float) -> list[str]:
        def run(conn: sqlite3.Connection) -> list[str]:
            return [
                message_id
                for message_id, due, why in held
                if conn.execute(
                    "UPDATE outbound SET due_time = ?, error = ?, update_time = ?"
                    " WHERE id = ? AND status = 'ACCEPTED' AND handoff_time IS NULL",
                    (due, dumps(why.to_dict()), now, message_id),
                ).rowcount
            ]

        return await self._db.write(run, URGENT) if held else []

    async def refuse(self, refused: list[tuple[str, MessageError, Status]], now: float) -> list[str]:
        def run(conn: sqlite3.Connection) -> list[str]:
            return [
                message_id
                for message_id, why, status in refused
                if conn.execute(
                    "UPDATE outbound SET status = ?, error = ?, update_time = ?"
                    " WHERE id = ? AND status = 'ACCEPTED' AND handoff_time IS NULL",
                    (status.value, dumps(why.to_dict()), now, message_id),
                ).rowcount
            ]

        return await self._db.write(run, URGENT) if refused else []

    async def link_reattempt(
        self, message_id: str, reattempt_id: str, reattempt_key: str, due: float, now: float
    ) -> OutboundMessage | None:
        def run(conn: sqlite3.Connection) -> OutboundMessage | None:
            r = conn.execute(
                "UPDATE outbound SET update_time = ?, doc = json_set(doc, '$.extra.reattempt', ?,"
                " '$.extra.reattempt_key', ?, '$.extra.reattempt_due', ?) WHERE id = ? AND status = 'LIMITED'"
                " RETURNING id",
                (now, reattempt_id, reattempt_key, due, message_id),
            ).fetchone()
            return by_ids(conn, [r[0]])[0] if r else None

        return await self._db.write(run)


SENT = (
    "UPDATE outbound SET"
    " status = CASE WHEN status IN ('ACCEPTED', 'UNKNOWN') THEN 'SENT' ELSE status END,"
    " provider_id = COALESCE(provider_id, ?), send_time = COALESCE(send_time, ?),"
    " handoff_time = COALESCE(handoff_time, ?), error = NULL, update_time = ?{patch}"
    " WHERE id = ? AND status NOT IN ('FAILED', 'WITHDRAWN', 'LIMITED')"
)


def _sent(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Sent results that add no extras, one statement for all (most of a group: a send adds none)."""
    if rows:
        conn.executemany(SENT.format(patch=""), rows)


def _record(conn: sqlite3.Connection, r: SendResult) -> None:
    error = dumps(r.error.to_dict()) if r.error else None
    if r.outcome == "sent":
        # The document is rewritten only when the result adds to its extras.
        patch = ", doc = json_set(doc, '$.extra', json_patch(json_extract(doc, '$.extra'), json(?)))"
        params = (r.provider_message_id or None, r.time, r.time, r.time, dumps(r.extra), r.message_id)
        conn.execute(SENT.format(patch=patch), params)
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
    elif r.outcome == "withdrawn":  # stopped at its call (a hold): never called
        conn.execute(
            "UPDATE outbound SET status = 'WITHDRAWN', error = ?, update_time = ?"
            " WHERE id = ? AND status = 'ACCEPTED' AND handoff_time IS NOT NULL",
            (error, r.time, r.message_id),
        )
    else:
        raise ValueError(f"unknown send outcome {r.outcome!r}")
