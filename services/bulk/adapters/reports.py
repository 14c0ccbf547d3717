"""Job reports in the media bucket under `base-wecare-digital/reports/<job id>.json` (docs/DESIGN.md "Bulk report"),
written as a stream with an S3 multipart upload (aiobotocore): the writer holds at most one part in memory,
so a report of a million recipients takes the memory of a few megabytes. Read back through pre-signed URLs."""

from __future__ import annotations

import logging
from types import TracebackType

from runtime.aws import AwsClients

log = logging.getLogger("wecare.bulk.reports")
PART_BYTES = 8 * 1024 * 1024  # S3 takes parts of at least 5 MiB (bar the last)


class ReportUpload:
    """An open multipart upload: write() bytes in order; leaving the `async with` completes it, an error
    aborts it (no partial report is ever visible)."""

    def __init__(self, s3, bucket: str, key: str, part_bytes: int):
        self._s3 = s3
        self._bucket = bucket
        self.key = key
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._parts: list[dict] = []
        self._upload_id = ""
        self.size = 0

    async def __aenter__(self) -> ReportUpload:
        reply = await self._s3.create_multipart_upload(
            Bucket=self._bucket, Key=self.key, ContentType="application/json"
        )
        self._upload_id = reply["UploadId"]
        return self

    async def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= self._part_bytes:
            await self._flush()

    async def _flush(self) -> None:
        number = len(self._parts) + 1
        reply = await self._s3.upload_part(
            Bucket=self._bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=bytes(self._buffer)
        )
        self._parts.append({"PartNumber": number, "ETag": reply["ETag"]})
        self._buffer = bytearray()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None:
            if self._buffer or not self._parts:
                await self._flush()
            await self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
            return
        try:
            await self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id)
        except Exception:
            log.exception("abort of a report upload failed", extra={"key": self.key})


class ReportBucket:
    def __init__(self, aws: AwsClients, bucket: str, prefix: str, url_ttl: int, part_bytes: int = PART_BYTES):
        self._aws = aws
        self.bucket = bucket
        self.prefix = prefix
        self._url_ttl = url_ttl
        self._part_bytes = part_bytes

    def key(self, job_id: str) -> str:
        return f"{self.prefix}{job_id}.json"

    async def upload(self, key: str) -> ReportUpload:
        return ReportUpload(await self._aws.client("s3"), self.bucket, key, self._part_bytes)

    async def url(self, key: str) -> str:
        s3 = await self._aws.client("s3")
        return await s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self._url_ttl
        )
