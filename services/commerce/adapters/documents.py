"""Invoice PDFs in the media bucket, under the outgoing prefix (where messaging sends media from):
`<outgoing prefix>invoices/<invoice id>.pdf`, written once an invoice is issued (an issued invoice never changes,
so a second write is the same bytes), read through expiring pre-signed GET URLs."""

from __future__ import annotations

from botocore.exceptions import ClientError

from runtime.aws import AwsClients

PDF = "application/pdf"


class InvoiceDocuments:
    def __init__(self, aws: AwsClients, bucket: str, outgoing_prefix: str, url_ttl: int):
        self._aws = aws
        self.bucket = bucket
        self._prefix = outgoing_prefix
        self.url_ttl = url_ttl

    def key_of(self, invoice_id: str) -> str:
        return f"{self._prefix}invoices/{invoice_id}.pdf"

    async def put(self, invoice_id: str, pdf: bytes, filename: str) -> str:
        s3 = await self._aws.client("s3")
        key = self.key_of(invoice_id)
        await s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=pdf,
            ContentType=PDF,
            ContentDisposition=f'inline; filename="{filename}"',
        )
        return key

    async def size(self, invoice_id: str) -> int | None:
        """The stored PDF's size in bytes, or None when it is not there (yet)."""
        s3 = await self._aws.client("s3")
        try:
            head = await s3.head_object(Bucket=self.bucket, Key=self.key_of(invoice_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    async def url(self, invoice_id: str) -> str:
        s3 = await self._aws.client("s3")
        return await s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key_of(invoice_id)}, ExpiresIn=self.url_ttl
        )
