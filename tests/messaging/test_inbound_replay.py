"""The replay loop of services/messaging/inbound/dead_letters.py against an in-memory queue with SQS's
visibility rules and a virtual clock: the rate cap paces exactly, the maximum count holds, a letter SQS hands
out twice is handled once, failures stay, and a replay stopped midway (the caller went away) leaves every
letter it took but did not finish visible again. The SQS side itself runs on moto in test_inbound_dead_letters."""

from __future__ import annotations

import contextlib
import itertools
import json

import pytest

from services.messaging.inbound.dead_letters import (
    ALREADY_DONE,
    FAILED,
    REPLAYED,
    WOULD_REPLAY,
    DeadLetters,
    Letter,
    ReplayFailed,
    letter_of,
    sns_notification,
)


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Queue:
    """SQS as the replay sees it: receive hides a message until released or its visibility ends (never, here)."""

    name = "test-dlq"

    def __init__(self, bodies: list[str], duplicate_first: bool = False):
        self.messages = {f"m{i}": body for i, body in enumerate(bodies)}
        self.visible = list(self.messages)
        self.duplicate_first = duplicate_first  # SQS at-least-once: hands m0 out again in the next receive
        self.receipts = 0
        self.deleted: list[str] = []
        self.released: list[str] = []

    async def receive(self, max_count: int = 10, visibility_timeout: int = 30) -> list[dict]:
        first = self.receipts == 0
        taken, self.visible = self.visible[:max_count], self.visible[max_count:]
        if self.duplicate_first and not first:
            taken.insert(0, "m0")
            self.duplicate_first = False
        out = []
        for mid in taken:
            self.receipts += 1
            out.append({"MessageId": mid, "ReceiptHandle": f"{mid}#{self.receipts}", "Body": self.messages[mid]})
        return out

    async def delete(self, receipt_handle: str) -> None:
        self.deleted.append(receipt_handle.split("#")[0])

    async def release(self, receipt_handles: list[str]) -> None:
        for handle in receipt_handles:
            mid = handle.split("#")[0]
            self.released.append(mid)
            if mid not in self.deleted and mid not in self.visible:
                self.visible.append(mid)

    async def approximate_count(self) -> int:
        return len(self.messages) - len(self.deleted)


def replayer(queue: Queue, handler, clock: Clock) -> DeadLetters:
    return DeadLetters({"q": queue}, {"q": handler}, clock=clock, sleep=clock.sleep)


async def steps_of(dead: DeadLetters, **options) -> list:
    return [step async for step in dead.replay("q", **options)]


async def test_rate_cap_and_maximum_count():
    queue, clock, done = Queue([f"b{i}" for i in range(25)]), Clock(), []

    async def handler(letter: Letter) -> bool:
        done.append(clock.now)
        return True

    steps = await steps_of(replayer(queue, handler, clock), dry_run=False, max_count=12, per_second=4)
    assert [s.outcome for s in steps] == [REPLAYED] * 12
    assert [b - a for a, b in itertools.pairwise(done)] == [0.25] * 11  # exactly four a second
    assert len(queue.deleted) == 12 and len(queue.visible) == 13
    assert queue.released == []  # nothing taken beyond the maximum


async def test_dry_run_changes_nothing():
    queue, clock = Queue(["a", "b", "c"]), Clock()

    async def handler(letter: Letter) -> bool:
        raise AssertionError("a dry run calls no handler")

    steps = await steps_of(replayer(queue, handler, clock), dry_run=True, max_count=10, per_second=1)
    assert [s.outcome for s in steps] == [WOULD_REPLAY] * 3
    assert queue.deleted == [] and sorted(queue.visible) == ["m0", "m1", "m2"]
    assert clock.sleeps == []


async def test_a_letter_handed_out_twice_is_handled_once_and_failures_stay():
    queue, clock, seen = Queue(["ok", "bad", "ok2"], duplicate_first=True), Clock(), []

    async def handler(letter: Letter) -> bool:
        seen.append(letter.id)
        if letter.body == "bad":
            raise ReplayFailed("still broken")
        return letter.body == "ok"

    steps = await steps_of(replayer(queue, handler, clock), dry_run=False, max_count=10, per_second=100)
    assert [(s.letter.id, s.outcome) for s in steps] == [("m0", REPLAYED), ("m1", FAILED), ("m2", ALREADY_DONE)]
    assert steps[1].detail == "still broken"
    assert seen == ["m0", "m1", "m2"]  # m0, handed out again in the same run, was not handled twice
    assert queue.visible == ["m1"]  # the failure stays for the next replay
    assert sorted(queue.deleted) == ["m0", "m2"]


async def test_a_replay_stopped_midway_leaves_the_rest_visible():
    queue, clock = Queue([f"b{i}" for i in range(10)]), Clock()

    async def handler(letter: Letter) -> bool:
        return True

    steps = replayer(queue, handler, clock).replay("q", dry_run=False, max_count=10, per_second=10)
    async with contextlib.aclosing(steps):
        got = [await anext(steps), await anext(steps)]
    assert [s.outcome for s in got] == [REPLAYED, REPLAYED]
    assert sorted(queue.deleted) == ["m0", "m1"]
    assert sorted(queue.visible) == sorted(f"m{i}" for i in range(2, 10))  # taken, not done: visible again


async def test_an_unexpected_error_fails_that_letter_only():
    queue, clock = Queue(["x", "y"]), Clock()

    async def handler(letter: Letter) -> bool:
        if letter.body == "x":
            raise OSError("store unreachable")
        return True

    steps = await steps_of(replayer(queue, handler, clock), dry_run=False, max_count=10, per_second=100)
    assert [(s.outcome, s.detail) for s in steps] == [(FAILED, "OSError: store unreachable"), (REPLAYED, "")]
    assert queue.visible == ["m0"]


def test_letters_and_notifications():
    raw = {
        "MessageId": "sqs-1",
        "ReceiptHandle": "r",
        "Body": json.dumps({"message": "messages/01ABC", "reason": "RETRIES_EXHAUSTED: boom"}),
        "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1795000000123"},
        "MessageAttributes": {"reason": {"StringValue": "RETRIES_EXHAUSTED", "DataType": "String"}},
    }
    letter = letter_of(raw)
    assert (letter.message, letter.reason, letter.receive_count) == ("messages/01ABC", "RETRIES_EXHAUSTED", 3)
    assert letter.sent_time == pytest.approx(1795000000.123)
    envelope = json.dumps({"Type": "Notification", "MessageId": "sns-1", "Message": '{"whatsAppWebhookEntry": "{}"}'})
    assert sns_notification(envelope) == ("sns-1", '{"whatsAppWebhookEntry": "{}"}')
    raw_event = json.dumps({"whatsAppWebhookEntry": "{}", "messageId": "eum-1"})
    assert sns_notification(raw_event) == ("eum:eum-1", raw_event)
    for bad in ("not json", "[]", json.dumps({"Type": "Notification"})):
        with pytest.raises(ReplayFailed):
            sns_notification(bad)
