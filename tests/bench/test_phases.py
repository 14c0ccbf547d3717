"""Grouping a py-spy raw profile by phase (bench/phases.py): waiting is left out, tracing counts as tracing
wherever it runs, otherwise the innermost frame a rule knows decides."""

from __future__ import annotations

from bench.phases import LOOP, OBSERVABILITY, WAITING, kind_of, markdown, phase_of, summarise

LOOP_FRAMES = "run (/py/asyncio/runners.py:118);Handle._run (/py/asyncio/events.py:80)"
CALL = "Caller._call (/w/services/messaging/dispatch/calls.py:97)"
SEND = "WhatsAppProvider.send (/w/services/messaging/adapters/providers.py:118)"
SIGN = "SigV4Auth.add_auth (/venv/site-packages/botocore/auth.py:420)"
SPAN = "Tracer.start_span (/venv/site-packages/opentelemetry/sdk/trace/__init__.py:1100)"
RECORD = "SqliteSendQueue.record_results.<locals>.run (/w/services/messaging/adapters/sqlite_store/send_queue.py:50)"
SELECT = "EpollSelector.select (/py/selectors.py:468)"
WORKER = "_worker (/py/concurrent/futures/thread.py:81)"


def stack(*frames: str) -> list[str]:
    return ";".join(frames).split(";")


def test_phases_of_stacks():
    assert phase_of(stack(LOOP_FRAMES, CALL, SEND, SIGN), "messaging") == "provider call (SDK, HTTP client)"
    assert phase_of(stack(LOOP_FRAMES, CALL, SEND, SPAN), "messaging") == OBSERVABILITY  # a span inside the call
    assert phase_of(stack("Thread._bootstrap (/py/threading.py:995)", RECORD), "messaging") == "result record"
    assert phase_of(stack(LOOP_FRAMES, SELECT), "messaging") == WAITING
    assert phase_of(stack("Thread._bootstrap (/py/threading.py:995)", WORKER), "messaging") == WAITING
    assert phase_of(stack(LOOP_FRAMES), "messaging") == LOOP
    assert phase_of(stack(LOOP_FRAMES, CALL), "messaging") == "dispatch scheduling"
    assert kind_of("messaging-2") == "messaging"  # every messaging process takes messaging's rules


def test_summary_counts_samples_and_leaves_out_waiting():
    lines = [
        f"{LOOP_FRAMES};{CALL};{SEND};{SIGN} 30\n",
        f"{LOOP_FRAMES};{CALL};{SEND};{SPAN} 10\n",
        f"{LOOP_FRAMES};{SELECT} 500\n",
        f"{LOOP_FRAMES} 10\n",
        "garbage\n",
    ]
    s = summarise(lines, "messaging")
    assert (s.samples, s.waiting) == (50, 500)
    assert s.phases == {"provider call (SDK, HTTP client)": 30, OBSERVABILITY: 10, LOOP: 10}
    assert s.leaves["provider call (SDK, HTTP client)"] == {"SigV4Auth.add_auth (botocore/auth.py)": 30}
    table = markdown("messaging", s, cpu_us=1000.0)
    assert "| provider call (SDK, HTTP client) | 30 | 60% | 600 |" in table


def test_accepting_a_streamed_send_is_not_taken_for_tracing():
    accept = "Sends._accept_drafts (/w/services/messaging/outbound/sends.py:102)"
    prepare = "Acceptance.prepare_many (/w/services/messaging/outbound/acceptance.py:80)"
    phase = "durable accept (stream in, checks, store, progress)"
    assert phase_of(stack(LOOP_FRAMES, accept, prepare), "messaging") == phase
    assert phase_of(
        stack(LOOP_FRAMES, "HandOff._hand_off (/w/services/messaging/dispatch/handoff.py:70)"), "messaging"
    ) == ("hand-off (queue read, mark)")
    assert phase_of(
        stack(LOOP_FRAMES, "Leases.heartbeat (/w/services/messaging/dispatch/leases.py:95)"), "messaging"
    ) == ("coordination")
