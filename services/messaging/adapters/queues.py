"""messaging's SQS queues (outbound-dlq, inbound-dlq, whatsapp-inbound-dlq; whatsapp-inbound, the topic's queue):
send with the reason, peek, receive (long polling where asked) and delete, through aiobotocore. Queue URLs are
looked up once by name."""

from __future__ import annotations

import json
from typing import Any

from runtime.aws import AwsClients


class SqsQueue:
    def __init__(self, aws: AwsClients, name: str):
        self._aws = aws
        self.name = name
        self._url = ""

    async def _client(self):
        return await self._aws.client("sqs")

    async def url(self) -> str:
        if not self._url:
            reply = await (await self._client()).get_queue_url(QueueName=self.name)
            self._url = reply["QueueUrl"]
        return self._url

    async def send_batch(self, bodies: list[tuple[str, dict[str, Any], str]]) -> list[str]:
        """(entry id, body, reason) each; at most 10. Returns the entry ids that failed."""
        sqs = await self._client()
        reply = await sqs.send_message_batch(
            QueueUrl=await self.url(),
            Entries=[
                {
                    "Id": entry_id,
                    "MessageBody": json.dumps(body, separators=(",", ":")),
                    "MessageAttributes": {"reason": {"DataType": "String", "StringValue": reason[:256] or "unknown"}},
                }
                for entry_id, body, reason in bodies
            ],
        )
        return [f["Id"] for f in reply.get("Failed", [])]

    async def receive(
        self, max_count: int = 10, visibility_timeout: int | None = 30, wait_seconds: int = 0
    ) -> list[dict[str, Any]]:
        """Up to 10 messages; visibility_timeout None keeps the queue's own; wait_seconds > 0 long-polls."""
        sqs = await self._client()
        request: dict[str, Any] = {
            "QueueUrl": await self.url(),
            "MaxNumberOfMessages": min(10, max_count),
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["All"],
            "WaitTimeSeconds": wait_seconds,
        }
        if visibility_timeout is not None:
            request["VisibilityTimeout"] = visibility_timeout
        reply = await sqs.receive_message(**request)
        return reply.get("Messages", [])

    async def release(self, receipt_handles: list[str]) -> None:
        """Makes received messages visible again at once (a peek or a dry run leaves the queue as it was)."""
        sqs = await self._client()
        for i in range(0, len(receipt_handles), 10):
            part = receipt_handles[i : i + 10]
            await sqs.change_message_visibility_batch(
                QueueUrl=await self.url(),
                Entries=[{"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0} for n, h in enumerate(part)],
            )

    async def delete(self, receipt_handle: str) -> None:
        await (await self._client()).delete_message(QueueUrl=await self.url(), ReceiptHandle=receipt_handle)

    async def delete_batch(self, receipt_handles: list[str]) -> int:
        """DeleteMessageBatch, 10 at a time; how many were deleted (a failed one comes back, a duplicate)."""
        sqs = await self._client()
        deleted = 0
        for i in range(0, len(receipt_handles), 10):
            part = receipt_handles[i : i + 10]
            reply = await sqs.delete_message_batch(
                QueueUrl=await self.url(),
                Entries=[{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(part)],
            )
            deleted += len(reply.get("Successful", []))
        return deleted

    async def approximate_count(self) -> int:
        reply = await (await self._client()).get_queue_attributes(
            QueueUrl=await self.url(), AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(reply["Attributes"].get("ApproximateNumberOfMessages", 0))
