"""A STOP during a streamed send, through the whole stack as `make run` starts it, on both stores (SQLite, and
DynamoDB on the embedded moto): 400 (on moto 80) template messages accepted by one SendMessages stream go out from
one phone; once sending is under way the last 20 recipients write STOP to the sandbox, which delivers it as EUM
Social does (SNS -> gateway -> messaging). Read independently from the sandbox log: none of the 20 gets the
campaign's message (only the opt-out confirmation, which is not the campaign's), each of their messages ends
WITHDRAWN, every other recipient gets it once, and the stream was still sending after the STOPs. Before consent
was checked at the call and a STOP withdrew what was queued, all 20 were sent (issue 12, point 2)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
import requests

from localrun.handle import running_stack
from localrun.sandbox import log as sandbox_log
from runtime.settings import Settings
from tests.messaging.scenarios import stream_send
from tests.messaging.support import recipients, whatsapp_template
from tests.support.polling import until
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

pytestmark = pytest.mark.process

STOPPING = 20
PHONE = Settings().whatsapp_phone_number_ids[0]
PREFIX = "streams/stop-demo/"


def _keyed(i: int, recipient: str) -> pb.Message:
    """A utility template (order updates: marketing would need each number's opt-in in contacts first); a STOP
    opts the customer out of the channel, whatever the category."""
    return whatsapp_template(recipient, PHONE, key=f"{PREFIX}{i}")


async def _states(address: str, metadata: tuple, keys: list[str]) -> dict[str, int]:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await pb_grpc.MessagingServiceStub(channel).BatchGetMessageStates(
            pb.BatchGetMessageStatesRequest(idempotency_keys=keys), metadata=metadata, timeout=10
        )
    return {s.idempotency_key: s.status for s in reply.states}


# moto's DynamoDB copies a table for every transaction and takes one request at a time, so the DynamoDB run is
# smaller and slower; in both the STOPs come with several seconds of the stream still to send.
@pytest.mark.parametrize(("store", "campaign", "rate"), [("sqlite", 400, 40), ("dynamodb", 80, 8)])
def test_a_stop_during_a_stream_withdraws_that_recipients_queued_message(tmp_path, store, campaign, rate):
    env = {"WECARE_STORE": store, "WECARE_WHATSAPP_PHONE_RATE": str(rate), "WECARE_MESSAGING_PROCESSES": "1"}
    with running_stack(tmp_path, extra_env=env) as stack:
        address = stack.addresses["messaging"]
        metadata = (("authorization", f"Bearer {stack.service_token('bulk')}"),)
        numbers = recipients(campaign, start=5_000)
        messages = [_keyed(i, r) for i, r in enumerate(numbers)]
        log_path = stack.run.root / "sandbox-sent.jsonl"

        def campaign_calls() -> list[sandbox_log.Call]:
            return [c for c in sandbox_log.read(log_path) if f"|{PREFIX}" in c.ref]

        sending = _background(stream_send(address, messages, metadata=metadata))

        def under_way() -> bool:
            if sending.done():
                sending.result()  # a stream that ended early says why
            return len(campaign_calls()) >= campaign // 4

        until("sending under way", under_way, within=120)
        stopping = numbers[-STOPPING:]
        sandbox = f"http://{stack.addresses['sandbox']}"
        for number in stopping:
            reply = requests.post(
                f"{sandbox}/sandbox/inbound", json={"phone": PHONE, "from": number, "text": "STOP"}, timeout=10
            )
            assert reply.status_code == 200, reply.text
        stopped_at = time.time()
        keys = [f"{PREFIX}{campaign - STOPPING + i}" for i in range(STOPPING)]
        seen: dict[str, int] = {}

        def withdrawn() -> dict[str, int]:
            seen.update(asyncio.run(_states(address, metadata, keys)))
            return len(seen) == STOPPING and all(v == pb.STATUS_WITHDRAWN for v in seen.values()) and seen

        try:
            until(f"the {STOPPING} withdrawn", withdrawn, within=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {sorted(pb.Status.Name(v) for v in seen.values())}") from None
        totals = sending.result(timeout=300)
        calls = campaign_calls()

    stopping = {n.lstrip("+") for n in stopping}  # the log has the number as Meta takes it, without +
    to_stopped = [c for c in calls if c.to.lstrip("+") in stopping]
    assert to_stopped == [], f"the campaign reached {len(to_stopped)} of those who wrote STOP"
    sent_to = {c.to.lstrip("+") for c in calls}
    assert sent_to == {n.lstrip("+") for n in numbers} - stopping  # every other recipient once ...
    assert len(calls) == len(sent_to)  # ... and only once
    assert (totals.requested, totals.refused) == (campaign, 0)
    assert max(c.t_ns for c in calls) / 1e9 > stopped_at  # the stream was still sending after the STOPs


def _background(coroutine):
    """Runs the stream on a thread of its own (its own event loop); .result() waits for its totals."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(asyncio.run, coroutine)
    pool.shutdown(wait=False)
    return future
