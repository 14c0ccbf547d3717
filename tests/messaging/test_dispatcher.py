"""The Dispatcher in one process against the sandbox (in this event loop) and moto's SQS: throttling slows a
phone and the message is retried; out of retries a message fails with its reason into outbound-dlq; replies in a
customer's window go ahead of bulk; Meta's failure codes act on later sends (131048 pause, 131050 suppress,
131049 again after a day, 130429 slow down); a stop lets calls in flight finish and frees the senders."""

from __future__ import annotations

import asyncio
import json
import time

import boto3
import pytest
from prometheus_client import REGISTRY

from localrun.sandbox import log as sandbox_log
from runtime import ids
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.messaging.adapters import sqlite_store
from services.messaging.adapters.providers import ProviderOptions, WhatsAppProvider
from services.messaging.adapters.queues import SqsQueue
from services.messaging.dispatch.batch_checks import GroupChecks
from services.messaging.dispatch.checks import deferred, failed
from services.messaging.dispatch.config import DispatchConfig
from services.messaging.dispatch.dispatcher import Dispatcher
from services.messaging.domain.model import Category, Channel, Lane, MessageError, OutboundMessage, Status
from tests.messaging.support import phone_ids, sandbox_here
from tests.support.tracing import span_exporter

PHONES = phone_ids(2)


@pytest.fixture
async def parts(tmp_path, moto_endpoint):
    queue = f"outbound-dlq-{ids.new_id().lower()}"
    boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1").create_queue(QueueName=queue)
    log_path = tmp_path / "sandbox.jsonl"
    out = sqlite_store.open_outbound(tmp_path / "out.sqlite3")
    inbound = sqlite_store.open_inbound(tmp_path / "in.sqlite3")
    aws = AwsClients(Settings(aws_endpoint_url=moto_endpoint))
    async with sandbox_here(log_path, statuses=[]) as (url, sandbox):
        provider = WhatsAppProvider(aws, ProviderOptions(social_endpoint=url, sms_endpoint=url))

        def make(group_checks=None, **config) -> Dispatcher:
            base = {"phone_rates": {p: 10.0 for p in PHONES}, "pair_gap": 0.0, "max_attempts": 3}
            base.update(config)
            return Dispatcher(
                out,
                inbound.windows,
                {Channel.WHATSAPP: provider},
                provider,
                SqsQueue(aws, queue),
                DispatchConfig(**base),
                group_checks=group_checks,
            )

        yield out, inbound, sandbox, log_path, make, (moto_endpoint, queue)
    await out.close()
    await inbound.close()
    await aws.close()


def text(recipient: str, lane: Lane = Lane.BULK, origination: str = PHONES[0], **kw) -> OutboundMessage:
    now = time.time()
    return OutboundMessage(
        id=ids.new_id(),
        channel=Channel.WHATSAPP,
        category=kw.pop("category", Category.UTILITY),
        origination=origination,
        recipient=recipient,
        content={"text": {"body": "hi"}},
        create_time=now,
        lane=lane,
        due_time=now,
        update_time=now,
        **kw,
    )


