"""Messaging's dead-letter queues on moto's SQS: a media copy out of retries lands in inbound-dlq and is finished
by a replay; whatsapp-inbound-dlq is re-ingested; outbound-dlq is re-dispatched. Peeks and dry runs change
nothing, a replay holds its maximum count and its rate cap, and a letter replayed twice (or a replay run twice)
has no second effect."""

from __future__ import annotations

import asyncio
import json
import time

import grpc
import pytest

from localrun.sandbox import log as sandbox_log
from tests.messaging.inbound_env import ADMIN, INCOMING, PHONES, POOL, VIEWER, inbox, service
from tests.messaging.support import whatsapp_template
from tests.support.sns import CUSTOMER, load, restamp
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb
from wecare.messaging.v1 import messaging_service_pb2 as pb

OPERATOR = POOL.bearer("operator", sub="operator-inbound")


@pytest.fixture
async def env(tmp_path, moto_endpoint):
    async with inbox(tmp_path, moto_endpoint, dispatch_max_attempts=1) as box:
        yield box


async def replay(env, queue, **request) -> list[pb.ReplayDeadLettersResponse]:
    call = env.messaging.ReplayDeadLetters(pb.ReplayDeadLettersRequest(queue=queue, **request), metadata=ADMIN)
    return [r async for r in call]


def outcomes(steps) -> list[int]:
    return [result.outcome for step in steps for result in step.results]


async def test_media_out_of_retries_goes_to_inbound_dlq_and_a_replay_finishes_it_once(env):
    env.media.failing = True  # the copy's S3 write fails: GetWhatsAppMessageMedia answers DependencyException
    image = restamp(load("inbound-image"))
    reply = await env.messaging.IngestEvents(
        pb.IngestEventsRequest(events=[pb.InboundEvent(sns_message_id=image["MessageId"], payload=image["Message"])]),
        metadata=service(),
    )
    [result] = reply.results
    assert result.outcome == pb.INGEST_OUTCOME_DEAD_LETTERED
    assert "DependencyException" in result.detail and "4 attempt(s)" in result.detail
    [message] = await env.messages(CUSTOMER)
    assert message.content.media.provider_media_id == "902611348107265"
    assert message.content.media.media_key == ""  # stored, its media not yet copied
    assert env.objects() == {}

    peek = await env.messaging.ListDeadLetters(
        pb.ListDeadLettersRequest(queue=pb.DEAD_LETTER_QUEUE_INBOUND), metadata=ADMIN
    )
    [letter] = peek.dead_letters
    assert letter.message == message.name
    assert "DependencyException" in letter.reason
    assert json.loads(letter.body)["task"] == "media_copy"
    assert peek.approximate_count == 1
    assert env.queue_size("inbound-dlq") == 1  # a peek leaves it there

    env.media.failing = False
    sqs, url = env.queue("inbound-dlq")
    sqs.send_message(QueueUrl=url, MessageBody=letter.body)  # the same letter twice (at-least-once)
    steps = await replay(env, pb.DEAD_LETTER_QUEUE_INBOUND)
    assert sorted(outcomes(steps)) == [pb.REPLAY_OUTCOME_REPLAYED, pb.REPLAY_OUTCOME_ALREADY_DONE]
    assert (steps[-1].replayed_count, steps[-1].already_done_count, steps[-1].failed_count) == (1, 1, 0)
    assert env.queue_size("inbound-dlq") == 0
    assert list(env.objects()) == [INCOMING + "902611348107265.jpg"]
    assert env.media_gets() == 1  # fetched once
    [message] = await env.messages(CUSTOMER)
    assert message.content.media.media_key == INCOMING + "902611348107265.jpg"
    assert await replay(env, pb.DEAD_LETTER_QUEUE_INBOUND) == []  # nothing left: a second run does nothing


async def test_a_replay_that_fails_again_leaves_the_letter(env):
    env.media.failing = True
    assert await env.post(env.signer.sign(restamp(load("inbound-image")))) == 200  # dead-lettered, taken
    [step] = await replay(env, pb.DEAD_LETTER_QUEUE_INBOUND)
    assert outcomes([step]) == [pb.REPLAY_OUTCOME_FAILED]
    assert "DependencyException" in step.results[0].detail
    assert env.queue_size("inbound-dlq") == 1
    peek = await env.messaging.ListDeadLetters(
        pb.ListDeadLettersRequest(queue=pb.DEAD_LETTER_QUEUE_INBOUND), metadata=ADMIN
    )
    assert len(peek.dead_letters) == 1  # visible again at once, for the next replay


def notification(env, name: str, **changes) -> str:
    """A notification as SNS dead-letters it: the signed notification JSON."""
    return json.dumps(env.signer.sign(dict(restamp(load(name)), **changes)))


