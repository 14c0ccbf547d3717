"""The inbound path as the tests run it, all in this event loop: contacts and messaging wired exactly as their
main() wires them (SQLite in a temporary folder), the sandbox as EUM Social (its media copies written into
moto's S3), moto for S3 and SQS, and the gateway's SNS endpoint in front, verifying with a test certificate."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import grpc
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import Gateway
from gateway.sns import ROUTE, SnsEndpoint
from localrun.sandbox import log as sandbox_log
from localrun.sandbox.server import Sandbox
from runtime.auth import ServiceTokens, TokenVerifier
from runtime.aws import AwsClients
from runtime.server import GrpcProcess
from runtime.settings import Settings
from services.contacts.main import wire as contacts_wire
from services.messaging.adapters.store import InboundStores, OutboundStores
from services.messaging.main import wire as messaging_wire
from tests.messaging.support import phone_ids, sandbox_here, stores_of
from tests.support.identity import TestPool
from tests.support.servers import running
from tests.support.sns import TOPIC, TestSigner
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as contacts_grpc
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

POOL = TestPool()
ADMIN = POOL.bearer("admin", sub="admin-inbound")
VIEWER = POOL.bearer("viewer", sub="viewer-inbound")


def service() -> tuple[tuple[str, str]]:
    """A service identity's metadata (IngestEvents is for services only)."""
    return (("authorization", f"Bearer {ServiceTokens(POOL.settings(), 'gateway').token()}"),)


INCOMING = "whatsapp-media/whatsapp-media-incoming/"
PHONES = phone_ids(1)


@dataclass
class MediaStore:
    """The sandbox's way into S3 (as the real GetWhatsAppMessageMedia writes the copy); can be made to fail."""

    aws: AwsClients
    failing: bool = False
    writes: list[str] = field(default_factory=list)

    async def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        if self.failing:
            raise ConnectionError("S3 is unreachable (test)")
        s3 = await self.aws.client("s3")
        await s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        self.writes.append(key)


@dataclass
class Inbox:
    messaging: pb_grpc.MessagingServiceStub
    contacts: contacts_grpc.ContactsServiceStub
    gateway: TestClient
    signer: TestSigner
    process: GrpcProcess
    sandbox: Sandbox
    sandbox_log: Path
    media: MediaStore
    moto: str
    queues: dict[str, str]  # inbound-dlq etc. -> this test's queue name
    bucket: str  # this test's media bucket (moto is shared by the session)
    data_dir: Path
    settings: dict[str, Any]
    outbound: OutboundStores  # the messaging process's tables, opened as another process would
    inbound: InboundStores

    @contextlib.asynccontextmanager
    async def another_messaging(self) -> AsyncIterator[pb_grpc.MessagingServiceStub]:
        """A second messaging process on the same store (as one more replica would run)."""
        async with (
            running("messaging", messaging_wire, POOL, self.data_dir, **self.settings) as process,
            grpc.aio.insecure_channel(process.address) as channel,
        ):
            yield pb_grpc.MessagingServiceStub(channel)

    async def post(self, message: Any, headers: dict[str, str] | None = None) -> int:
        """POSTs a notification to the gateway's SNS endpoint; the HTTP status."""
        body = message if isinstance(message, str) else json.dumps(message)
        response = await self.gateway.post(ROUTE, data=body, headers=headers or {})
        return response.status

    async def conversations(self) -> list[pb.Conversation]:
        reply = await self.messaging.ListConversations(pb.ListConversationsRequest(), metadata=VIEWER)
        return list(reply.conversations)

    async def messages(self, customer: str) -> list[pb.Message]:
        reply = await self.messaging.ListMessages(pb.ListMessagesRequest(customer=customer), metadata=VIEWER)
        return list(reply.messages)

    async def contact_by_phone(self, phone: str) -> contacts_pb.Contact | None:
        reply = await self.contacts.SearchContacts(contacts_pb.SearchContactsRequest(query=phone), metadata=ADMIN)
        return next((c for c in reply.contacts if c.phone_number == phone), None)

    def objects(self, prefix: str = INCOMING) -> dict[str, bytes]:
        s3 = boto3.client("s3", endpoint_url=self.moto, region_name="us-east-1")
        listed = s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listed}

    def media_gets(self) -> int:
        return sum(1 for c in sandbox_log.read(self.sandbox_log) if c.channel == "MEDIA_GET")

    def queue(self, name: str):
        """(boto3 SQS client, URL) of this test's queue `name` (e.g. "inbound-dlq")."""
        sqs = boto3.client("sqs", endpoint_url=self.moto, region_name="us-east-1")
        return sqs, sqs.get_queue_url(QueueName=self.queues[name])["QueueUrl"]

    def queue_size(self, name: str) -> int:
        sqs, url = self.queue(name)
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(attributes[n]) for n in names)


