"""The AWS adapters of bulk against moto (server mode): reports as multipart uploads (several parts, held to one
part of memory, nothing visible when the writer fails, read back through the pre-signed URL), and bulk-queue /
bulk-dlq (visibility, dead letters keeping their reason and receive count, requeue, a body that is not a chunk).
And the contacts directory: an audience by tags is read from contacts' tag index, not the whole book."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import boto3
import grpc
import pytest

from runtime.auth import ServiceTokens
from runtime.aws import AwsClients
from runtime.clients import service_channel
from runtime.settings import Settings
from services.bulk.adapters.chunk_queue import ChunkQueue, ChunkRef
from services.bulk.adapters.contacts import ContactsDirectory
from services.bulk.adapters.reports import ReportBucket
from services.bulk.domain.model import Audience, Channel
from services.contacts.main import wire as contacts_wire
from tests.bulk.support import BUCKET, OPERATOR, POOL, aws_resources, read_report
from tests.support.servers import running
from wecare.contacts.v1 import contacts_service_pb2 as cpb
from wecare.contacts.v1 import contacts_service_pb2_grpc as cpb_grpc

MIB = 1024 * 1024


@pytest.fixture
async def aws(moto_endpoint):
    clients = AwsClients(Settings.from_env({}, aws_endpoint_url=moto_endpoint))
    yield clients
    await clients.close()


async def test_a_report_streams_in_parts_and_reads_back_whole(aws, moto_endpoint):
    resources = aws_resources(moto_endpoint)
    assert resources  # the bucket exists
    bucket = ReportBucket(aws, BUCKET, f"base-wecare-digital/reports/t-{uuid.uuid4().hex[:6]}/", 60, part_bytes=5 * MIB)
    key = bucket.key("J1")
    piece = b'{"recipient":"+919812345678","outcome":"sent"},\n' * (MIB // 48)
    async with await bucket.upload(key) as upload:
        await upload.write(b'{"recipients":[')
        for _ in range(16):
            await upload.write(piece)
            assert len(upload._buffer) < 5 * MIB + len(piece)  # one part in memory at most
        await upload.write(b'{"end":true}]}')
    assert len(upload._parts) == 3
    doc = await read_report(await bucket.url(key))
    assert len(doc["recipients"]) == 16 * (MIB // 48) + 1


async def test_a_failed_report_leaves_nothing(aws, moto_endpoint):
    aws_resources(moto_endpoint)
    bucket = ReportBucket(aws, BUCKET, f"base-wecare-digital/reports/t-{uuid.uuid4().hex[:6]}/", 60, part_bytes=5 * MIB)
    key = bucket.key("J2")
    with contextlib.suppress(RuntimeError):
        async with await bucket.upload(key) as upload:
            await upload.write(b"x" * (6 * MIB))
            raise RuntimeError("the writer failed halfway")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) == 0
    assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads", []) == []


async def test_chunk_messages_visibility_dead_letters_and_requeue(aws, moto_endpoint):
    names = aws_resources(moto_endpoint, max_receive=5)
    queue = ChunkQueue(aws, names["bulk_queue"], names["bulk_dlq"])
    await queue.ping()
    await queue.send([ChunkRef("J1", seq) for seq in range(12)])  # more than one batch of 10
    got = []
    for _ in range(10):
        got += await queue.receive(10, wait_seconds=0, visibility=30)
        if len(got) == 12:
            break
    assert sorted(d.ref.seq for d in got) == list(range(12)) and all(d.receive_count == 1 for d in got)
    assert await queue.receive(10, wait_seconds=0, visibility=30) == []  # all invisible now
    first = got[0]
    await queue.extend(first.receipt, 0)  # back at once
    again = await queue.receive(10, wait_seconds=1, visibility=30)
    assert [d.ref for d in again] == [first.ref] and again[0].receive_count == 2
    await queue.dead_letter(again[0], "RuntimeError: messaging away")
    for d in got[1:]:
        await queue.delete(d.receipt)
    dead = await queue.take_dead(10, visibility=30)
    assert [(d.ref, d.reason, d.receives) for d in dead] == [(first.ref, "RuntimeError: messaging away", 2)]
    await queue.requeue(dead[0])
    await asyncio.sleep(0)
    back = await queue.receive(10, wait_seconds=1, visibility=30)
    assert [d.ref for d in back] == [first.ref] and back[0].receive_count == 1  # a fresh message
    assert await queue.dead_count() == 0


async def test_a_body_that_is_not_a_chunk_is_read_as_none(aws, moto_endpoint):
    names = aws_resources(moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=names["bulk_queue"])["QueueUrl"], MessageBody="hello")
    queue = ChunkQueue(aws, names["bulk_queue"], names["bulk_dlq"])
    [delivery] = await queue.receive(10, wait_seconds=1, visibility=30)
    assert delivery.ref is None and delivery.body == "hello"


async def test_an_audience_by_tags_reads_the_tagged_contacts_only(tmp_path):
    async with running("contacts", contacts_wire, POOL, tmp_path) as contacts:
        async with grpc.aio.insecure_channel(contacts.address) as channel:
            stub = cpb_grpc.ContactsServiceStub(channel)
            book = [cpb.Contact(email=f"c{i}@example.com", tags=["vip"] if i in (5, 250) else []) for i in range(300)]
            requests = [cpb.CreateContactRequest(contact=c) for c in book]
            await stub.BatchCreateContacts(cpb.BatchCreateContactsRequest(requests=requests), metadata=OPERATOR)
        tokens = ServiceTokens(POOL.settings(), "bulk")
        async with service_channel(contacts.address, tokens.token) as channel:
            directory = ContactsDirectory(channel)
            read: list[int] = []
            listing = directory._stub.ListContacts

            async def counted(request, **kwargs):
                reply = await listing(request, **kwargs)
                read.append(len(reply.contacts))
                return reply

            directory._stub.ListContacts = counted
            audience = Audience("contacts", tags=("vip",))
            found, cursor = await directory.page(audience, Channel.EMAIL, "")
            assert [c.address for c in found] == ["c5@example.com", "c250@example.com"] and cursor == ""
            assert read == [2]  # two contacts crossed the wire, not the book of 300
