"""FormsTable on the embedded SQLite engine.

`forms` holds each form with its version (replace and delete are conditional on it); `invitations` one row per
flow token (request_id unique); `responses` one row per flow token (the primary key: one answer an invitation)
with the reply's wamid unique, and indexes for the responses of a form, a contact and a job, in id order."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from runtime.errors import Aborted, AlreadyExists, NotFound
from runtime.sqlite import SqliteDatabase
from services.commerce.adapters.form_codec import (
    form_document,
    form_from,
    invitation_document,
    invitation_from,
    response_document,
    response_from,
)
from services.commerce.domain.forms import Form
from services.commerce.domain.invitations import Invitation
from services.commerce.domain.responses import ContactSync, Response

SCHEMA = """
CREATE TABLE IF NOT EXISTS forms (
  id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invitations (
  token TEXT PRIMARY KEY,
  request_id TEXT UNIQUE,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (
  token TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  reply_wamid TEXT NOT NULL UNIQUE,
  form_id TEXT NOT NULL,
  contact TEXT NOT NULL,
  job TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_by_form ON responses(form_id, id);
CREATE INDEX IF NOT EXISTS responses_by_contact ON responses(contact, id);
CREATE INDEX IF NOT EXISTS responses_by_job ON responses(job, id);
"""


def _json(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class SqliteFormStore:
    def __init__(self, path: Path):
        self._db = SqliteDatabase(path, SCHEMA)

    # -- forms ------------------------------------------------------------------------------------------------

    async def create_form(self, form: Form) -> None:
        try:
            await self._db.write(
                lambda c: c.execute(
                    "INSERT INTO forms (id, version, doc) VALUES (?,?,?)",
                    (form.id, form.version, _json(form_document(form))),
                )
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"{form.name} already exists", reason="FORM_EXISTS") from None

    async def get_form(self, form_id: str) -> Form | None:
        row = self._db.read_point(lambda c: c.execute("SELECT doc FROM forms WHERE id = ?", (form_id,)).fetchone())
        return form_from(json.loads(row[0])) if row else None

    async def list_forms(self, after_id: str | None, limit: int) -> list[Form]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT doc FROM forms WHERE id > ? ORDER BY id LIMIT ?", (after_id or "", limit)
            ).fetchall()
        )
        return [form_from(json.loads(r[0])) for r in rows]

    async def replace_form(self, form: Form, expected_version: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT version FROM forms WHERE id = ?", (form.id,)).fetchone()
            if row is None:
                raise NotFound(f"{form.name} does not exist")
            if row[0] != expected_version:
                raise Aborted(f"{form.name} changed meanwhile; read it again", reason="VERSION_MISMATCH")
            conn.execute(
                "UPDATE forms SET version = ?, doc = ? WHERE id = ?",
                (form.version, _json(form_document(form)), form.id),
            )

        await self._db.write(run)

    async def delete_form(self, form_id: str, expected_version: int) -> Form | None:
        def run(conn: sqlite3.Connection) -> Form | None:
            row = conn.execute("SELECT version, doc FROM forms WHERE id = ?", (form_id,)).fetchone()
            if row is None:
                return None
            if row[0] != expected_version:
                raise Aborted(f"forms/{form_id} changed meanwhile; read it again", reason="VERSION_MISMATCH")
            conn.execute("DELETE FROM forms WHERE id = ?", (form_id,))
            return form_from(json.loads(row[1]))

        return await self._db.write(run)

    # -- invitations ------------------------------------------------------------------------------------------

    async def create_invitations(self, invitations: list[Invitation]) -> list[Invitation]:
        def run(conn: sqlite3.Connection) -> list[Invitation]:
            out = []
            for invitation in invitations:
                if invitation.request_id:
                    found = conn.execute(
                        "SELECT doc FROM invitations WHERE request_id = ?", (invitation.request_id,)
                    ).fetchone()
                    if found:
                        out.append(invitation_from(json.loads(found[0])))
                        continue
                conn.execute(
                    "INSERT INTO invitations (token, request_id, doc) VALUES (?,?,?)",
                    (invitation.token, invitation.request_id or None, _json(invitation_document(invitation))),
                )
                out.append(invitation)
            return out

        try:
            return await self._db.write(run)
        except sqlite3.IntegrityError:  # 128 random bits: a taken token is next to impossible
            raise AlreadyExists("an invitation already has this flow token", reason="TOKEN_TAKEN") from None

    async def get_invitation(self, token: str) -> Invitation | None:
        row = self._db.read_point(
            lambda c: c.execute("SELECT doc FROM invitations WHERE token = ?", (token,)).fetchone()
        )
        return invitation_from(json.loads(row[0])) if row else None

    async def set_invitation_message(self, token: str, message_id: str) -> Invitation | None:
        def run(conn: sqlite3.Connection) -> Invitation | None:
            row = conn.execute("SELECT doc FROM invitations WHERE token = ?", (token,)).fetchone()
            if row is None:
                return None
            doc = json.loads(row[0])
            if not doc.get("message"):
                doc["message"] = message_id
                conn.execute("UPDATE invitations SET doc = ? WHERE token = ?", (_json(doc), token))
            return invitation_from(doc)

        return await self._db.write(run)

    # -- responses --------------------------------------------------------------------------------------------

    async def record_response(self, response: Response) -> tuple[Response, bool]:
        def run(conn: sqlite3.Connection) -> tuple[Response, bool]:
            found = conn.execute(
                "SELECT doc FROM responses WHERE token = ? OR reply_wamid = ? ORDER BY token = ? DESC LIMIT 1",
                (response.token, response.reply_wamid, response.token),
            ).fetchone()
            if found:
                return response_from(json.loads(found[0])), False
            conn.execute(
                "INSERT INTO responses (token, id, reply_wamid, form_id, contact, job, doc) VALUES (?,?,?,?,?,?,?)",
                (
                    response.token,
                    response.id,
                    response.reply_wamid,
                    response.form_id,
                    response.contact,
                    response.job,
                    _json(response_document(response)),
                ),
            )
            row = conn.execute("SELECT doc FROM invitations WHERE token = ?", (response.token,)).fetchone()
            if row is None:
                raise NotFound(f"no invitation has the flow token {response.token}")
            doc = json.loads(row[0])
            doc["response_id"] = response.id
            conn.execute("UPDATE invitations SET doc = ? WHERE token = ?", (_json(doc), response.token))
            return response, True

        return await self._db.write(run)

    async def get_response(self, token: str) -> Response | None:
        row = self._db.read_point(lambda c: c.execute("SELECT doc FROM responses WHERE token = ?", (token,)).fetchone())
        return response_from(json.loads(row[0])) if row else None

    async def set_contact_sync(self, token: str, sync: ContactSync, error: str = "") -> None:
        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT doc FROM responses WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise NotFound(f"no response to the invitation {token}")
            doc = json.loads(row[0])
            doc["contact_sync"] = sync.value
            doc["contact_sync_error"] = error
            conn.execute("UPDATE responses SET doc = ? WHERE token = ?", (_json(doc), token))

        await self._db.write(run)

    async def responses_of_form(self, form_id: str, after: str | None, limit: int) -> list[Response]:
        return await self._responses("form_id", form_id, after, limit)

    async def responses_of_contact(self, contact_id: str, after: str | None, limit: int) -> list[Response]:
        return await self._responses("contact", contact_id, after, limit)

    async def responses_of_job(self, job_id: str, after: str | None, limit: int) -> list[Response]:
        return await self._responses("job", job_id, after, limit)

    async def _responses(self, column: str, value: str, after: str | None, limit: int) -> list[Response]:
        if not value or limit <= 0:
            return []
        rows = await self._db.read(
            lambda c: c.execute(
                f"SELECT doc FROM responses WHERE {column} = ? AND id > ? ORDER BY id LIMIT ?",
                (value, after or "", limit),
            ).fetchall()
        )
        return [response_from(json.loads(r[0])) for r in rows]

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        self._db.close()
