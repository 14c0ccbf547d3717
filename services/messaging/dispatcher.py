"""The Dispatcher: takes accepted messages from the store's send queue and hands them to the providers at the
highest rate the channels allow and never above it, durably, across any number of messaging processes.

Limits across processes (domain.coordination has the full argument): every sender (WhatsApp phone number, SMS
origination identity, SES sender) is owned by exactly one process at a time through a lease in the store's
coordination document, renewed by a heartbeat once a second; the account-wide limits (SendWhatsAppMessage
1,000/s, media post and get 100/s each) are split into shares that sum to at most one, the send share following
the owned phones' limits. Within a process every limit is a paced sliding-window log counted by completion time
(domain.pacing), which no latency or jitter can break: per phone (its configured limit, less the inbound rate
observed on it, times a factor that halves on throttling and recovers gradually), the process's part of the
account limits, and the pair rule (one sender to one recipient every ~6 s). A process stops calling before its
lease could lapse (self-fencing), and a sender changes hands only after a hold of one window plus the longest
call, so two owners never meet in one window.

Per sender, messages go in lane order: replies inside a customer's 24-hour window first, then one-off sends, then
bulk. Durability: a message is marked handed off in the store (group-committed with its neighbours) before its
provider call and is never handed off twice; a call's outcome is recorded (group-committed): sent, failed (to
outbound-dlq through the store's outbox), retried with backoff (throttling, 5xx, connection refused) up to
dispatch_max_attempts, or in doubt (no answer). In-doubt messages are reconciled by status events (their
biz_opaque_callback_data names them) and reported UNKNOWN after dispatch_reconcile_seconds; never re-sent.
After kill -9 the queue is simply still there: whoever owns the sender next continues it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from runtime import ids, metrics
from services.messaging.adapters.providers import CallOutcome, ChannelProvider, WhatsAppProvider
from services.messaging.adapters.queues import SqsQueue
from services.messaging.adapters.store import InboundStore, OutboundStore
from services.messaging.domain import coordination, meta
from services.messaging.domain.coordination import MEDIA_GET, MEDIA_POST, SEND, Timing, View
from services.messaging.domain.model import Channel, Lane, MessageError, OutboundMessage, SendResult
from services.messaging.domain.pacing import CallWindow, PairGuard, SenderRate

log = logging.getLogger("wecare.messaging.dispatcher")
W3C = TraceContextTextMapPropagator()

MEDIA_ID_LIFETIME = 29 * 24 * 3600  # Meta keeps an uploaded media id 30 days; renew a day early
REFILL = 256  # messages fetched per refill of a sender's buffer
LOW_WATER = 64
IDLE_POLL = 0.25  # how often an idle sender looks for work accepted by other processes
SLOW_WRITE = 0.25  # seconds: a hand-off or result write slower than this is logged


@dataclass(frozen=True)
class DispatchConfig:
    phone_rates: dict[str, float]
    sms_senders: tuple[str, ...] = ()
    sms_rate: float = 20.0
    email_sender: str = ""
    email_rate: float = 14.0
    account_rate: float = 1000.0
    media_post_rate: float = 100.0
    media_get_rate: float = 100.0
    pair_gap: float = 6.0
    pace: float = 0.99
    max_attempts: int = 5
    reconcile_seconds: float = 60.0
    timing: Timing = field(default_factory=Timing)
    heartbeat_interval: float = 1.0
    sender_pause_seconds: float = 900.0  # 131048

    @classmethod
    def from_settings(cls, settings) -> DispatchConfig:
        overrides = dict(item.split("=", 1) for item in settings.whatsapp_phone_rates)
        rates = {p: float(overrides.get(p, settings.whatsapp_phone_rate)) for p in settings.whatsapp_phone_number_ids}
        return cls(
            phone_rates=rates,
            sms_senders=settings.sms_origination_identities,
            sms_rate=settings.sms_rate,
            email_sender=settings.email_sender,
            email_rate=settings.email_rate,
            account_rate=settings.whatsapp_account_rate,
            media_post_rate=settings.whatsapp_media_post_rate,
            media_get_rate=settings.whatsapp_media_get_rate,
            pair_gap=settings.whatsapp_pair_interval_seconds,
            pace=settings.dispatch_pace,
            max_attempts=settings.dispatch_max_attempts,
            reconcile_seconds=settings.dispatch_reconcile_seconds,
            timing=Timing(call_timeout=settings.dispatch_call_timeout_seconds),
        )

    def senders(self) -> dict[str, float]:
        out = {f"WHATSAPP:{p}": rate for p, rate in self.phone_rates.items()}
        out.update({f"SMS:{s}": self.sms_rate for s in self.sms_senders})
        if self.email_sender:
            out[f"EMAIL:{self.email_sender}"] = self.email_rate
        return out


def sender_key(channel: Channel, origination: str) -> str:
    return f"{channel.value}:{origination}"


class SenderLane:
    """One owned sender: its limit, its pair rule, and a buffer of its queued messages in lane order."""

    def __init__(self, key: str, limit: float, pace: float, pair_gap: float | None):
        self.key = key
        channel, _, self.origination = key.partition(":")
        self.channel = Channel(channel)
        self.rate = SenderRate(limit)
        self.window = CallWindow(limit, pace=pace)
        self.pair = PairGuard(pair_gap) if pair_gap else None
        self.buffer: list[OutboundMessage] = []
        self.known: set[str] = set()  # buffered, being handed off or in flight here
        self.owned = False
        self.start_at = 0.0
        self.paused_until = 0.0
        self.slow_seen = 0.0
        self.refilling = False
        self.last_refill = -1e9
        self.more = True  # the store may hold more than the buffer
        self.wanted = True  # someone told us there is new work

    def add(self, messages: list[OutboundMessage]) -> None:
        fresh = [m for m in messages if m.id not in self.known]
        if not fresh:
            return
        self.known.update(m.id for m in fresh)
        self.buffer.extend(fresh)
        self.buffer.sort(key=lambda m: (int(m.lane), m.create_time, m.id))

    def pick(self, now: float) -> tuple[OutboundMessage | None, float]:
        """The first buffered message whose pair rule allows it now, or None and how long until one does."""
        if self.pair is None:
            return self.buffer.pop(0), 0.0
        soonest = 1.0
        for i, m in enumerate(self.buffer[:64]):
            wait = self.pair.wait(m.recipient, now)
            if wait <= 0:
                return self.buffer.pop(i), 0.0
            soonest = min(soonest, wait)
        return None, soonest

    def drop_buffer(self) -> None:
        for m in self.buffer:
            self.known.discard(m.id)
        self.buffer.clear()


class Dispatcher:
    def __init__(
        self,
        store: OutboundStore,
        inbound: InboundStore,
        providers: dict[Channel, ChannelProvider],
        dead_letters: SqsQueue | None,
        config: DispatchConfig,
        member_id: str | None = None,
        wall: Callable[[], float] = time.time,
    ):
        self._store = store
        self._inbound = inbound
        self._providers = providers
        self._dead_letters = dead_letters
        self.config = config
        self.member = member_id or f"{socket.gethostname()}:{os.getpid()}:{ids.new_id()[-8:]}"
        self._wall = wall
        self._tracer = trace.get_tracer("wecare.dispatch")
        self._lanes: dict[str, SenderLane] = {}
        self._account = CallWindow(0, pace=config.pace)
        self._media = {MEDIA_POST: CallWindow(0, pace=config.pace), MEDIA_GET: CallWindow(0, pace=config.pace)}
        self._rates = {SEND: config.account_rate, MEDIA_POST: config.media_post_rate, MEDIA_GET: config.media_get_rate}
        self._view: View | None = None
        self._paused: dict[str, float] = {}
        self._may_call_until = 0.0  # monotonic
        self._wake = asyncio.Event()
        self._handoffs: list[tuple[SenderLane, OutboundMessage]] = []
        self._handoff_ready = asyncio.Event()
        self._results: list[SendResult] = []
        self._results_ready = asyncio.Event()
        self._calls: set[asyncio.Task] = set()
        self._refills: set[asyncio.Task] = set()
        self._stopping = False
        self.sent = 0
        self.heartbeats = 0
        self.outcomes: Counter[str] = Counter()  # "<kind>:<error code>" of every provider call, for metrics

    # --- public -------------------------------------------------------------------------------------
    def notify(self, channel: Channel, origination: str, lane: Lane | None = None) -> None:
        """New work for a sender was accepted here (in `lane`, or any). It is fetched now when it could go ahead
        of what the buffer holds; work that sorts behind a stocked buffer waits for the buffer's low water
        (re-reading the queue on every accepted chunk of a big send cost more than the sends themselves)."""
        sender = self._lanes.get(sender_key(channel, origination))
        if sender is None:
            return
        sender.more = True
        if lane is None or len(sender.buffer) < LOW_WATER or int(lane) < int(sender.buffer[-1].lane):
            sender.wanted = True
            self._wake.set()

    def paused_until(self, channel: Channel, origination: str) -> float:
        """Wall time until which the sender is paused (131048), as of the last heartbeat."""
        return self._paused.get(sender_key(channel, origination), 0.0)

    def owned(self) -> list[str]:
        return sorted(k for k, lane in self._lanes.items() if lane.owned)

    def shares(self) -> dict[str, float]:
        return dict(self._view.shares) if self._view else {}

    @contextlib.asynccontextmanager
    async def media_slot(self, kind: str) -> AsyncIterator[None]:
        """One media call (MEDIA_POST or MEDIA_GET) inside this process's part of its account limit."""
        window = self._media[kind]
        while True:
            now = time.monotonic()
            wait = window.wait(now)
            if wait <= 0 and now < self._may_call_until:
                break
            await asyncio.sleep(min(max(wait, 0.001), 0.1))
        window.start(time.monotonic())
        try:
            yield
        finally:
            window.finish(time.monotonic())

    async def react_to_failure(self, message: OutboundMessage, code: str) -> None:
        """What a failed status event's Meta code means for later sends (called by ingest):
        131048 pauses the sender, 130429 slows it down, 131050 suppresses marketing to the recipient,
        131049 sends the message again after 24 hours; 131026 and the rest: nothing more (no retry)."""
        now = self._wall()
        key = sender_key(message.channel, message.origination)
        if code == "131048":
            await self._update_coordination(
                lambda d: coordination.pause_sender(d, key, now + self.config.sender_pause_seconds)
            )
        elif code == "130429":
            await self._update_coordination(lambda d: coordination.note_rate_limited(d, key, now))
        elif code == "131050":
            await self._store.suppress(message.recipient, "marketing", now + 10 * 365 * 86400, "131050")
        elif code == "131049":
            await self._store.retry_later(message.id, now + 24 * 3600, now)

    # --- running ------------------------------------------------------------------------------------
    async def run(self) -> None:
        loops = [
            self._heartbeat_loop(),
            self._schedule_loop(),
            self._handoff_loop(),
            self._results_loop(),
            self._reconcile_loop(),
            self._dead_letter_loop(),
            self._inbound_rate_loop(),
        ]
        tasks = [asyncio.create_task(loop) for loop in loops]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._drain()

    async def _drain(self) -> None:
        """Stop: no new calls; the ones in flight finish and are recorded; the senders are freed."""
        self._stopping = True
        self._may_call_until = 0.0
        for lane, _m in self._handoffs:
            lane.window.finish(time.monotonic())
        self._handoffs.clear()
        if self._calls:
            await asyncio.wait(self._calls, timeout=self.config.timing.call_timeout + 1)
        for _ in range(3):
            if not self._results:
                break
            with contextlib.suppress(Exception):
                await self._flush_results()
        with contextlib.suppress(Exception):
            await self._update_coordination(
                lambda d: coordination.leave(d, self.member, self._wall(), self.config.timing)
            )

    async def _update_coordination(self, change: Callable[[dict], dict]) -> None:
        for attempt in range(8):
            doc, version = await self._store.load_coordination()
            if await self._store.save_coordination(change(doc), version):
                return
            await asyncio.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise RuntimeError("coordination document too contended")

    async def _heartbeat_loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self._heartbeat()
            except Exception:
                log.exception("heartbeat failed; calls stop before the lease can lapse")
            spent = time.monotonic() - started
            await asyncio.sleep(max(0.05, self.config.heartbeat_interval - spent))

    async def _heartbeat(self) -> None:
        senders = self.config.senders()
        for attempt in range(8):
            mono = time.monotonic()
            now = self._wall()
            doc, version = await self._store.load_coordination()
            new_doc, view = coordination.heartbeat(doc, self.member, now, senders, self.config.timing)
            if await self._store.save_coordination(new_doc, version):
                self._paused = {k: e.get("paused_until", 0.0) for k, e in new_doc.get("senders", {}).items()}
                self._apply(view, now, mono)
                self.heartbeats += 1
                return
            await asyncio.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
        raise RuntimeError("coordination document too contended")

    def _apply(self, view: View, now: float, mono: float) -> None:
        """Takes a new view: wall-clock times become monotonic deadlines measured from the heartbeat's start."""
        self._view = view
        self._may_call_until = mono + (view.may_call_until() - now)
        for budget, share in view.shares.items():
            window = self._account if budget == SEND else self._media[budget]
            window.set_limit(share * self._rates[budget])
        senders = self.config.senders()
        for key, lane in self._lanes.items():
            if key not in view.senders and lane.owned:
                lane.owned = False
                lane.drop_buffer()
        for key, sv in view.senders.items():
            lane = self._lanes.get(key)
            if lane is None:
                pair = self.config.pair_gap if key.startswith("WHATSAPP:") else None
                lane = self._lanes[key] = SenderLane(key, senders[key], self.config.pace, pair)
            if not lane.owned:
                lane.owned = True
                lane.wanted = True
                lane.slow_seen = sv.slow_seen  # a signal from before we owned it is the old owner's business
            lane.start_at = mono + (sv.start_at - now)
            lane.paused_until = mono + (sv.paused_until - now)
            if sv.slow_seen > lane.slow_seen:
                lane.rate.throttled(mono)
                lane.slow_seen = sv.slow_seen
        self._wake.set()

    async def _schedule_loop(self) -> None:
        while True:
            now = time.monotonic()
            soonest = now + IDLE_POLL
            # The account's budget goes first to the senders that used the least of their own this last window:
            # under backlog they keep pace with each other and finish together, instead of a few unlucky ones
            # trailing at their own limit once the rest are done (a 1.8 s tail at 13 phones, measured).
            lanes = sorted(self._lanes.values(), key=lambda lane: lane.window.occupancy(now))
            for lane in lanes:
                if not lane.owned or self._stopping:
                    continue
                if (lane.wanted or len(lane.buffer) < LOW_WATER) and not lane.refilling:
                    if lane.wanted or lane.more or now - lane.last_refill >= IDLE_POLL:
                        lane.refilling = True
                        lane.wanted = False
                        task = asyncio.create_task(self._refill(lane))
                        self._refills.add(task)
                        task.add_done_callback(self._refills.discard)
                ready = max(lane.start_at, lane.paused_until)
                if ready > now:
                    soonest = min(soonest, ready)
                    continue
                if now >= self._may_call_until:
                    continue
                if lane.buffer:
                    soonest = min(soonest, self._start_calls(lane, now))
            depth: dict[str, int] = {}
            for lane in lanes:
                depth[lane.channel.name] = depth.get(lane.channel.name, 0) + len(lane.buffer)
            for channel, count in depth.items():
                metrics.DISPATCH_QUEUE_DEPTH.labels(channel).set(count)
            self._wake.clear()
            delay = soonest - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
            else:
                await asyncio.sleep(0)

    def _start_calls(self, lane: SenderLane, now: float) -> float:
        """Starts every call the limits allow on this lane now; returns when to look again."""
        rate = lane.rate.effective(now)
        lane.window.set_limit(rate)
        metrics.DISPATCH_RATE.labels(lane.channel.name, lane.origination).set(rate)
        whatsapp = lane.channel == Channel.WHATSAPP
        while lane.buffer:
            wait = lane.window.wait(now)
            if whatsapp:
                wait = max(wait, self._account.wait(now))
            if wait > 0:
                return now + min(wait, IDLE_POLL)
            message, pair_wait = lane.pick(now)
            if message is None:
                return now + pair_wait
            lane.window.start(now)
            if whatsapp:
                self._account.start(now)
            if lane.pair is not None:
                lane.pair.start(message.recipient)
            self._handoffs.append((lane, message))
            self._handoff_ready.set()
        return now + IDLE_POLL

    async def _refill(self, lane: SenderLane) -> None:
        try:
            limit = len(lane.known) + REFILL
            known = frozenset(lane.known)
            rows = await self._store.queued(lane.origination, self._wall(), limit, known)
            if lane.owned:
                lane.add([m for m in rows if m.channel == lane.channel])
            lane.more = len(rows) + len(known) >= limit
        except Exception:
            log.exception("refill failed", extra={"sender": lane.key})
        finally:
            lane.last_refill = time.monotonic()
            lane.refilling = False
            self._wake.set()

    def _release(self, lane: SenderLane, message: OutboundMessage, called: bool) -> None:
        """Frees what a call held. A call that was never made does not occupy the window afterwards."""
        now = time.monotonic()
        if called:
            lane.window.finish(now)
            if lane.channel == Channel.WHATSAPP:
                self._account.finish(now)
            if lane.pair is not None:
                lane.pair.finish(message.recipient, now)
        else:
            lane.window.cancel()
            if lane.channel == Channel.WHATSAPP:
                self._account.cancel()
            if lane.pair is not None:
                lane.pair.finish(message.recipient, now - self.config.pair_gap)
        lane.known.discard(message.id)

    async def _handoff_loop(self) -> None:
        while True:
            await self._handoff_ready.wait()
            self._handoff_ready.clear()
            batch, self._handoffs = self._handoffs, []
            if not batch:
                continue
            try:
                began = time.monotonic()
                marked = set(await self._store.hand_off([m.id for _, m in batch], self._wall()))
                self._note_slow("hand-off marks", began, len(batch))
            except Exception:
                log.exception("hand-off marks failed; the messages stay queued")
                marked = set()
                await asyncio.sleep(0.2)
            stale: set[SenderLane] = set()
            for lane, m in batch:
                if m.id in marked and not self._stopping:
                    task = asyncio.create_task(self._call(lane, m))
                    self._calls.add(task)
                    task.add_done_callback(self._calls.discard)
                else:
                    # Withdrawn meanwhile (or the mark failed): never called.
                    self._release(lane, m, called=False)
                    if m.id in marked:  # stopping after the mark: give it back to the queue
                        self._results.append(SendResult(m.id, "retry", self._wall(), retry_at=self._wall()))
                        self._results_ready.set()
                    else:
                        stale.add(lane)
            for lane in stale:
                # What was buffered with it is as likely withdrawn (a paused or cancelled job): read the queue
                # again now rather than walk the rest through the pace (a resumed job waited seconds for that).
                lane.drop_buffer()
                lane.wanted = True
                self._wake.set()

    async def _call(self, lane: SenderLane, m: OutboundMessage) -> None:
        attempts = m.attempts + 1
        called = True
        try:
            if time.monotonic() >= self._may_call_until:
                # The lease may lapse before an answer could come: do not call; back to the queue.
                called = False
                outcome = CallOutcome("retry", error=MessageError("LeaseExpired", "sender lease lapsing"))
            else:
                media_ids, problem = await self._media_ids(lane, m) if lane.channel == Channel.WHATSAPP else ({}, None)
                if problem is not None:
                    called = False  # the send itself was not made
                    outcome = problem
                else:
                    with self._send_span(lane, m) as span:
                        outcome = await self._providers[lane.channel].send(m, media_ids)
                        span.set_attribute("wecare.outcome", outcome.kind)
                        if outcome.error is not None:
                            span.set_attribute("wecare.error_code", outcome.error.code)
        except Exception as exc:
            log.exception("provider call raised", extra={"message": m.id})
            outcome = CallOutcome("in_doubt", error=MessageError("NoAnswer", type(exc).__name__, str(exc)[:500]))
        self._release(lane, m, called)
        self.outcomes[f"{outcome.kind}:{outcome.error.code if outcome.error else ''}"] += 1
        if called:
            metrics.DISPATCH_SENDS.labels(lane.channel.name, lane.origination, outcome.kind).inc()
        now = self._wall()
        if outcome.kind == "throttled":
            lane.rate.throttled(time.monotonic())
            metrics.DISPATCH_THROTTLES.labels(lane.channel.name, lane.origination).inc()
        if outcome.kind == "sent":
            self.sent += 1
            result = SendResult(m.id, "sent", now, provider_message_id=outcome.provider_message_id)
        elif outcome.kind in ("throttled", "retry"):
            if attempts >= self.config.max_attempts and called:
                error = MessageError(
                    "RETRIES_EXHAUSTED",
                    f"gave up after {attempts} attempts",
                    f"last: {outcome.error.code if outcome.error else 'unknown'}"
                    f" {outcome.error.detail if outcome.error else ''}"[:1000],
                )
                result = SendResult(m.id, "failed", now, error=error)
            else:
                backoff = min(60.0, 0.5 * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
                result = SendResult(m.id, "retry", now, error=outcome.error, retry_at=now + backoff)
        elif outcome.kind == "failed":
            result = SendResult(m.id, "failed", now, error=outcome.error)
        else:
            result = SendResult(m.id, "in_doubt", now, error=outcome.error)
        self._results.append(result)
        self._results_ready.set()

    @contextlib.contextmanager
    def _send_span(self, lane: SenderLane, m: OutboundMessage) -> Iterator[trace.Span]:
        """The provider call as one span of the trace that accepted the message (its traceparent is kept with it).
        It stands for the SDK call too: the AWS client span is suppressed inside it (two spans a send were a
        tenth of the dispatcher's time)."""
        carried = m.extra.get("traceparent")
        parent = W3C.extract({"traceparent": carried}) if carried else None
        span = self._tracer.start_span(
            f"dispatch {lane.channel.name}",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.message.id": m.id,
                "wecare.origination": lane.origination,
                "wecare.attempt": m.attempts + 1,
            },
        )
        inside = otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True, trace.set_span_in_context(span, parent))
        token = otel_context.attach(inside)
        try:
            yield span
        finally:
            otel_context.detach(token)
            span.end()

    async def _media_ids(self, lane: SenderLane, m: OutboundMessage) -> tuple[dict[str, str], CallOutcome | None]:
        keys = meta.media_keys(m)
        out: dict[str, str] = {}
        whatsapp = self._providers[Channel.WHATSAPP]
        assert isinstance(whatsapp, WhatsAppProvider)
        for key in keys:
            known = await self._store.media_id(lane.origination, key, self._wall())
            if known is None:
                async with self.media_slot(MEDIA_POST):
                    known, problem = await whatsapp.post_media(lane.origination, key)
                if problem is not None:
                    return {}, problem
                await self._store.put_media_id(lane.origination, key, known, self._wall() + MEDIA_ID_LIFETIME)
            out[key] = known
        return out, None

    async def _results_loop(self) -> None:
        while True:
            await self._results_ready.wait()
            self._results_ready.clear()
            try:
                await self._flush_results()
            except Exception:
                log.exception("recording results failed; retrying")
                await asyncio.sleep(0.5)
                self._results_ready.set()

    async def _flush_results(self) -> None:
        batch, self._results = self._results, []
        if not batch:
            return
        try:
            began = time.monotonic()
            await self._store.record_results(batch, fetch=False)
            self._note_slow("send results", began, len(batch))
        except BaseException:
            self._results = batch + self._results
            raise

    @staticmethod
    def _note_slow(what: str, began: float, count: int) -> None:
        took = time.monotonic() - began
        if took > SLOW_WRITE:
            log.warning(
                "slow store write holds sends back", extra={"write": what, "ms": round(took * 1000), "n": count}
            )

    async def _reconcile_loop(self) -> None:
        interval = max(0.5, min(10.0, self.config.reconcile_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                doubtful = await self._store.in_doubt(self._wall() - self.config.reconcile_seconds, 500)
                if doubtful:
                    changed = await self._store.mark_unknown([m.id for m in doubtful], self._wall())
                    if changed:
                        log.warning("in-doubt messages reported unknown", extra={"count": len(changed)})
            except Exception:
                log.exception("reconciliation failed")

    async def _dead_letter_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self._dead_letters is None:
                continue
            try:
                pending = await self._store.dead_letters_pending(10)
                while pending:
                    failed = await self._dead_letters.send_batch(
                        [(m.id, dead_letter_body(m), m.error.code if m.error else "unknown") for m in pending]
                    )
                    await self._store.dead_letters_sent([m.id for m in pending if m.id not in failed])
                    if failed:
                        break
                    pending = await self._store.dead_letters_pending(10)
            except Exception:
                log.exception("outbound-dlq unreachable; the failed messages stay pending for it")

    async def _inbound_rate_loop(self) -> None:
        """Meta counts inbound traffic against the phone's limit: reserve the rate observed over 10 s."""
        while True:
            await asyncio.sleep(2.0)
            for lane in list(self._lanes.values()):
                if lane.owned and lane.channel == Channel.WHATSAPP:
                    try:
                        count = await self._inbound.inbound_count(lane.origination, self._wall() - 10)
                    except Exception:
                        log.exception("inbound rate unknown", extra={"sender": lane.key})
                        continue
                    lane.rate.observe_inbound(count / 10)


def dead_letter_body(m: OutboundMessage) -> dict:
    return {
        "kind": "outbound",
        "message": m.name,
        "channel": m.channel.value,
        "origination": m.origination,
        "recipient": m.recipient,
        "idempotency_key": m.idempotency_key,
        "attempts": m.attempts,
        "error": m.error.to_dict() if m.error else None,
        "reason": f"{m.error.code}: {m.error.detail or m.error.title}" if m.error else "unknown",
    }