async def until(predicate, within: float = 15.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
async def running_dispatcher():
    tasks = []

    async def start(dispatcher: Dispatcher) -> Dispatcher:
        tasks.append(asyncio.create_task(dispatcher.run()))
        await until(lambda: _true(dispatcher.heartbeats > 0))
        return dispatcher

    yield start
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _true(value):
    return value


async def test_throttled_calls_are_retried_and_slow_the_phone(parts, running_dispatcher):
    out, _, sandbox, log_path, make, _ = parts
    sandbox.config.throttle_next = 2
    labels = {"channel": "WHATSAPP", "origination": PHONES[0]}
    before = {
        "throttles": _sample("wecare_dispatch_throttles_total", labels),
        "sent": _sample("wecare_dispatch_sends_total", {**labels, "outcome": "sent"}),
    }
    d = await running_dispatcher(make())
    m = text("+919812340001")
    await out.messages.accept([m])
    d.notify(Channel.WHATSAPP, PHONES[0])
    sent = await until(lambda: _status(out, m.id, Status.SENT))
    assert sent.attempts == 3  # two throttled, then taken
    assert d.outcomes["throttled:ThrottledRequestException"] == 2
    lane = d.lane(Channel.WHATSAPP, PHONES[0])
    assert lane.rate.factor < 1.0  # slowed down, recovering gradually
    assert [c.ref for c in sandbox_log.read(log_path)] == [m.id]
    # What the dispatcher did is on /metrics: the calls by outcome, the throttles, the pace of the phone.
    labels = {"channel": "WHATSAPP", "origination": PHONES[0]}
    assert _sample("wecare_dispatch_throttles_total", labels) - before["throttles"] == 2
    assert _sample("wecare_dispatch_sends_total", {**labels, "outcome": "sent"}) - before["sent"] == 1
    assert 0 < _sample("wecare_dispatch_rate_per_second", labels) <= 10.0


async def test_a_5xx_is_in_doubt_never_sent_again_and_reported_unknown(parts, running_dispatcher):
    """InternalServiceException (500) does not prove the message was not taken (EUM may have handed it to Meta):
    the message is in doubt, never called again, and unknown once the reconcile window passes without a status
    event; it never reaches outbound-dlq, whose replay re-sends only what was refused."""
    out, _, sandbox, _, make, _ = parts
    sandbox.config.error_next = 1
    d = await running_dispatcher(make(max_attempts=3, reconcile_seconds=1.0))
    m = text("+919812340012")
    await out.messages.accept([m])
    d.notify(Channel.WHATSAPP, PHONES[0])
    unknown = await until(lambda: _status(out, m.id, Status.UNKNOWN))
    assert unknown.attempts == 1 and unknown.error.code == "OUTCOME_UNKNOWN"
    assert d.outcomes["in_doubt:InternalServiceException"] == 1 and sum(d.outcomes.values()) == 1
    await asyncio.sleep(1.0)
    assert (await out.messages.get(m.id)).attempts == 1  # not one more call
    assert await out.outbox.dead_letters_pending(10) == []
    assert await out.queue.requeue(m.id, time.time()) is None


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_out_of_retries_fails_with_the_reason_into_outbound_dlq(parts, running_dispatcher):
    out, _, sandbox, _, make, (endpoint, queue) = parts
    sandbox.config.throttle_next = 10  # refused each time (429): never taken, so another try is safe
    await running_dispatcher(make(max_attempts=2))
    m = text("+919812340002")
    await out.messages.accept([m])
    failed = await until(lambda: _status(out, m.id, Status.FAILED))
    assert failed.error.code == "RETRIES_EXHAUSTED" and "ThrottledRequestException" in failed.error.detail
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]

    def received():
        got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1)
        return got.get("Messages", [])

    letters = await until(lambda: asyncio.to_thread(received))
    body = json.loads(letters[0]["Body"])
    assert body["message"] == m.name and body["error"]["code"] == "RETRIES_EXHAUSTED"
    assert letters[0]["MessageAttributes"]["reason"]["StringValue"] == "RETRIES_EXHAUSTED"

    async def outbox_cleared():  # the outbox entry is cleared right after SQS took the letter
        return await out.outbox.dead_letters_pending(10) == []

    await until(outbox_cleared)
    assert len(await asyncio.to_thread(received)) == 0  # handed to SQS once, not again


async def test_validation_refusal_fails_without_retry(parts, running_dispatcher):
    out, _, _, _, make, _ = parts
    await running_dispatcher(make())
    m = text("+919812340003").replace(content={"text": {"body": "x" * 5000}})  # over Meta's limit
    await out.messages.accept([m])
    failed = await until(lambda: _status(out, m.id, Status.FAILED))
    assert failed.error.code == "ValidationException" and failed.attempts == 1


async def test_conversation_replies_go_ahead_of_bulk(parts, running_dispatcher):
    out, _, _, log_path, make, _ = parts
    bulk = [text(f"+9198123{i:05d}") for i in range(30)]
    await out.messages.accept(bulk)
    reply = text("+919899999999", lane=Lane.CONVERSATION)
    await out.messages.accept([reply])
    d = await running_dispatcher(make(phone_rates={p: 5.0 for p in PHONES}))
    d.notify(Channel.WHATSAPP, PHONES[0])
    await until(lambda: _status(out, reply.id, Status.SENT))
    refs = [c.ref for c in sandbox_log.read(log_path)]
    assert refs.index(reply.id) == 0  # accepted last, sent first


async def test_a_reply_accepted_behind_a_stocked_buffer_goes_next(parts, running_dispatcher):
    out, _, _, log_path, make, _ = parts
    d = await running_dispatcher(make(phone_rates={p: 5.0 for p in PHONES}))
    await out.messages.accept([text(f"+9198124{i:05d}") for i in range(200)])
    d.notify(Channel.WHATSAPP, PHONES[0], Lane.BULK)
    await until(lambda: _true(len(sandbox_log.read(log_path)) >= 3))
    reply = text("+919899999998", lane=Lane.CONVERSATION)
    await out.messages.accept([reply])
    d.notify(Channel.WHATSAPP, PHONES[0], Lane.CONVERSATION)
    await until(lambda: _status(out, reply.id, Status.SENT), within=5)
    assert len(sandbox_log.read(log_path)) <= 10  # it did not wait behind the 200 buffered


