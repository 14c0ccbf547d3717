"""The messaging service as bulk uses it, over its gRPC API with this service's identity (never its internals):
streamed sends of a chunk's recipients (SendMessages, each under its idempotency key), withdrawal by key prefix,
the state of keyed messages (BatchGetMessageStates), the template catalogue and the open 24-hour windows.

A job's content is turned into protobuf once; each recipient gets a copy with their placeholder values set in
the texts that hold placeholders, so a million recipients cost a million copies, not a million parses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2

from runtime.errors import Unavailable
from runtime.names import seconds
from services.bulk.adapters.commerce import Invitation
from services.bulk.domain import spec
from services.bulk.domain.model import Job, Recipient
from services.bulk.domain.outcomes import SendState
from services.bulk.domain.tier_plan import Tier
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

CHANNELS = {"WHATSAPP": pb.CHANNEL_WHATSAPP, "SMS": pb.CHANNEL_SMS, "EMAIL": pb.CHANNEL_EMAIL}
CATEGORIES = {
    "MARKETING": pb.CATEGORY_MARKETING,
    "UTILITY": pb.CATEGORY_UTILITY,
    "AUTHENTICATION": pb.CATEGORY_AUTHENTICATION,
    "SERVICE": pb.CATEGORY_SERVICE,
}
STATES_BATCH = 1000
TEMPLATE_CACHE_SECONDS = 5.0
MISS_REREAD_SECONDS = 1.0  # a name missing from the catalogue (or not approved) costs one re-read a second at most
WINDOW_SECONDS = 24 * 3600


def content_proto(content: dict) -> pb.Content:
    return json_format.ParseDict(content, pb.Content())


def _set(message, path: tuple, value: str) -> None:
    target = message
    for step in path[:-1]:
        target = target[step] if isinstance(step, int) else getattr(target, step)
    if isinstance(path[-1], int):
        target[path[-1]] = value
    else:
        setattr(target, path[-1], value)


class Composer:
    """A job's messages: the content parsed once, the placeholder texts known."""

    def __init__(self, job: Job):
        self.job = job
        self._content = content_proto(job.content)
        self._sites = spec.sites(job.content)
        self._channel = CHANNELS[job.channel.value]
        self._category = CATEGORIES[job.category]

    def message(self, r: Recipient, invitation: Invitation | None = None) -> pb.Message:
        m = pb.Message(
            channel=self._channel,
            category=self._category,
            origination=r.origination,
            recipient=r.address,
            idempotency_key=self.job.key(r.address),
            track_links=self.job.track_links,
            job=self.job.name,
        )
        m.content.CopyFrom(self._content)
        for site in self._sites:
            _set(m.content, site.path, spec.render(site.text, r.values))
        if invitation is not None:  # a form job: this recipient's own flow token
            if m.content.HasField("template"):
                m.content.template.flow_button_json = invitation.template_button_json
            else:
                m.content.interactive.interactive_json = invitation.interactive_json
        return m


def _state(result: pb.SendResult | pb.MessageState) -> SendState:
    error = result.error if result.HasField("error") else None
    out = SendState(
        status=pb.Status.Name(result.status).removeprefix("STATUS_") if result.status else "",
        message=result.message,
        provider_id=result.provider_message_id,
        error_code=error.code if error else "",
        error_detail=(error.title or error.detail) if error else "",
        reattempt_key=result.reattempt_key,
        reattempt_time=result.reattempt_time.ToJsonString() if result.HasField("reattempt_time") else "",
    )
    if isinstance(result, pb.SendResult) and result.HasField("refusal"):
        reason = ""
        for detail in result.refusal.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
        out = SendState(
            refusal_code=code_pb2.Code.Name(result.refusal.code),
            refusal_reason=reason,
            refusal_message=result.refusal.message,
        )
    return out


@dataclass(frozen=True)
class Progress:
    """One response of a streamed send: the changed messages by position, and the totals."""

    changed: list[tuple[int, SendState]]
    pending: int


class SendStream:
    """A SendMessages call: iterate it for progress; cancel() withdraws what was not handed to a provider."""

    def __init__(self, call):
        self._call = call

    async def __aiter__(self) -> AsyncIterator[Progress]:
        try:
            async for reply in self._call:
                yield Progress([(r.index, _state(r)) for r in reply.results], int(reply.totals.pending))
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"messaging's SendMessages failed: {exc.code().name} {exc.details()}") from None

    def cancel(self) -> None:
        self._call.cancel()


@dataclass(frozen=True)
class TemplateCatalogue:
    templates: dict[tuple[str, str], spec.TemplateFacts]
    read_at: float


class StillWithdrawing(Exception):
    """WithdrawMessages outlived its deadline: the hold is noted and messaging goes on withdrawing the prefix."""


