"""Making one provider call for a handed-off message, and what its outcome means: sent (the provider's id),
failed (to outbound-dlq through the store's outbox), retried with backoff (throttled: the sender slows down;
refused before it was taken) up to max_attempts, or in doubt (no answer that proves it was not taken: never
re-sent, reconciled by status events or reported UNKNOWN).

Immediately before the call, after every wait (a media slot, a media id), the message passes the pre-call
checks (dispatch.checks: consent and suppression as they are now, a withdrawn job) and this process must still
own the sender: the fence open (its lease cannot lapse before the call could end), the sender's lease its own
and started, the sender not paused. A message that fails any of these is not called: back to the queue, or
withdrawn as its check says, and the place it held in its windows is given back. Its places in the windows
are taken just before the checks (dispatch.gate: the scheduler only admitted it), so the checks and the ownership
are read after that wait too. The call itself has a total deadline, call_timeout (connect and read, whatever the
client's own timeouts), which the lease arithmetic assumes (domain.coordination): past it the call is in doubt.

The call is counted in a span of the trace that accepted the message (dispatch.call_spans: the calls of one trace
within a second share one); the provider makes no span of its own. Metrics are counted on label children looked
up once (runtime.metrics.Children)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter

from runtime import metrics
from services.messaging.adapters.providers import CallOutcome, ChannelProvider
from services.messaging.dispatch.budgets import AccountBudgets, Fence, FenceClosed
from services.messaging.dispatch.call_spans import CallSpan, CallSpans
from services.messaging.dispatch.checks import PreCallChecks, Verdict
from services.messaging.dispatch.clock import Clock
from services.messaging.dispatch.config import DispatchConfig
from services.messaging.dispatch.gate import CallGate
from services.messaging.dispatch.media import MediaIds
from services.messaging.dispatch.results import Results
from services.messaging.dispatch.senders import SenderLane
from services.messaging.domain.model import Channel, MessageError, OutboundMessage, SendResult
from services.messaging.domain.pacing import CallWindow

log = logging.getLogger("wecare.messaging.dispatcher")
GATE_WAIT = 2.0  # seconds a handed-off call may wait for its place under the limits
SENDS = metrics.Children(metrics.DISPATCH_SENDS)
THROTTLES = metrics.Children(metrics.DISPATCH_THROTTLES)
READY_WAIT = 2.0  # seconds a marked call waits for a stale pre-call check (a holds read in flight) before going back


class Caller:
    def __init__(
        self,
        providers: dict[Channel, ChannelProvider],
        media: MediaIds,
        budgets: AccountBudgets,
        fence: Fence,
        results: Results,
        config: DispatchConfig,
        clock: Clock,
        rng: random.Random,
        checks: PreCallChecks | None = None,
    ):
        self._providers = providers
        self._checks = checks or PreCallChecks()
        self._media = media
        self._budgets = budgets
        self._fence = fence
        self._results = results
        self._config = config
        self._clock = clock
        self._rng = rng
        self.spans = CallSpans()
        self._gate = CallGate(clock.monotonic)
        self._calls: set[asyncio.Task] = set()
        self.sent = 0
        self.outcomes: Counter[str] = Counter()  # "<kind>:<error code>" of every provider call, for metrics

    def start(self, lane: SenderLane, m: OutboundMessage) -> None:
        task = asyncio.create_task(self._call(lane, m))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def wait_in_flight(self, within: float) -> None:
        """At a stop: the calls in flight finish (and are recorded), for at most `within` seconds."""
        if self._calls:
            await asyncio.wait(self._calls, timeout=within)

    def release(self, lane: SenderLane, message: OutboundMessage, called: bool, begun: bool = False) -> None:
        """Frees what a call held: admitted by the scheduler, `begun` once the gate gave it its places. A call that
        was never made does not occupy the windows afterwards."""
        now = self._clock.monotonic()
        windows = self._windows(lane)
        if called:
            for window in windows:
                window.finish(now)
            if lane.pair is not None:
                lane.pair.finish(message.recipient, now)
        else:
            for window in windows:
                window.cancel() if begun else window.withdraw()
            if begun:
                self._gate.opened()
            if lane.pair is not None:
                lane.pair.finish(message.recipient, now - self._config.pair_gap)
        lane.known.discard(message.id)

    def _windows(self, lane: SenderLane) -> tuple[CallWindow, ...]:
        """The windows a call of this sender occupies: its own first, then the account's (WhatsApp)."""
        return (lane.window, self._budgets.send) if lane.channel == Channel.WHATSAPP else (lane.window,)

    async def _call(self, lane: SenderLane, m: OutboundMessage) -> None:
        called = begun = False
        span: CallSpan | None = None
        try:
            outcome = self._may_not_call(lane)
            media_ids: dict[str, str] = {}
            if outcome is None and lane.channel == Channel.WHATSAPP:
                media_ids, outcome = await self._media.for_message(lane.origination, m)
            if outcome is None:
                # A check gone stale while the group was marked (a slow store: holds unread for FRESH) is waited for
                # (bounded: the fence is looked at again after it); still stale, the message goes back (NotChecked).
                # Waited for before the gate, so the wait holds no place under the limits.
                await self._checks.until_ready(self._clock, READY_WAIT)
                # Its places in the windows, from now; a place normally comes within the pace's slack, so one that
                # has not come within two windows means the limits changed under it (its share, its lease).
                begun = await self._gate.begin(self._windows(lane), within=GATE_WAIT)
                if not begun:
                    outcome = CallOutcome("retry", error=MessageError("NotCalled", "no place under the limit in time"))
            if outcome is None:
                held = await self._checks.check(m)
                if held is not None:
                    self._held(lane, m, held)
                    return
                outcome = self._may_not_call(lane)  # after every wait: the sender may have changed hands
            if outcome is None:
                called = True
                span = self.spans.begin(lane.channel, m)
                try:
                    async with asyncio.timeout(self._config.timing.call_timeout):
                        outcome = await self._providers[lane.channel].send(m, media_ids)
                except TimeoutError:
                    outcome = CallOutcome(
                        "in_doubt",
                        error=MessageError("NoAnswer", "CallDeadline", "no answer within the call's deadline"),
                    )
        except FenceClosed:
            outcome = CallOutcome("retry", error=MessageError("LeaseExpired", "stopping: the call was not made"))
        except Exception as exc:
            log.exception("provider call raised", extra={"message_id": m.id, "called": called})
            error = MessageError("NoAnswer" if called else "NotCalled", type(exc).__name__, str(exc)[:500])
            # Made: it may have been taken (in doubt). Not made (a store or media step failed first): again later.
            outcome = CallOutcome("in_doubt" if called else "retry", error=error)
        if span is not None:
            self.spans.end(span, m, outcome)
        self.release(lane, m, called, begun)
        self.outcomes[f"{outcome.kind}:{outcome.error.code if outcome.error else ''}"] += 1
        if called:
            SENDS(lane.channel.name, lane.origination, outcome.kind).inc()
        if outcome.kind == "throttled":
            lane.rate.throttled(self._clock.monotonic())
            THROTTLES(lane.channel.name, lane.origination).inc()
        if outcome.kind == "sent":
            self.sent += 1
        self._results.put(self._result(m, outcome, called))

    def _held(self, lane: SenderLane, m: OutboundMessage, verdict: Verdict) -> None:
        """A pre-call check stopped the message: not called; withdrawn, back to the queue, or failed."""
        self.release(lane, m, called=False, begun=True)
        self.outcomes[f"held:{verdict.error.code}"] += 1
        now = self._clock.wall()
        if verdict.kind == "deferred":
            result = SendResult(m.id, "retry", now, error=verdict.error, retry_at=verdict.retry_at or now)
        else:
            result = SendResult(m.id, verdict.kind, now, error=verdict.error)
        self._results.put(result)

    def _may_not_call(self, lane: SenderLane) -> CallOutcome | None:
        """None while this process may call for the sender now; else why not (the message goes back)."""
        now = self._clock.monotonic()
        if not self._fence.open(now):
            # The lease may lapse before an answer could come: do not call; back to the queue.
            return CallOutcome("retry", error=MessageError("LeaseExpired", "sender lease lapsing"))
        if not lane.owned or lane.start_at > now:
            return CallOutcome("retry", error=MessageError("LeaseExpired", "the sender changed hands"))
        if lane.paused_until > now:
            return CallOutcome("retry", error=MessageError("SenderPaused", "the sender is paused (131048)"))
        return None

    def _result(self, m: OutboundMessage, outcome: CallOutcome, called: bool) -> SendResult:
        now = self._clock.wall()
        attempts = m.attempts + 1
        if outcome.kind == "sent":
            return SendResult(m.id, "sent", now, provider_message_id=outcome.provider_message_id)
        if outcome.kind in ("throttled", "retry"):
            if attempts >= self._config.max_attempts and called:
                error = MessageError(
                    "RETRIES_EXHAUSTED",
                    f"gave up after {attempts} attempts",
                    f"last: {outcome.error.code if outcome.error else 'unknown'}"
                    f" {outcome.error.detail if outcome.error else ''}"[:1000],
                )
                return SendResult(m.id, "failed", now, error=error)
            backoff = min(60.0, 0.5 * 2 ** (attempts - 1)) * self._rng.uniform(0.8, 1.2)
            return SendResult(m.id, "retry", now, error=outcome.error, retry_at=now + backoff)
        if outcome.kind == "failed":
            return SendResult(m.id, "failed", now, error=outcome.error)
        return SendResult(m.id, "in_doubt", now, error=outcome.error)