async def test_whatsapp_inbound_dlq_dry_run_max_count_rate_cap_and_duplicates(env):
    sqs, url = env.queue("whatsapp-inbound-dlq")
    text = notification(env, "inbound-text")
    for body in (text, notification(env, "inbound-stop"), notification(env, "call-terminate"), text):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody=notification(env, "status-read"))

    dry = await replay(env, pb.DEAD_LETTER_QUEUE_WHATSAPP_INBOUND, dry_run=True, max_count=10)
    assert outcomes(dry) == [pb.REPLAY_OUTCOME_WOULD_REPLAY] * 5
    assert env.queue_size("whatsapp-inbound-dlq") == 5
    assert await env.conversations() == []
    assert await env.contact_by_phone(CUSTOMER) is None
    peek = await env.messaging.ListDeadLetters(
        pb.ListDeadLettersRequest(queue=pb.DEAD_LETTER_QUEUE_WHATSAPP_INBOUND, page_size=3), metadata=ADMIN
    )
    assert len(peek.dead_letters) == 3 and peek.approximate_count == 5

    started = time.monotonic()
    first = await replay(env, pb.DEAD_LETTER_QUEUE_WHATSAPP_INBOUND, max_count=3, max_per_second=5)
    elapsed = time.monotonic() - started
    assert len(outcomes(first)) == 3
    assert elapsed >= 0.35  # three letters at five a second: two intervals of 0.2 s at least
    assert env.queue_size("whatsapp-inbound-dlq") == 2
    rest = await replay(env, pb.DEAD_LETTER_QUEUE_WHATSAPP_INBOUND, max_count=10, max_per_second=100)
    done = outcomes(first) + outcomes(rest)
    assert sorted(done) == sorted([pb.REPLAY_OUTCOME_REPLAYED] * 4 + [pb.REPLAY_OUTCOME_ALREADY_DONE])
    assert env.queue_size("whatsapp-inbound-dlq") == 0

    assert len(await env.messages(CUSTOMER)) == 2  # the text once, and the STOP
    contact = await env.contact_by_phone(CUSTOMER)
    assert contact.whatsapp_consent.state == contacts_pb.CONSENT_STATE_OPTED_OUT
    calls = await env.messaging.ListVoiceCalls(pb.ListVoiceCallsRequest(), metadata=VIEWER)
    assert len(calls.voice_calls) == 1
    # The same letters put back and replayed again: nothing more happens.
    sqs.send_message(QueueUrl=url, MessageBody=text)
    again = await replay(env, pb.DEAD_LETTER_QUEUE_WHATSAPP_INBOUND)
    assert outcomes(again) == [pb.REPLAY_OUTCOME_ALREADY_DONE]
    assert len(await env.messages(CUSTOMER)) == 2


async def settled(env, name: str, statuses: set[int], within: float = 15.0) -> pb.Message:
    deadline = time.monotonic() + within
    while True:
        m = await env.messaging.GetMessage(pb.GetMessageRequest(name=name), metadata=VIEWER)
        if m.status in statuses or time.monotonic() > deadline:
            return m
        await asyncio.sleep(0.1)


async def test_outbound_dlq_is_re_dispatched_once(env):
    await env.messaging.SyncTemplates(pb.SyncTemplatesRequest(), metadata=ADMIN)
    env.sandbox.config.throttle_next = 1  # the provider refuses the first call; one attempt allowed: FAILED
    sent = await env.messaging.SendMessage(
        pb.SendMessageRequest(message=whatsapp_template("+919812300009", PHONES[0])), metadata=OPERATOR
    )
    failed = await settled(env, sent.name, {pb.STATUS_FAILED})
    assert failed.status == pb.STATUS_FAILED and failed.error.code == "RETRIES_EXHAUSTED"
    for _ in range(50):  # the dispatcher's outbox sends it within a second or two
        if env.queue_size("outbound-dlq"):
            break
        await asyncio.sleep(0.2)
    [letter] = (
        await env.messaging.ListDeadLetters(
            pb.ListDeadLettersRequest(queue=pb.DEAD_LETTER_QUEUE_OUTBOUND), metadata=ADMIN
        )
    ).dead_letters
    assert letter.message == sent.name

    dry = await replay(env, pb.DEAD_LETTER_QUEUE_OUTBOUND, dry_run=True)
    assert outcomes(dry) == [pb.REPLAY_OUTCOME_WOULD_REPLAY]
    assert (await settled(env, sent.name, {pb.STATUS_FAILED}, within=0)).status == pb.STATUS_FAILED

    assert outcomes(await replay(env, pb.DEAD_LETTER_QUEUE_OUTBOUND)) == [pb.REPLAY_OUTCOME_REPLAYED]
    assert (await settled(env, sent.name, {pb.STATUS_SENT})).status == pb.STATUS_SENT
    sqs, url = env.queue("outbound-dlq")
    sqs.send_message(QueueUrl=url, MessageBody=letter.body)  # the letter again: the message is sent already
    assert outcomes(await replay(env, pb.DEAD_LETTER_QUEUE_OUTBOUND)) == [pb.REPLAY_OUTCOME_ALREADY_DONE]
    await asyncio.sleep(0.5)
    refs = [c.ref for c in sandbox_log.read(env.sandbox_log) if c.channel == "WHATSAPP"]
    assert refs.count(sent.name.removeprefix("messages/")) == 1  # sent once, never twice


async def test_replay_and_peek_refuse_bad_requests_and_non_admins(env):
    for request, field in (
        (pb.ReplayDeadLettersRequest(), "queue"),
        (pb.ReplayDeadLettersRequest(queue=pb.DEAD_LETTER_QUEUE_INBOUND, max_count=10_001), "max_count"),
        (pb.ReplayDeadLettersRequest(queue=pb.DEAD_LETTER_QUEUE_INBOUND, max_per_second=-1), "max_per_second"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            [r async for r in env.messaging.ReplayDeadLetters(request, metadata=ADMIN)]
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in caught.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.messaging.ListDeadLetters(
            pb.ListDeadLettersRequest(queue=pb.DEAD_LETTER_QUEUE_INBOUND), metadata=OPERATOR
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
