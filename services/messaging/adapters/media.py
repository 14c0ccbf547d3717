"""The media bucket's two messaging prefixes on S3: pre-signed PUT URLs into the outgoing prefix for the
frontend's uploads, pre-signed GET URLs for reading, and deletion with a message."""

from __future__ import annotations

import mimetypes
import re
import time

from runtime import ids
from runtime.aws import AwsClients
from services.messaging.domain.rules import INCOMING_PREFIX, OUTGOING_PREFIX

SAFE = re.compile(r"[^A-Za-z0-9._-]+")
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "text/plain": ".txt",
    "video/3gpp": ".3gp",
}


def outgoing_key(mime_type: str, filename: str = "") -> str:
    """`whatsapp-media/whatsapp-media-outgoing/<id><ext>` (the file name is kept, made safe, for documents)."""
    ext = EXTENSIONS.get(mime_type) or mimetypes.guess_extension(mime_type) or ""
    stem = SAFE.sub("-", filename.rsplit(".", 1)[0])[:80].strip("-") if filename else ""
    return f"{OUTGOING_PREFIX}{ids.new_id()}{'-' + stem if stem else ''}{ext}"


class MediaBucket:
    def __init__(self, aws: AwsClients, bucket: str, url_ttl: int):
        self._aws = aws
        self.bucket = bucket
        self.url_ttl = url_ttl

    async def upload_url(self, key: str, mime_type: str, size: int) -> tuple[str, dict[str, str], float]:
        s3 = await self._aws.client("s3")
        url = await s3.generate_presigned_url(
            "put_object",
            # Both signed: a PUT of another type or another size than the one checked is refused by S3.
            Params={"Bucket": self.bucket, "Key": key, "ContentType": mime_type, "ContentLength": size},
            ExpiresIn=self.url_ttl,
        )
        return url, {"Content-Type": mime_type, "Content-Length": str(size)}, time.time() + self.url_ttl

    async def download_url(self, key: str) -> str:
        if not key.startswith((OUTGOING_PREFIX, INCOMING_PREFIX)):
            return ""
        s3 = await self._aws.client("s3")
        return await s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.url_ttl
        )

    async def delete(self, key: str) -> None:
        if key.startswith((OUTGOING_PREFIX, INCOMING_PREFIX)):
            s3 = await self._aws.client("s3")
            await s3.delete_object(Bucket=self.bucket, Key=key)