async def test_work_accepted_after_a_withdrawal_is_not_held_behind_the_withdrawn(parts, running_dispatcher):
    """A paused job's messages are withdrawn while they sit in the sender's buffer; the resumed job's
    messages must not wait for the dispatcher to walk the withdrawn ones through the pace (it took 20 s)."""
    out, _, _, log_path, make, _ = parts
    d = await running_dispatcher(make(phone_rates={p: 10.0 for p in PHONES}))
    paused = [text(f"+9198125{i:05d}", batch_id="job-1") for i in range(300)]
    await out.messages.accept(paused)
    d.notify(Channel.WHATSAPP, PHONES[0], Lane.BULK)
    await until(lambda: _true(len(sandbox_log.read(log_path)) >= 2))
    withdrawn = await out.messages.withdraw_batch("job-1", time.time())
    assert len(withdrawn.withdrawn) > 250
    resumed = [text(f"+9198126{i:05d}", batch_id="job-1b") for i in range(3)]
    await out.messages.accept(resumed)
    d.notify(Channel.WHATSAPP, PHONES[0], Lane.BULK)
    began = time.monotonic()
    for m in resumed:
        await until(lambda m=m: _status(out, m.id, Status.SENT), within=10)
    assert time.monotonic() - began < 3.0
    assert not {c.ref for c in sandbox_log.read(log_path)} & {m.id for m in withdrawn.withdrawn}


async def test_senders_sharing_a_binding_account_limit_keep_pace_and_finish_together(parts, running_dispatcher):
    """Four phones of 10/s under a 20/s account limit, the same backlog each: the account's budget is shared so
    that no phone trails on its own after the others are done (that tail cost a 13-phone send 2% of its rate)."""
    out, _, _, log_path, make, _ = parts
    phones = phone_ids(4)
    d = await running_dispatcher(make(phone_rates={p: 10.0 for p in phones}, account_rate=20.0))
    backlog = [text(f"+91981{n:02d}{i:05d}", origination=p) for n, p in enumerate(phones) for i in range(30)]
    await out.messages.accept(backlog)
    for p in phones:
        d.notify(Channel.WHATSAPP, p, Lane.BULK)
    await until(lambda: _true(len(sandbox_log.read(log_path)) >= len(backlog)), within=20)
    calls = sandbox_log.read(log_path)
    last = {p: max(c.t_ns for c in calls if c.origin == p) for p in phones}
    assert (max(last.values()) - min(last.values())) / 1e9 < 1.0, last
    assert sandbox_log.report(calls).account <= 20


async def test_the_calls_of_a_trace_share_a_span_of_it(parts, running_dispatcher):
    """The provider calls continue the accepting request's trace: the calls of one trace within a second share one
    PRODUCER span under the accepting span, counting them by outcome; a call that did not end sent is an event
    naming its message (a span a send was more than the rest of the dispatcher's own work for it)."""
    out, _, sandbox, _, make, _ = parts
    exporter = span_exporter()
    trace_id, parent_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    sandbox.config.throttle_next = 1
    carried = {"traceparent": f"00-{trace_id}-{parent_id}-01"}
    ms = [text(f"+91981234999{i}", extra=carried) for i in range(3)]
    d = await running_dispatcher(make())
    await out.messages.accept(ms)
    d.notify(Channel.WHATSAPP, PHONES[0])
    for m in ms:
        await until(lambda m=m: _status(out, m.id, Status.SENT))

    def ours():
        return [s for s in exporter.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]

    await until(lambda: _true(sum(s.attributes.get("wecare.outcome.sent", 0) for s in ours()) == 3))
    spans = ours()
    assert {(s.name, s.kind.name, format(s.parent.span_id, "016x")) for s in spans} == {
        ("dispatch WHATSAPP", "PRODUCER", parent_id)
    }
    assert len(spans) < 4, "fewer spans than calls"
    assert sum(s.attributes["messaging.batch.message_count"] for s in spans) == 4  # three sends, one throttled
    assert all(s.attributes["wecare.originations"] == (PHONES[0],) for s in spans)
    (event,) = [e for s in spans for e in s.events]
    assert event.attributes["wecare.outcome"] == "throttled" and event.attributes["messaging.message.id"] in {
        m.id for m in ms
    }
    assert event.attributes["wecare.error_code"] == "ThrottledRequestException"


