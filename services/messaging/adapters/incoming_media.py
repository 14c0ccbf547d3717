"""Where a customer's media landed in the bucket. GetWhatsAppMessageMedia takes a key PREFIX and AWS appends
the media id and an extension it chooses, so the object is found by listing `<prefix><media id>`: the copy's
own answer does not name it. aiobotocore (S3; moto locally)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from runtime.aws import AwsClients


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int  # bytes


class IncomingMedia(Protocol):
    async def find(self, media_id: str) -> StoredObject | None: ...


class S3IncomingMedia:
    def __init__(self, aws: AwsClients, bucket: str, prefix: str):
        self._aws = aws
        self.bucket = bucket
        self.prefix = prefix

    async def find(self, media_id: str) -> StoredObject | None:
        if not media_id or "/" in media_id:
            return None
        s3 = await self._aws.client("s3")
        base = self.prefix + media_id
        reply = await s3.list_objects_v2(Bucket=self.bucket, Prefix=base, MaxKeys=20)
        for item in reply.get("Contents", []):
            key = item["Key"]
            # `<prefix><id>.jpg` or `<prefix><id>`; not `<prefix><id>5.jpg`, which is another media id's.
            if key == base or key.startswith(base + "."):
                return StoredObject(key, int(item.get("Size", 0)))
        return None
