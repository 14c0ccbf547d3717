"""What the bulk service tests share: test identities, the embedded AWS resources bulk uses (the bucket, a fresh
bulk-queue redriving to its bulk-dlq per test), contacts wired as its main() wires it, the messaging stand-in,
bulk processes in this event loop (several on one data dir are several workers), reading errors and reports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import boto3
import grpc

from runtime.server import GrpcProcess
from services.bulk.main import wire as bulk_wire
from services.contacts.main import wire as contacts_wire
from tests.bulk.messaging_double import MessagingDouble, messaging_double
from tests.support.identity import TestPool
from tests.support.servers import running
from wecare.bulk.v1 import bulk_service_pb2 as pb
from wecare.bulk.v1 import bulk_service_pb2_grpc as pb_grpc
from wecare.contacts.v1 import contacts_service_pb2_grpc as contacts_grpc
from wecare.messaging.v1 import messaging_service_pb2 as mpb

POOL = TestPool()
ADMIN = POOL.bearer("admin", sub="admin-1")
OPERATOR = POOL.bearer("operator", sub="operator-1")
VIEWER = POOL.bearer("viewer", sub="viewer-1")
BUCKET = "stream.wecare.digital"
PHONES = ("phone-number-id-00000000000000000000919330994400", "phone-number-id-00000000000000000000919903300044")


def order_update() -> mpb.Content:
    """The order_update template, its two body values from each recipient's name and `order` attribute."""
    return mpb.Content(
        template=mpb.TemplateContent(
            template_name="order_update",
            language="en_US",
            body_parameters=[
                mpb.TemplateParameter(text="{{display_name}}"),
                mpb.TemplateParameter(text="{{attributes.order}}"),
            ],
        )
    )


def template_job(recipients: list[str], **fields) -> pb.BulkJob:
    """A WhatsApp utility template job to an inline list; each recipient's name is their first body value."""
    return pb.BulkJob(
        display_name="orders",
        channel=mpb.CHANNEL_WHATSAPP,
        category=mpb.CATEGORY_UTILITY,
        content=order_update(),
        inline_audience=pb.InlineAudience(
            recipients=[
                pb.InlineRecipient(address=r, display_name=f"Asha {i}", attributes={"order": f"A-{i}"})
                for i, r in enumerate(recipients)
            ]
        ),
        **fields,
    )


def aws_resources(endpoint: str, max_receive: int = 5) -> dict[str, str]:
    """A fresh bulk-queue (redriving to a fresh bulk-dlq after max_receive receives) and the bucket."""
    kw = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    s3 = boto3.client("s3", **kw)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=BUCKET)
    queue, dlq = fresh_bulk_queues(boto3.client("sqs", **kw), max_receive=max_receive)
    return {"bulk_queue": queue, "bulk_dlq": dlq}


def fresh_bulk_queues(sqs, prefix: str = "", max_receive: int = 5) -> tuple[str, str]:
    """A new bulk-queue redriving to a new bulk-dlq after max_receive receives: their names."""
    suffix = uuid.uuid4().hex[:8]
    queue, dlq = f"{prefix}bulk-queue-{suffix}", f"{prefix}bulk-dlq-{suffix}"
    dlq_url = sqs.create_queue(QueueName=dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(
        QueueName=queue,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)})},
    )
    return queue, dlq


@dataclass
class BulkEnv:
    """Contacts, the messaging stand-in and bulk processes on one data dir."""

    root: Path
    settings: dict
    double: MessagingDouble
    contacts: contacts_grpc.ContactsServiceStub
    processes: list[GrpcProcess] = field(default_factory=list)
    _stops: dict[int, contextlib.AsyncExitStack] = field(default_factory=dict)
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def start_bulk(self, **overrides) -> GrpcProcess:
        own = contextlib.AsyncExitStack()
        process = await own.enter_async_context(
            running("bulk", bulk_wire, POOL, self.root / "bulk", **{**self.settings, **overrides})
        )
        self._stops[id(process)] = own
        self._stack.push_async_callback(self.stop_bulk, process)
        self.processes.append(process)
        return process

    async def stop_bulk(self, process: GrpcProcess) -> None:
        """Stops one bulk process as SIGTERM would (its chunks in hand are given back)."""
        own = self._stops.pop(id(process), None)
        if own is not None:
            await own.aclose()

    def stub(self, process: GrpcProcess | None = None) -> pb_grpc.BulkServiceStub:
        channel = grpc.aio.insecure_channel((process or self.processes[0]).address)
        self._stack.push_async_callback(channel.close)
        return pb_grpc.BulkServiceStub(channel)

    def sqs(self):
        return boto3.client("sqs", endpoint_url=self.settings["aws_endpoint_url"], region_name="us-east-1")

    def queue_url(self, which: str = "bulk_queue") -> str:
        return self.sqs().get_queue_url(QueueName=self.settings[which])["QueueUrl"]


@contextlib.asynccontextmanager
async def bulk_env(
    root: Path, moto: str, rate: float = 400.0, max_receive: int = 5, **settings
) -> AsyncIterator[BulkEnv]:
    base = {
        "aws_endpoint_url": moto,
        "bulk_chunk_size": 50,
        "bulk_lease_seconds": 3.0,
        "bulk_poll_seconds": 0.1,
        "bulk_report_delay_seconds": 0.3,
        "bulk_settle_seconds": 2.0,
        "bulk_max_receive_count": max_receive,
        **aws_resources(moto, max_receive),
        **settings,
    }
    async with contextlib.AsyncExitStack() as stack:
        contacts = await stack.enter_async_context(running("contacts", contacts_wire, POOL, root / "contacts"))
        double, address = await stack.enter_async_context(messaging_double(POOL.settings(), rate))
        channel = grpc.aio.insecure_channel(contacts.address)
        stack.push_async_callback(channel.close)
        env = BulkEnv(
            root,
            {**base, "contacts_address": contacts.address, "messaging_address": address},
            double,
            contacts_grpc.ContactsServiceStub(channel),
        )
        async with env._stack:
            yield env


async def wait_for(stub: pb_grpc.BulkServiceStub, name: str, *states: int, within: float = 60.0) -> pb.BulkJob:
    """The job once it is in one of `states` (a finished one with its report written)."""
    deadline = time.monotonic() + within
    while True:
        job = await stub.GetJob(pb.GetJobRequest(name=name), metadata=VIEWER)
        finished = (pb.JOB_STATE_COMPLETED, pb.JOB_STATE_CANCELLED, pb.JOB_STATE_FAILED)
        if job.state in states and (job.report_uri or job.state not in finished):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} still {pb.JobState.Name(job.state)} after {within}s: {job}")
        await asyncio.sleep(0.1)


async def until(predicate, within: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + within
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within}s")
        await asyncio.sleep(0.02)


async def read_report(url: str) -> dict:
    """The report, through the pre-signed URL GetJob gave."""
    async with aiohttp.ClientSession() as http, http.get(url) as reply:
        assert reply.status == 200, await reply.text()
        return json.loads(await reply.read())
