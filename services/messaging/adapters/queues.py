"""messaging's SQS dead-letter queues (outbound-dlq, inbound-dlq, whatsapp-inbound-dlq): send with the reason,
peek, receive and delete, through aiobotocore. Queue URLs are looked up once by name."""

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

    async def receive(self, max_count: int = 10, visibility_timeout: int = 30) -> list[dict[str, Any]]:
        sqs = await self._client()
        reply = await sqs.receive_message(
            QueueUrl=await self.url(),
            MaxNumberOfMessages=min(10, max_count),
            VisibilityTimeout=visibility_timeout,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
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

    async def approximate_count(self) -> int:
        reply = await (await self._client()).get_queue_attributes(
            QueueUrl=await self.url(), AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(reply["Attributes"].get("ApproximateNumberOfMessages", 0))