async def test_failure_codes_act_on_later_sends(parts, running_dispatcher):
    out, _, _, _, make, _ = parts
    d = await running_dispatcher(make())
    m = text("+919812340004", category=Category.MARKETING)
    await out.messages.accept([m])
    await until(lambda: _status(out, m.id, Status.SENT))

    await d.reactions.react_to_failure(m, "131050")
    assert await out.suppressions.suppressed(m.recipient, "marketing", time.time()) == "131050"
    assert await out.suppressions.suppressed(m.recipient, "utility", time.time()) is None

    await d.reactions.react_to_failure(m, "131048")
    await until(lambda: _true(d.paused_until(Channel.WHATSAPP, PHONES[0]) > time.time() + 60))
    held = text("+919812340005")
    await out.messages.accept([held])
    d.notify(Channel.WHATSAPP, PHONES[0])
    await asyncio.sleep(1.5)
    assert (await out.messages.get(held.id)).status == Status.ACCEPTED  # the paused phone sends nothing

    other = text("+919812340006", origination=PHONES[1])
    await out.messages.accept([other])
    d.notify(Channel.WHATSAPP, PHONES[1])
    await until(lambda: _status(out, other.id, Status.SENT))  # the other phone is not paused

    from services.messaging.domain.model import StatusEvent

    capped = text("+919812340007", origination=PHONES[1], category=Category.MARKETING)
    await out.messages.accept([capped])
    sent = await until(lambda: _status(out, capped.id, Status.SENT))
    await out.messages.apply_status(
        StatusEvent(sent.provider_message_id, Status.LIMITED, time.time(), capped.id, error=MessageError("131049"))
    )
    limited = await out.messages.get(capped.id)
    await d.reactions.react_to_failure(limited, "131049")
    await d.reactions.react_to_failure(limited, "131049")  # the event again: still one re-attempt
    linked = await out.messages.get(capped.id)
    assert linked.status == Status.LIMITED and linked.extra["reattempt_key"] == f"messages/{capped.id}/reattempt-1"
    again = await out.messages.get(linked.extra["reattempt"])
    assert again.queued and again.due_time > time.time() + 23 * 3600 and again.extra["reattempt_of"] == capped.id
    assert await d.reactions.reattempt(again.replace(status=Status.LIMITED), time.time()) is None  # one at most

    before = d.lane(Channel.WHATSAPP, PHONES[1]).rate.factor
    await d.reactions.react_to_failure(other, "130429")
    await until(lambda: _true(d.lane(Channel.WHATSAPP, PHONES[1]).rate.factor < before))


class Judge:
    """A group check that defers messages to ...9101 and fails those to ...9102."""

    def __init__(self):
        self.seen: list[str] = []

    async def check(self, messages, now):
        self.seen += [m.recipient for m in messages]
        out = {}
        for m in messages:
            if m.recipient == "+919812349101":
                out[m.id] = deferred(now + 3600, "TIER_LIMIT", "the window is full")
            elif m.recipient == "+919812349102":
                out[m.id] = failed("MARKETING_FREQUENCY_CAP", "3 in 7 days")
        return out


async def test_the_pre_call_checks_defer_and_fail_before_the_hand_off(parts, running_dispatcher):
    out, _, _, log_path, make, _ = parts
    judge = Judge()
    d = await running_dispatcher(make(group_checks=GroupChecks([judge])))
    later, refused, going = text("+919812349101"), text("+919812349102"), text("+919812349103")
    await out.messages.accept([later, refused, going])
    d.notify(Channel.WHATSAPP, PHONES[0])
    await until(lambda: _status(out, going.id, Status.SENT))
    ended = await until(lambda: _status(out, refused.id, Status.FAILED))
    assert ended.error.code == "MARKETING_FREQUENCY_CAP" and ended.handoff_time is None
    waiting = await out.messages.get(later.id)
    assert waiting.queued and waiting.due_time > time.time() + 3000 and waiting.error.code == "TIER_LIMIT"
    assert [c.to for c in sandbox_log.read(log_path)] == ["+919812349103"]  # only the one let through was called
    assert refused.id not in [x.id for x in await out.outbox.dead_letters_pending(10)]


async def test_stop_finishes_calls_in_flight_and_frees_the_senders(parts):
    out, _, sandbox, log_path, make, _ = parts
    sandbox.config.response_delay_ms = 400
    d = make(phone_rates={p: 50.0 for p in PHONES})
    task = asyncio.create_task(d.run())
    await until(lambda: _true(d.heartbeats > 0))
    batch = [text(f"+9197123{i:05d}", origination=PHONES[i % 2]) for i in range(40)]
    await out.messages.accept(batch)
    for p in PHONES:
        d.notify(Channel.WHATSAPP, p)
    await until(lambda: _true(len(sandbox_log.read(log_path)) >= 5))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    states = [await out.messages.get(m.id) for m in batch]
    logged = {c.ref for c in sandbox_log.read(log_path)}
    for m in states:
        if m.id in logged:
            assert m.status == Status.SENT  # taken by the provider, answer awaited and recorded
        else:
            assert m.queued, (
                m.status,
                m.handoff_time,
                m.error,
                m.attempts,
                m.due_time,
            )  # never handed over: still queued for whoever owns the phone next
    doc, _ = await out.coordination.load_coordination()
    assert all(entry["owner"] is None for entry in doc["senders"].values())


async def _status(out, message_id: str, status: Status):
    m = await out.messages.get(message_id)
    return m if m is not None and m.status == status else None
