"""The topic's SQS queue as messaging's way in (services/messaging/inbound/queue_ingest.py), on moto in server mode:
an event published to the SNS topic reaches the queue through an SQS subscription with raw delivery off, and the
messaging process (WECARE_INBOUND_DELIVERY=sqs) ingests it; a batch of status events is applied and deleted; a
body that is not a notification of an allowed topic is left for the queue's dead-letter queue; an ingest that
fails deletes nothing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import boto3
import pytest

from services.messaging.inbound.queue_ingest import NotOurs, QueueIngest, notification
from tests.messaging.inbound_env import VIEWER, inbox
from tests.messaging.test_inbound_ingest import sent_messages
from tests.messaging.test_inbound_watch import text_from
from tests.support.sns import CUSTOMER, load, restamp, with_event
from wecare.messaging.v1 import messaging_service_pb2 as pb

TOPIC_NAME = "base-wecare-digital"


@pytest.fixture
def topic_and_queue(moto_endpoint):
    """The topic, its queue (redrive to a dead-letter queue after 2 receives) and the SQS subscription between."""
    suffix = uuid.uuid4().hex[:8]
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    topic = sns.create_topic(Name=f"{TOPIC_NAME}-{suffix}")["TopicArn"]
    dlq = sqs.create_queue(QueueName=f"whatsapp-inbound-dlq-q-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = f"whatsapp-inbound-{suffix}"
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"})
    yield sns, sqs, topic, name, url, dlq
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq)
    sns.delete_topic(TopicArn=topic)


@pytest.fixture
async def env(tmp_path, moto_endpoint, topic_and_queue):
    _, _, topic, name, _, _ = topic_and_queue
    async with inbox(
        tmp_path,
        moto_endpoint,
        inbound_delivery="sqs",
        whatsapp_inbound_queue=name,
        sns_topic_arns=(topic,),
        inbound_queue_pollers=2,
    ) as box:
        yield box


def waiting(sqs, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


async def eventually(check, within: float = 20.0):
    deadline = time.monotonic() + within
    while True:
        result = await asyncio.to_thread(check) if not asyncio.iscoroutinefunction(check) else await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        await asyncio.sleep(0.2)


async def test_an_event_published_to_the_topic_is_ingested_from_the_queue(env, topic_and_queue):
    sns, sqs, topic, _, url, _ = topic_and_queue
    text = text_from(CUSTOMER, "wamid.q1", "through the queue")
    sns.publish(TopicArn=topic, Message=text["Message"])  # as EUM Social publishes: SNS wraps it for SQS

    async def stored():
        reply = await env.messaging.ListMessages(pb.ListMessagesRequest(customer=CUSTOMER), metadata=VIEWER)
        return [m for m in reply.messages if m.content.text.body == "through the queue"]

    [message] = await eventually(stored)
    assert message.provider_message_id == "wamid.q1" and message.direction == pb.DIRECTION_INBOUND
    await eventually(lambda: waiting(sqs, url) == 0)  # deleted once ingested


async def test_a_batch_of_statuses_is_applied_and_deleted(env, topic_and_queue):
    _, sqs, topic, _, url, _ = topic_and_queue
    messages = await sent_messages(env.outbound, 12)

    def envelope(i: int, message) -> str:
        def change(entry):
            s = entry["changes"][0]["value"]["statuses"][0]
            s.update(id=f"wamid.B{i}", status="read", recipient_id=message.recipient.lstrip("+"))
            s["biz_opaque_callback_data"] = message.callback_data

        n = restamp(with_event(load("status-delivered"), change))
        return json.dumps(dict(n, TopicArn=topic, MessageId=f"sns-q-{i}"))

    bodies = [envelope(i, m) for i, m in enumerate(messages)]
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[start : start + 10])],
        )

    async def all_read():
        got = await env.outbound.messages.get_many([m.id for m in messages])
        return all(m.status.value == "READ" for m in got)

    await eventually(all_read)
    await eventually(lambda: waiting(sqs, url) == 0)
    assert await env.inbound.feed.seen_events([f"sns-q-{i}" for i in range(12)]) == {f"sns-q-{i}" for i in range(12)}


async def test_a_body_that_is_not_ours_goes_to_the_dead_letter_queue(env, topic_and_queue):
    _, sqs, _, _, url, dlq = topic_and_queue
    foreign = dict(load("status-delivered"), TopicArn="arn:aws:sns:us-east-1:999999999999:someone-else")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(foreign))
    sqs.send_message(QueueUrl=url, MessageBody=load("status-delivered")["Message"])  # raw delivery: no envelope

    def dead_lettered() -> bool:
        return waiting(sqs, dlq) == 2

    await eventually(dead_lettered, within=30)
    assert waiting(sqs, url) == 0
    assert not await env.inbound.feed.seen_events([load("status-delivered")["MessageId"]])


def test_notification_reads_the_envelope_of_an_allowed_topic_only():
    n = load("status-delivered")
    event = notification(json.dumps(n), [n["TopicArn"]])
    assert (event.sns_message_id, event.payload, event.source) == (n["MessageId"], n["Message"], "sqs")
    for body, why in [
        ("{", "not JSON"),
        (json.dumps(n["Message"]), "not an SNS Notification"),
        (json.dumps(dict(n, Type="SubscriptionConfirmation")), "not an SNS Notification"),
        (json.dumps(dict(n, TopicArn="arn:aws:sns:us-east-1:1:other")), "is not allowed"),
        (json.dumps({k: v for k, v in n.items() if k != "MessageId"}), "MessageId or Message"),
    ]:
        with pytest.raises(NotOurs, match=why):
            notification(body, [n["TopicArn"]])


class FakeQueue:
    def __init__(self):
        self.deleted: list[str] = []

    async def receive(self, max_count=10, visibility_timeout=30, wait_seconds=0):
        return []

    async def delete_batch(self, receipt_handles):
        self.deleted += receipt_handles
        return len(receipt_handles)


class FailingIngest:
    def __init__(self):
        self.calls = 0

    async def ingest(self, events):
        self.calls += 1
        raise OSError("the store is unreachable")


async def test_an_ingest_that_fails_deletes_nothing():
    queue, ingest = FakeQueue(), FailingIngest()
    n = load("status-delivered")
    consumer = QueueIngest(queue, ingest, [n["TopicArn"]], pollers=1)
    received = [{"Body": json.dumps(n), "ReceiptHandle": "r1"}, {"Body": "junk", "ReceiptHandle": "r2"}]
    with pytest.raises(OSError):
        await consumer.take(received)
    assert ingest.calls == 1 and queue.deleted == []
