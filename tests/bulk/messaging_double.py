"""A stand-in for the messaging service as bulk uses it, for the bulk service tests (the real one, with the
sandbox, runs in the process tests and the benchmark). It keeps messaging's promises that bulk relies on:

- SendMessages accepts each message under its idempotency key: a key held by a message that is not withdrawn
  returns that message (duplicate, nothing sent); a withdrawn one's key is taken over by a new message. It
  streams every message's acceptance or refusal and then its outcome, and ends when all are settled; a caller
  that cancels the stream gets its unsent messages withdrawn.
- Sends are paced per origination (`rate` a second) and logged like the sandbox log (one entry per provider
  call), then move to DELIVERED and READ a little later; chosen recipients fail (131026) or are refused by a
  rule (opted out). A template Meta paused (`paused_reason`) refuses new messages (TEMPLATE_PAUSED) and withdraws
  the queued ones at their call, the reason as their error, as messaging's checks at the call do. While
  `meta_paused` (Meta paused it and messaging does not know yet) a send is made, reported sent, and a moment
  later withdrawn (TEMPLATE_PAUSED), as messaging reads Meta's 132015 refusal of a keyed message.
- WithdrawMessages by key prefix, BatchGetMessageStates, ListTemplates, ListConversations (open windows) and
  GetMessagingTier (unlimited unless a test sets `tier_available` and `tier_releases`).
Calls must carry a valid service token, as the real service's interceptor demands."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from runtime.auth import TokenVerifier, bearer
from runtime.errors import Unauthenticated
from runtime.names import timestamp
from runtime.settings import Settings
from tests.support.servers import serving
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

SETTLED = {
    pb.STATUS_SENT,
    pb.STATUS_DELIVERED,
    pb.STATUS_READ,
    pb.STATUS_FAILED,
    pb.STATUS_WITHDRAWN,
    pb.STATUS_LIMITED,
}
ids = itertools.count(1)


@dataclass
class Held:
    id: str
    key: str
    recipient: str
    origination: str
    batch: str
    status: int = pb.STATUS_ACCEPTED
    handed_off: bool = False
    provider_id: str = ""
    error_code: str = ""
    error_title: str = ""
    update_time: float = field(default_factory=time.time)
    content: pb.Content | None = None
    reattempt_key: str = ""  # LIMITED: the re-attempt queued for it
    reattempt_due: float = 0.0


@dataclass(frozen=True)
class Send:
    """One provider call, as the sandbox would log it."""

    t: float
    origination: str
    recipient: str
    key: str
    message: str


# The catalogue entry of tests/bulk/support.order_update(): a utility template with two body values.
ORDER_UPDATE = pb.Template(
    name="templates/order_update.en_US",
    template_name="order_update",
    language="en_US",
    category=pb.CATEGORY_UTILITY,
    template_status="APPROVED",
    body_variables=["1", "2"],
)
# A marketing template of the same shape (131049 meets marketing only).
SPRING_SALE = pb.Template(
    name="templates/spring_sale.en_US",
    template_name="spring_sale",
    language="en_US",
    category=pb.CATEGORY_MARKETING,
    template_status="APPROVED",
    body_variables=["1", "2"],
)


class MessagingDouble(pb_grpc.MessagingServiceServicer):
    def __init__(self, settings: Settings, rate: float = 400.0):
        self._verifier = TokenVerifier(settings)
        self.rate = rate
        self.messages: dict[str, Held] = {}
        self.by_key: dict[str, str] = {}
        self.sends: list[Send] = []
        self.queues: dict[str, deque[str]] = defaultdict(deque)
        self.opted_out: set[str] = set()
        self.failing: set[str] = set()  # recipients whose send fails (131026)
        self.limited: set[str] = set()  # recipients whose send fails with 131049 (Meta's marketing limit)
        # Set: 131049 comes a moment after the call said sent, and one re-attempt (`<key>/reattempt-1`, never
        # limited) is queued this many seconds later, as messaging's reactions queue it. None: LIMITED at the call.
        self.reattempt_after: float | None = None
        self.unread: set[str] = set()  # recipients whose message is delivered, never read
        self.unavailable = False  # SendMessages refuses every message with UNAVAILABLE
        self.open_windows: set[str] = set()
        self.withdraw_calls: list[str] = []
        self.paused_reason = ""  # Meta paused the template: "" when it is approved
        self.meta_paused = False  # Meta paused it, messaging does not know yet: sends are refused after the call
        self.refused_after_call: list[str] = []  # ids of the messages Meta refused so
        self.tier_available = -1  # new customers the tier allows now (-1: unlimited)
        self.tier_releases: list[tuple[float, int]] = []
        self.templates = [
            ORDER_UPDATE,
            SPRING_SALE,
            pb.Template(
                name="templates/hello_world.en_US",
                template_name="hello_world",
                language="en_US",
                category=pb.CATEGORY_UTILITY,
                template_status="APPROVED",
            ),
        ]
        self._dispatchers: dict[str, asyncio.Task] = {}
        self._later: set[asyncio.Task] = set()

    async def _check(self, context) -> None:
        token = bearer(dict(context.invocation_metadata()).get("authorization"))
        try:
            who = await self._verifier.verify(token)
        except Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
        if not who.is_service:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "bulk calls with its service identity")

    # --- sending ------------------------------------------------------------------------------------------
    def _dispatcher(self, origination: str) -> None:
        if origination not in self._dispatchers or self._dispatchers[origination].done():
            self._dispatchers[origination] = asyncio.create_task(self._dispatch(origination))

    async def _dispatch(self, origination: str) -> None:
        queue = self.queues[origination]
        while queue:
            held = self.messages[queue.popleft()]
            if held.status != pb.STATUS_ACCEPTED or held.handed_off:
                continue
            if self.paused_reason:  # the check at the call: withdrawn, its key free for a resumed job
                self._move(held, pb.STATUS_WITHDRAWN, "TEMPLATE_PAUSED")
                held.error_title = self.paused_reason
                continue
            held.handed_off = True
            await asyncio.sleep(0.002)  # the provider call
            self.sends.append(Send(time.time(), origination, held.recipient, held.key, held.id))
            held.provider_id = f"wamid.{held.id}"
            if self.meta_paused:  # sent, then refused by Meta (132015): messaging withdraws it, its key free
                self._move(held, pb.STATUS_SENT)
                self.refused_after_call.append(held.id)
                self._after(0.8, held, pb.STATUS_WITHDRAWN, "TEMPLATE_PAUSED", "Meta refused it (132015)")
            elif held.recipient in self.limited and "/reattempt-" not in held.key and self.reattempt_after is not None:
                self._move(held, pb.STATUS_SENT)
                self._limit_later(held, self.reattempt_after)
            elif held.recipient in self.limited and "/reattempt-" not in held.key:
                self._move(held, pb.STATUS_LIMITED, "131049")  # Meta's marketing limit, as messaging records it
            elif held.recipient in self.failing:
                self._move(held, pb.STATUS_FAILED, "131026")
            else:
                self._move(held, pb.STATUS_SENT)
                self._after(0.2, held, pb.STATUS_DELIVERED)
                if held.recipient not in self.unread:
                    self._after(0.4, held, pb.STATUS_READ)
            await asyncio.sleep(1 / self.rate)

    def _limit_later(self, held: Held, after: float) -> None:
        async def later() -> None:
            await asyncio.sleep(0.8)  # after the stream said sent
            self._move(held, pb.STATUS_LIMITED, "131049")
            again = Held(f"M{next(ids):08d}", f"{held.key}/reattempt-1", held.recipient, held.origination, "")
            again.content = held.content
            self.messages[again.id] = again
            self.by_key[again.key] = again.id
            held.reattempt_key, held.reattempt_due = again.key, time.time() + after
            await asyncio.sleep(after)
            if again.status == pb.STATUS_ACCEPTED:
                self.queues[again.origination].append(again.id)
                self._dispatcher(again.origination)

        task = asyncio.create_task(later())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    def _move(self, held: Held, status: int, error_code: str = "") -> None:
        held.status, held.error_code, held.update_time = status, error_code, time.time()

    def _after(self, delay: float, held: Held, status: int, error_code: str = "", title: str = "") -> None:
        async def later() -> None:
            await asyncio.sleep(delay)
            if held.status not in (pb.STATUS_FAILED, pb.STATUS_WITHDRAWN, pb.STATUS_LIMITED):
                self._move(held, status, error_code)
                held.error_title = title or held.error_title

        task = asyncio.create_task(later())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    def _result(self, index: int, held: Held, duplicate: bool = False) -> pb.SendResult:
        out = pb.SendResult(
            index=index,
            message=f"messages/{held.id}",
            status=held.status,
            provider_message_id=held.provider_id,
            duplicate=duplicate,
        )
        if held.error_code:
            out.error.CopyFrom(pb.MessageError(code=held.error_code, title=held.error_title or "undeliverable"))
        if held.reattempt_key:
            out.reattempt_key = held.reattempt_key
            out.reattempt_time.CopyFrom(timestamp(held.reattempt_due))
        return out

    async def SendMessages(self, request: pb.SendMessagesRequest, context) -> AsyncIterator[pb.SendMessagesResponse]:
        await self._check(context)
        batch = f"B{next(ids)}"
        tracked: dict[int, Held] = {}
        results: list[pb.SendResult] = []
        for index, m in enumerate(request.messages):
            earlier = self.messages.get(self.by_key.get(m.idempotency_key, ""))
            if earlier is not None and earlier.status != pb.STATUS_WITHDRAWN:
                tracked[index] = earlier
                results.append(self._result(index, earlier, duplicate=True))
                continue
            if self.unavailable or m.recipient in self.opted_out or self.paused_reason:
                code, reason, why = (
                    (code_pb2.UNAVAILABLE, "", "refused")
                    if self.unavailable
                    else (code_pb2.FAILED_PRECONDITION, "TEMPLATE_PAUSED", self.paused_reason)
                    if self.paused_reason
                    else (code_pb2.FAILED_PRECONDITION, "CONSENT_OPTED_OUT", "refused")
                )
                refusal = status_pb2.Status(code=code, message=why)
                if reason:
                    packed = any_pb2.Any()
                    packed.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="wecare.digital"))
                    refusal.details.append(packed)
                results.append(pb.SendResult(index=index, refusal=refusal))
                continue
            held = Held(f"M{next(ids):08d}", m.idempotency_key, m.recipient, m.origination, batch, content=m.content)
            self.messages[held.id] = held
            self.by_key[held.key] = held.id
            self.queues[held.origination].append(held.id)
            self._dispatcher(held.origination)
            tracked[index] = held
            results.append(self._result(index, held))
        finished = False
        try:
            yield pb.SendMessagesResponse(results=results)
            reported = {i: (h.status, h.provider_id) for i, h in tracked.items()}
            while any(h.status not in SETTLED for h in tracked.values()):
                await asyncio.sleep(request.progress_interval_ms / 1000 or 0.25)
                changed = []
                for i, h in tracked.items():
                    if reported[i] != (h.status, h.provider_id):
                        reported[i] = (h.status, h.provider_id)
                        changed.append(self._result(i, h))
                if changed:
                    yield pb.SendMessagesResponse(results=changed)
            finished = True
        finally:
            if not finished and not request.keep_on_cancel:
                for h in tracked.values():
                    if h.batch == batch and h.status == pb.STATUS_ACCEPTED and not h.handed_off:
                        self._move(h, pb.STATUS_WITHDRAWN)

    async def WithdrawMessages(self, request: pb.WithdrawMessagesRequest, context) -> pb.WithdrawMessagesResponse:
        await self._check(context)
        self.withdraw_calls.append(request.idempotency_key_prefix)
        withdrawn = in_flight = 0
        for h in self.messages.values():
            if h.key.startswith(request.idempotency_key_prefix) and h.status == pb.STATUS_ACCEPTED:
                if h.handed_off:
                    in_flight += 1
                else:
                    self._move(h, pb.STATUS_WITHDRAWN)
                    withdrawn += 1
        return pb.WithdrawMessagesResponse(withdrawn_count=withdrawn, in_flight_count=in_flight)

    async def BatchGetMessageStates(self, request, context) -> pb.BatchGetMessageStatesResponse:
        await self._check(context)
        out = []
        for key in request.idempotency_keys:
            held = self.messages.get(self.by_key.get(key, ""))
            if held is not None:
                state = pb.MessageState(
                    idempotency_key=key,
                    message=f"messages/{held.id}",
                    status=held.status,
                    provider_message_id=held.provider_id,
                    update_time=timestamp(held.update_time),
                )
                if held.error_code:
                    title = held.error_title or "undeliverable"
                    state.error.CopyFrom(pb.MessageError(code=held.error_code, title=title))
                if held.reattempt_key:
                    state.reattempt_key = held.reattempt_key
                    state.reattempt_time.CopyFrom(timestamp(held.reattempt_due))
                out.append(state)
        return pb.BatchGetMessageStatesResponse(states=out)

    async def GetMessagingTier(self, request, context) -> pb.MessagingTier:
        await self._check(context)
        limited = self.tier_available >= 0
        return pb.MessagingTier(
            limit=1000 if limited else 0,
            marketing_available=self.tier_available,
            available=self.tier_available,
            releases=[pb.TierRelease(release_time=timestamp(t), count=n) for t, n in self.tier_releases],
            window_seconds=60.0,
            bucket_seconds=1.0,
            release_lag_seconds=2.0,
        )

    async def ListTemplates(self, request, context) -> pb.ListTemplatesResponse:
        await self._check(context)
        return pb.ListTemplatesResponse(templates=self.templates)

    async def ListConversations(self, request, context) -> pb.ListConversationsResponse:
        await self._check(context)
        now = time.time()
        return pb.ListConversationsResponse(
            conversations=[
                pb.Conversation(
                    name=f"conversations/whatsapp-{c.lstrip('+')}",
                    channel=pb.CHANNEL_WHATSAPP,
                    customer=c,
                    window_expire_time=timestamp(now + 3600),
                    update_time=timestamp(now - 60),
                )
                for c in sorted(self.open_windows)
            ]
        )

    # --- what tests look at -------------------------------------------------------------------------------
    def sent_to(self, key_prefix: str) -> list[Send]:
        return [s for s in self.sends if s.key.startswith(key_prefix)]

    async def close(self) -> None:
        for task in [*self._dispatchers.values(), *self._later]:
            task.cancel()
        await asyncio.gather(*self._dispatchers.values(), *self._later, return_exceptions=True)


@contextlib.asynccontextmanager
async def messaging_double(settings: Settings, rate: float = 400.0) -> AsyncIterator[tuple[MessagingDouble, str]]:
    servicer = MessagingDouble(settings, rate)
    try:
        async with serving(servicer, pb_grpc.add_MessagingServiceServicer_to_server) as address:
            yield servicer, address
    finally:
        await servicer.close()