class MessagingClient:
    def __init__(self, channel: grpc.aio.Channel, progress_ms: int = 250, withdraw_deadline: float = 10.0):
        self._stub = pb_grpc.MessagingServiceStub(channel)
        self._progress_ms = progress_ms
        self._withdraw_deadline = withdraw_deadline
        self._catalogue: TemplateCatalogue | None = None
        self._lock = asyncio.Lock()

    def send(
        self, composer: Composer, recipients: list[Recipient], invitations: list[Invitation] | None = None
    ) -> SendStream:
        invited = invitations or [None] * len(recipients)
        request = pb.SendMessagesRequest(
            messages=[composer.message(r, i) for r, i in zip(recipients, invited, strict=True)],
            progress_interval_ms=self._progress_ms,
        )
        return SendStream(self._stub.SendMessages(request))

    async def withdraw(self, prefix: str) -> tuple[int, int]:
        """(withdrawn, still in flight) for the messages under the key prefix."""
        try:
            reply = await self._stub.WithdrawMessages(
                pb.WithdrawMessagesRequest(idempotency_key_prefix=prefix), timeout=self._withdraw_deadline
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                # Messaging noted the hold first (nothing of the prefix is called any more) and goes on withdrawing
                # after the deadline: a big job's queue takes longer than a call should.
                raise StillWithdrawing(prefix) from None
            raise Unavailable(f"messaging's WithdrawMessages failed: {exc.code().name} {exc.details()}") from None
        return int(reply.withdrawn_count), int(reply.in_flight_count)

    async def tier(self, category: str) -> Tier:
        """The messaging tier as a job of this category sees it (marketing stops at the reserve)."""
        try:
            t = await self._stub.GetMessagingTier(pb.GetMessagingTierRequest(), timeout=10)
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"messaging's GetMessagingTier failed: {exc.code().name} {exc.details()}") from None
        available = t.marketing_available if category == "MARKETING" else t.available
        releases = tuple((r.release_time.ToNanoseconds() / 1e9, int(r.count)) for r in t.releases)
        return Tier(int(available) if t.limit else -1, releases, t.window_seconds, t.release_lag_seconds)

    async def states(self, keys: list[str]) -> dict[str, SendState]:
        out: dict[str, SendState] = {}
        for start in range(0, len(keys), STATES_BATCH):
            try:
                reply = await self._stub.BatchGetMessageStates(
                    pb.BatchGetMessageStatesRequest(idempotency_keys=keys[start : start + STATES_BATCH]), timeout=30
                )
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(f"messaging's BatchGetMessageStates failed: {exc.code().name}") from None
            out.update({s.idempotency_key: _state(s) for s in reply.states})
        return out

    async def template(self, name: str, language: str) -> spec.TemplateFacts | None:
        """From the cached catalogue; a template missing from it or not approved in it is read again (at most
        once a MISS_REREAD_SECONDS): one approved a moment ago is usable at once, not after the cache expires."""
        async with self._lock:
            now = time.monotonic()
            age = now - self._catalogue.read_at if self._catalogue is not None else float("inf")
            cached = self._catalogue.templates.get((name, language)) if self._catalogue is not None else None
            doubtful = cached is None or cached.status != "APPROVED"
            if age > TEMPLATE_CACHE_SECONDS or (doubtful and age > MISS_REREAD_SECONDS):
                self._catalogue = TemplateCatalogue(await self._read_catalogue(), now)
        return self._catalogue.templates.get((name, language))

    async def _read_catalogue(self) -> dict[tuple[str, str], spec.TemplateFacts]:
        found: dict[tuple[str, str], spec.TemplateFacts] = {}
        token = ""
        while True:
            try:
                reply = await self._stub.ListTemplates(
                    pb.ListTemplatesRequest(page_size=500, page_token=token), timeout=10
                )
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(f"cannot read the template catalogue from messaging: {exc.code().name}") from None
            for t in reply.templates:
                found[(t.template_name, t.language)] = spec.TemplateFacts(
                    name=t.template_name,
                    language=t.language,
                    category=pb.Category.Name(t.category).removeprefix("CATEGORY_"),
                    status=t.template_status,
                    body_variables=tuple(t.body_variables),
                    header_variables=tuple(t.header_variables),
                    header_media=t.header_media_kind != pb.MEDIA_KIND_UNSPECIFIED,
                    dynamic_buttons=tuple(t.dynamic_buttons),
                )
            token = reply.next_page_token
            if not token:
                return found

    async def open_windows(self, now: float) -> set[str]:
        """WhatsApp customers whose 24-hour window is open now. Conversations come latest first; one whose
        latest message is over a day old cannot have an open window, and neither can any after it."""
        open_: set[str] = set()
        token = ""
        while True:
            try:
                reply = await self._stub.ListConversations(
                    pb.ListConversationsRequest(channel=pb.CHANNEL_WHATSAPP, page_size=500, page_token=token),
                    timeout=10,
                )
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(f"cannot read conversations from messaging: {exc.code().name}") from None
            for c in reply.conversations:
                if c.HasField("update_time") and seconds(c.update_time) < now - WINDOW_SECONDS:
                    return open_
                if c.HasField("window_expire_time") and seconds(c.window_expire_time) > now:
                    open_.add(c.customer)
            token = reply.next_page_token
            if not token:
                return open_
