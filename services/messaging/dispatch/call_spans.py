"""Tracing the provider calls without a span a send: the calls made for one accepting trace (the traceparent kept
with each message) within WINDOW share one span, `dispatch <CHANNEL>` (PRODUCER), a child of the span that accepted
them. A trace still shows when its messages went out and how they fared, even when another messaging process sends
them minutes later; a span a send cost the dispatcher more than the rest of its own work for that send (issue 13),
and a 20,000-message send now makes a few dozen spans.

The span counts its calls (messaging.batch.message_count) and their outcomes (wecare.outcome.<kind>, and
wecare.outcome when they all ended alike); each call that did not end sent is an event of it naming the message,
its attempt, outcome and error code. It starts with its first call and ends when the last call that joined it
finishes; calls starting after WINDOW open the next one."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.messaging.adapters.providers import CallOutcome
from services.messaging.domain.model import Channel, OutboundMessage

WINDOW = 1.0  # seconds a span takes new calls for
W3C = TraceContextTextMapPropagator()


class CallSpan:
    """One span's calls, open while it takes new ones and until the last of them has finished."""

    __slots__ = ("ended_ns", "in_flight", "key", "originations", "outcomes", "span", "taking")

    def __init__(self, span: trace.Span, key: tuple[Channel, str]):
        self.span, self.key = span, key
        self.in_flight = 0
        self.outcomes: Counter[str] = Counter()
        self.originations: set[str] = set()
        self.taking = True
        self.ended_ns = 0


class CallSpans:
    def __init__(self, window: float = WINDOW):
        self._tracer = trace.get_tracer("wecare.dispatch")
        self._window = window
        self._open: dict[tuple[Channel, str], CallSpan] = {}  # spans taking calls, by (channel, traceparent)
        self._running: set[CallSpan] = set()  # every span not ended yet

    def begin(self, channel: Channel, m: OutboundMessage) -> CallSpan:
        """The span a call starting now belongs to (opened when none of its trace is taking calls)."""
        carried = m.extra.get("traceparent", "")
        key = (channel, carried)
        group = self._open.get(key)
        if group is None:
            parent = W3C.extract({"traceparent": carried}) if carried else None
            span = self._tracer.start_span(f"dispatch {channel.name}", context=parent, kind=trace.SpanKind.PRODUCER)
            group = self._open[key] = CallSpan(span, key)
            self._running.add(group)
            asyncio.get_running_loop().call_later(self._window, self._stop_taking, group)
        group.in_flight += 1
        group.originations.add(m.origination)
        return group

    def end(self, group: CallSpan, m: OutboundMessage, outcome: CallOutcome) -> None:
        group.in_flight -= 1
        group.outcomes[outcome.kind] += 1
        group.ended_ns = time.time_ns()
        if outcome.kind != "sent":
            group.span.add_event(
                "call",
                {
                    "messaging.message.id": m.id,
                    "wecare.attempt": m.attempts + 1,
                    "wecare.outcome": outcome.kind,
                    "wecare.error_code": outcome.error.code if outcome.error else "",
                },
            )
        if not group.taking and group.in_flight == 0:
            self._finish(group)

    def close(self) -> None:
        """At a stop (the calls have finished or been given up on): every span ends."""
        for group in list(self._running):
            self._finish(group)

    def _stop_taking(self, group: CallSpan) -> None:
        group.taking = False
        if self._open.get(group.key) is group:
            del self._open[group.key]
        if group.in_flight == 0:
            self._finish(group)

    def _finish(self, group: CallSpan) -> None:
        if group not in self._running:
            return
        self._running.discard(group)
        if self._open.get(group.key) is group:
            del self._open[group.key]
        span = group.span
        span.set_attribute("messaging.batch.message_count", sum(group.outcomes.values()))
        span.set_attribute("wecare.originations", sorted(group.originations))
        for kind, count in group.outcomes.items():
            span.set_attribute(f"wecare.outcome.{kind}", count)
        if len(group.outcomes) == 1:
            span.set_attribute("wecare.outcome", next(iter(group.outcomes)))
        span.end(end_time=group.ended_ns or None)