@contextlib.asynccontextmanager
async def inbox(tmp_path: Path, moto: str, **messaging_settings: Any) -> AsyncIterator[Inbox]:
    suffix = uuid.uuid4().hex[:8]
    bucket = f"stream-wecare-{suffix}"
    boto3.client("s3", endpoint_url=moto, region_name="us-east-1").create_bucket(Bucket=bucket)
    queues = {q: f"{q}-{suffix}" for q in ("inbound-dlq", "outbound-dlq", "whatsapp-inbound-dlq")}
    sqs = boto3.client("sqs", endpoint_url=moto, region_name="us-east-1")
    for name in queues.values():
        sqs.create_queue(QueueName=name)
    aws = AwsClients(Settings(aws_endpoint_url=moto))
    media = MediaStore(aws)
    signer = TestSigner()
    log_path = tmp_path / "sandbox.jsonl"
    data_dir = tmp_path / "messaging"
    try:
        async with (
            running("contacts", contacts_wire, POOL, tmp_path / "contacts") as contacts,
            sandbox_here(log_path, media_store=media.put, statuses=[]) as (url, sandbox),
        ):
            settings = dict(
                contacts_address=contacts.address,
                social_messaging_endpoint_url=url,
                sms_voice_endpoint_url=url,
                aws_endpoint_url=moto,
                media_bucket=bucket,
                whatsapp_phone_number_ids=tuple(PHONES),
                whatsapp_pair_interval_seconds=0.0,
                inbound_dlq=queues["inbound-dlq"],
                outbound_dlq=queues["outbound-dlq"],
                whatsapp_inbound_dlq=queues["whatsapp-inbound-dlq"],
                inbound_media_backoff_seconds=0.01,
                inbound_watch_poll_seconds=0.1,
            )
            settings.update(messaging_settings)
            async with running("messaging", messaging_wire, POOL, data_dir, **settings) as process:
                gateway_settings = POOL.settings(messaging_address=process.address, sns_topic_arns=(TOPIC,))
                endpoint = SnsEndpoint.for_settings(gateway_settings, signer.certificates())
                gateway = Gateway(gateway_settings, TokenVerifier(gateway_settings), extra_routes=endpoint.routes())
                client = TestClient(TestServer(gateway.app(), host="127.0.0.1"))
                await client.start_server()
                try:
                    async with (
                        grpc.aio.insecure_channel(process.address) as channel,
                        grpc.aio.insecure_channel(contacts.address) as contacts_channel,
                        stores_of(process.settings) as (outbound, inbound),
                    ):
                        yield Inbox(
                            messaging=pb_grpc.MessagingServiceStub(channel),
                            contacts=contacts_grpc.ContactsServiceStub(contacts_channel),
                            gateway=client,
                            signer=signer,
                            process=process,
                            sandbox=sandbox,
                            sandbox_log=log_path,
                            media=media,
                            moto=moto,
                            queues=queues,
                            bucket=bucket,
                            data_dir=data_dir,
                            settings=settings,
                            outbound=outbound,
                            inbound=inbound,
                        )
                finally:
                    await client.close()
                    await endpoint.close()
    finally:
        await aws.close()
        for name in queues.values():
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
