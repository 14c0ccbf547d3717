"""bulk-queue and bulk-dlq on SQS (aiobotocore): chunks to work, one small message a chunk (its job and number:
the recipients stay in BulkJobChunksTable, so the queue carries little and moto's ~100 messages/s in and ~33/s
out go a long way), their visibility extended while a worker works one, and dead letters with their reason.

bulk-queue redrives to bulk-dlq after its receive limit (localrun.bootstrap, the deployment's template); a worker
that gives up on a chunk before that moves it itself, with the reason, so every dead letter says why."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from runtime.aws import AwsClients

log = logging.getLogger("wecare.bulk.queue")
BATCH = 10  # SQS takes at most 10 messages a call


@dataclass(frozen=True)
class ChunkRef:
    job_id: str
    seq: int

    def body(self) -> str:
        return json.dumps({"job": self.job_id, "chunk": self.seq}, separators=(",", ":"))


@dataclass(frozen=True)
class Delivery:
    """One received message: the chunk it names (None when the body is not a chunk), and SQS's facts."""

    ref: ChunkRef | None
    receipt: str
    message_id: str
    receive_count: int
    sent_time: float
    body: str
    reason: str = ""  # dead letters: why
    receives: int = 0  # dead letters: receives of bulk-queue before it was moved (when a worker moved it)


def _parse(body: str) -> ChunkRef | None:
    try:
        data = json.loads(body)
        return ChunkRef(str(data["job"]), int(data["chunk"]))
    except (ValueError, KeyError, TypeError):
        return None


def _delivery(message: dict) -> Delivery:
    attributes = message.get("Attributes", {})
    extra = message.get("MessageAttributes", {})
    reason = extra.get("reason", {}).get("StringValue", "")
    receives = int(extra.get("receives", {}).get("StringValue", "0") or 0)
    return Delivery(
        ref=_parse(message.get("Body", "")),
        receipt=message["ReceiptHandle"],
        message_id=message["MessageId"],
        receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
        sent_time=int(attributes.get("SentTimestamp", "0")) / 1000,
        body=message.get("Body", ""),
        reason=reason,
        receives=receives,
    )


class ChunkQueue:
    def __init__(self, aws: AwsClients, queue: str, dead_letters: str):
        self._aws = aws
        self._names = {"queue": queue, "dlq": dead_letters}
        self._urls: dict[str, str] = {}

    async def _sqs(self):
        return await self._aws.client("sqs")

    async def _url(self, which: str) -> str:
        if which not in self._urls:
            reply = await (await self._sqs()).get_queue_url(QueueName=self._names[which])
            self._urls[which] = reply["QueueUrl"]
        return self._urls[which]

    async def ping(self) -> None:
        await (await self._sqs()).get_queue_attributes(
            QueueUrl=await self._url("queue"), AttributeNames=["ApproximateNumberOfMessages"]
        )
        await self._url("dlq")

    async def _send(self, which: str, entries: list[dict]) -> None:
        sqs, url = await self._sqs(), await self._url(which)
        for start in range(0, len(entries), BATCH):
            part = entries[start : start + BATCH]
            for _ in range(5):
                reply = await sqs.send_message_batch(QueueUrl=url, Entries=part)
                failed = {f["Id"] for f in reply.get("Failed", [])}
                part = [e for e in part if e["Id"] in failed]
                if not part:
                    break
            if part:
                raise RuntimeError(f"{self._names[which]}: {len(part)} messages refused after 5 attempts")

    async def send(self, refs: list[ChunkRef]) -> None:
        await self._send("queue", [{"Id": str(i), "MessageBody": r.body()} for i, r in enumerate(refs)])

    async def receive(self, max_count: int, wait_seconds: int, visibility: int) -> list[Delivery]:
        return await self._receive("queue", max_count, wait_seconds, visibility)

    async def _receive(self, which: str, max_count: int, wait_seconds: int, visibility: int) -> list[Delivery]:
        reply = await (await self._sqs()).receive_message(
            QueueUrl=await self._url(which),
            MaxNumberOfMessages=max(1, min(BATCH, max_count)),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            MessageAttributeNames=["All"],
        )
        return [_delivery(m) for m in reply.get("Messages", [])]

    async def extend(self, receipt: str, seconds: int) -> None:
        """Keeps a message invisible for `seconds` from now (a worker still on it, or a retry's backoff)."""
        await (await self._sqs()).change_message_visibility(
            QueueUrl=await self._url("queue"), ReceiptHandle=receipt, VisibilityTimeout=seconds
        )

    async def delete(self, receipt: str) -> None:
        await (await self._sqs()).delete_message(QueueUrl=await self._url("queue"), ReceiptHandle=receipt)

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Moves a message to bulk-dlq with the reason; the copy lands before the original is deleted."""
        await self._send(
            "dlq",
            [
                {
                    "Id": "0",
                    "MessageBody": delivery.body,
                    "MessageAttributes": {
                        "reason": {"DataType": "String", "StringValue": reason[:1000] or "unknown"},
                        "receives": {"DataType": "Number", "StringValue": str(delivery.receive_count)},
                    },
                }
            ],
        )
        await self.delete(delivery.receipt)
        log.warning("chunk dead-lettered", extra={"body": delivery.body, "reason": reason})

    # --- bulk-dlq -------------------------------------------------------------------------------------------------
    async def take_dead(self, max_count: int, visibility: int = 30) -> list[Delivery]:
        return await self._receive("dlq", max_count, 0, visibility)

    async def release_dead(self, receipts: list[str]) -> None:
        """Makes received dead letters visible again at once (a peek, a dry run, a failed replay)."""
        sqs, url = await self._sqs(), await self._url("dlq")
        for start in range(0, len(receipts), BATCH):
            part = receipts[start : start + BATCH]
            await sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(part)],
            )

    async def delete_dead(self, receipt: str) -> None:
        await (await self._sqs()).delete_message(QueueUrl=await self._url("dlq"), ReceiptHandle=receipt)

    async def requeue(self, delivery: Delivery) -> None:
        """A dead letter back on bulk-queue as a fresh message (its receive count starts again)."""
        await self._send("queue", [{"Id": "0", "MessageBody": delivery.body}])
        await self.delete_dead(delivery.receipt)

    async def dead_count(self) -> int:
        reply = await (await self._sqs()).get_queue_attributes(
            QueueUrl=await self._url("dlq"), AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(reply["Attributes"].get("ApproximateNumberOfMessages", 0))
