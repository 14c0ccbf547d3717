"""MediaIdStore on DynamoDB: the media ids an outgoing object got when it was registered with a phone, an item per
(phone, object) until it expires (Meta keeps them 30 days)."""

from __future__ import annotations

from services.messaging.adapters.dynamodb_store.table import DynamoTable, key, s


class DynamoMediaIdStore:
    def __init__(self, table: DynamoTable):
        self._t = table

    async def media_id(self, origination: str, media_key: str, now: float) -> str | None:
        item = await self._t.get(f"media#{origination}", media_key)
        if item is None or float(item["expires_at"]["N"]) <= now:
            return None
        return item["media_id"]["S"]

    async def put_media_id(self, origination: str, media_key: str, media_id: str, expires_at: float) -> None:
        db = await self._t.db()
        await db.put_item(
            TableName=self._t.name,
            Item={
                **key(f"media#{origination}", media_key),
                "media_id": s(media_id),
                "expires_at": {"N": repr(expires_at)},
            },
        )
