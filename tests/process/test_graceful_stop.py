"""SIGTERM while a contacts process is busy: the stop Kubernetes does on every rollout.

One contacts process runs on its own (python -m services.contacts, its own data dir, drain 1 s, grace 10 s) while
many concurrent unary calls (CreateContact, and BatchCreateContacts that take longer) keep it busy and a Health/Watch
stream watches it. Then SIGTERM. Proves, from the client and from the server's own spans:
- health turns NOT_SERVING first, and calls started after that still succeed (the drain), before the server stops
  accepting (later calls are refused with UNAVAILABLE);
- every call the server accepted finished OK, including calls still in flight when it stopped accepting: each call
  carries its own trace id, and every OK call has its server span with status OK, while no refused call has one.
  Refused means UNAVAILABLE, or CANCELLED at the very instant of the stop: gRPC cancels calls still queued in its
  core, not yet handed to the service, when the server stops (the service never ran them; a client that honours
  NOT_SERVING, as a load balancer does during the drain, sends none);
- the process exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import dataclass

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.process.localstack import CONTACTS_SERVICE, start_contacts
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

pytestmark = pytest.mark.process

DRAIN_SECONDS = 1.0
UNARY_WORKERS = 8
BATCH_WORKERS = 4
BATCH_SIZE = 400
STOP_INSTANT_SECONDS = 0.25


@dataclass
class CallRecord:
    trace_id: str
    start: float
    end: float
    code: grpc.StatusCode


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-{os.urandom(8).hex()}-01"


async def test_sigterm_drains_then_stops_and_loses_no_accepted_call(stack, tmp_path):
    # Whether a call is still running at the instant the server stops accepting is up to timing (on a loaded
    # machine gRPC may have handed none over yet); every run checks every property, and the case of a call in
    # flight at the stop must come up in one of three.
    for attempt in range(3):
        folder = tmp_path / f"run{attempt}"
        folder.mkdir()
        if await _sigterm_while_busy(stack, folder):
            return
    pytest.fail("in three runs no call was in flight when the server stopped accepting")


async def _sigterm_while_busy(stack, tmp_path) -> bool:
    """One SIGTERM under load; asserts every property, returns whether a call was in flight at the stop."""
    traces = tmp_path / "traces.jsonl"
    contacts = start_contacts(
        stack,
        tmp_path / "data",
        tmp_path / "contacts.log",
        WECARE_DRAIN_SECONDS=str(DRAIN_SECONDS),
        WECARE_GRACE_SECONDS="10",
        WECARE_TRACE_FILE=str(traces),
    )
    token = stack.token("operator")
    records: list[CallRecord] = []
    not_serving_at: list[float] = []
    sigterm_at: list[float] = []

    async with grpc.aio.insecure_channel(contacts.address) as channel:
        stub = contacts_service_pb2_grpc.ContactsServiceStub(channel)

        warmed_up = asyncio.Event()

        async def call(request, method) -> bool:
            trace_id = os.urandom(16).hex()
            metadata = (("authorization", f"Bearer {token}"), ("traceparent", traceparent(trace_id)))
            start = time.monotonic()
            try:
                await method(request, metadata=metadata, timeout=30)
                code = grpc.StatusCode.OK
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
            records.append(CallRecord(trace_id, start, time.monotonic(), code))
            if sum(r.code is grpc.StatusCode.OK for r in records) >= 50:
                warmed_up.set()
            return code is grpc.StatusCode.OK

        async def unary_worker(worker: int) -> None:
            n = 0
            while await call(
                pb.CreateContactRequest(
                    contact=pb.Contact(display_name=f"u{worker}-{n}", phone_number=f"+9197{worker:02d}{n:06d}")
                ),
                stub.CreateContact,
            ):
                n += 1

        async def batch_worker(worker: int) -> None:
            first = 0
            while await call(
                pb.BatchCreateContactsRequest(
                    requests=[
                        pb.CreateContactRequest(
                            contact=pb.Contact(display_name=f"b{worker}", phone_number=f"+9196{worker:02d}{i:06d}")
                        )
                        for i in range(first, first + BATCH_SIZE)
                    ]
                ),
                stub.BatchCreateContacts,
            ):
                first += BATCH_SIZE

        async def watch_health() -> None:
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=CONTACTS_SERVICE))
            async for reply in watch:
                if reply.status == health_pb2.HealthCheckResponse.NOT_SERVING and sigterm_at:
                    not_serving_at.append(time.monotonic())
                    watch.cancel()  # a load balancer stops watching; an open stream would hold the stop for `grace`
                    return

        watcher = asyncio.create_task(watch_health())
        workers = [asyncio.create_task(unary_worker(i)) for i in range(UNARY_WORKERS)]
        workers += [asyncio.create_task(batch_worker(i)) for i in range(BATCH_WORKERS)]
        await asyncio.wait_for(warmed_up.wait(), timeout=30)
        sigterm_at.append(time.monotonic())
        contacts.proc.send_signal(signal.SIGTERM)
        # Every worker runs until its first refusal; the deadline only guards against a hang.
        await asyncio.wait_for(asyncio.gather(*workers, watcher), timeout=30)

    exit_code = await asyncio.to_thread(contacts.proc.wait, 30)
    assert exit_code == 0, contacts.log.read_text()

    ok = [r for r in records if r.code is grpc.StatusCode.OK]
    refused = [r for r in records if r.code is not grpc.StatusCode.OK]
    assert len(refused) == UNARY_WORKERS + BATCH_WORKERS  # each worker stopped at its first refusal
    unavailable = [r for r in refused if r.code is grpc.StatusCode.UNAVAILABLE]
    assert unavailable, "no call was refused: the server never stopped accepting while calls came"
    stopped_accepting = min(r.end for r in unavailable)
    # gRPC itself cancels calls that reached its queue but were not yet handed to the service when the stop began
    # (clients that ignore NOT_SERVING can land one in that instant). They end at the stop, never ran (no span,
    # below) and are the only other refusal allowed.
    cancelled_at_stop = [
        r
        for r in refused
        if r.code is grpc.StatusCode.CANCELLED and abs(r.end - stopped_accepting) < STOP_INSTANT_SECONDS
    ]
    assert len(unavailable) + len(cancelled_at_stop) == len(refused), [
        (r.code, r.end - stopped_accepting) for r in refused
    ]

    # NOT_SERVING came first; the server kept serving through the drain, then stopped accepting.
    (t_not_serving,) = not_serving_at
    assert sigterm_at[0] < t_not_serving < min(r.start for r in refused)
    assert [r for r in ok if r.start > t_not_serving], "no call was served during the drain"
    # Calls in flight when the server had already refused a new one: accepted before it stopped, finished OK after.
    in_flight_at_stop = [r for r in ok if r.end > stopped_accepting]

    # The server's side: every call it accepted has a span, and every such span ended OK; no refused call ran.
    spans = [json.loads(line) for line in traces.read_text().splitlines()]
    served = {s["trace_id"]: s for s in spans if s["name"].startswith(CONTACTS_SERVICE) and s["kind"] == "SERVER"}
    assert all(s["attributes"]["rpc.grpc.status_code"] == 0 for s in served.values())
    assert {r.trace_id for r in ok} == set(served), "an accepted call has no OK span, or a span has no OK call"
    assert not {r.trace_id for r in refused} & set(served)
    return bool(in_flight_at_stop)
