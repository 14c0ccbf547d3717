"""TemplateStore on SQLite: the WhatsApp template catalogue, a row per template keyed `name.language`, replaced
per WABA by a sync, written one at a time by the lifecycle (created, updated, moved by Meta's events, deleted)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from runtime.sqlite import SqliteDatabase
from services.messaging.adapters.codec import dumps, template_from_dict, template_to_dict
from services.messaging.domain.model import Template


class SqliteTemplateStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

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

    async def put_template(self, template: Template) -> None:
        t = template
        await self._db.write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO templates (key, waba, template_name, language, doc) VALUES (?,?,?,?,?)",
                (t.key, t.waba, t.template_name, t.language, dumps(template_to_dict(t))),
            )
        )

    async def delete_template(self, template_name: str, language: str) -> Template | None:
        def run(conn: sqlite3.Connection) -> Template | None:
            r = conn.execute(
                "DELETE FROM templates WHERE key = ? RETURNING doc", (f"{template_name}.{language}",)
            ).fetchone()
            return template_from_dict(json.loads(r[0])) if r else None

        return await self._db.write(run)
