"""Media for outbound messages: an upload URL into the media bucket's outgoing prefix (CreateMediaUpload), given
only for what WhatsApp's media limits allow (kind, type, size); the URL signs the type and the size."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.errors import FieldViolation, InvalidArgument
from services.messaging.adapters.media import MediaBucket, outgoing_key
from services.messaging.domain import rules


@dataclass(frozen=True)
class Upload:
    media_key: str
    url: str
    headers: dict[str, str]
    expire_time: float


class MediaUploads:
    def __init__(self, bucket: MediaBucket):
        self._bucket = bucket

    async def create(self, kind: str, mime_type: str, size_bytes: int, filename: str) -> Upload:
        """`kind` as the proto names it (MEDIA_KIND_IMAGE, ...); INVALID_ARGUMENT naming each field it breaks."""
        bad: list = []
        body = {
            "kind": kind,
            "mime_type": mime_type,
            "size_bytes": size_bytes,
            "media_key": rules.OUTGOING_PREFIX + "x",
        }
        rules.media(bad, "", body, outgoing=True)
        if bad:
            raise InvalidArgument([FieldViolation(v.field.lstrip("."), v.description) for v in bad])
        key = outgoing_key(mime_type, filename)
        url, headers, expires = await self._bucket.upload_url(key, mime_type, size_bytes)
        return Upload(key, url, headers, expires)
