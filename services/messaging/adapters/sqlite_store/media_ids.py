"""MediaIdStore on SQLite: the media ids an outgoing object got when it was registered with a phone, until they
expire (Meta keeps them 30 days)."""

from __future__ import annotations

from runtime.sqlite import SqliteDatabase


class SqliteMediaIdStore:
    def __init__(self, db: SqliteDatabase):
        self._db = db

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
