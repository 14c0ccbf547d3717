"""ConversationSource over the messaging service (gRPC ListMessages, the ai service's own service identity):
a contact's latest WhatsApp messages as text, and when they last wrote (which opens the 24-hour window)."""

from __future__ import annotations

import time

import grpc

from runtime.errors import Unavailable
from runtime.names import seconds
from services.ai.domain.conversations import (
    MAX_MESSAGES,
    WINDOW_SECONDS,
    ContactCard,
    Conversation,
    ConversationMessage,
    Direction,
)
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc

TIMEOUT_SECONDS = 5.0
MAX_PAGES = 5  # looking further back for the contact's last message than this cannot reopen a 24-hour window


def message_text(message: pb.Message) -> str:
    """What a message says, as text a reply can answer."""
    content = message.content
    kind = content.WhichOneof("kind")
    if kind == "text":
        return content.text.body
    if kind == "media":
        label = pb.MediaKind.Name(content.media.kind).removeprefix("MEDIA_KIND_").lower()
        return f"[{label}] {content.media.caption}".strip()
    if kind == "template":
        return f"[template {content.template.template_name}]"
    if kind == "location":
        return f"[location] {content.location.name} {content.location.address}".strip()
    if kind == "interactive":
        return content.interactive.body_text or "[interactive]"
    if kind == "email":
        return "[email]"
    return f"[{kind or 'empty'}]"


class MessagingConversations:
    def __init__(self, channel: grpc.aio.Channel, clock=time.time):
        self._stub = messaging_service_pb2_grpc.MessagingServiceStub(channel)
        self._clock = clock

    async def recent(self, contact: ContactCard, limit: int = MAX_MESSAGES) -> Conversation:
        newest_first: list[pb.Message] = []
        last_inbound: float | None = None
        token = ""
        horizon = self._clock() - WINDOW_SECONDS
        for _ in range(MAX_PAGES):
            try:
                page = await self._stub.ListMessages(
                    pb.ListMessagesRequest(
                        contact=contact.name, channel=pb.CHANNEL_WHATSAPP, page_size=limit, page_token=token
                    ),
                    timeout=TIMEOUT_SECONDS,
                )
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(
                    f"the messaging service could not list {contact.name}'s messages "
                    f"({exc.code().name}: {exc.details()}); retry",
                    reason="MESSAGING_UNAVAILABLE",
                ) from exc
            if len(newest_first) < limit:
                newest_first.extend(page.messages[: limit - len(newest_first)])
            for message in page.messages:
                if message.direction == pb.DIRECTION_INBOUND:
                    last_inbound = seconds(message.create_time)
                    break
            token = page.next_page_token
            oldest = seconds(page.messages[-1].create_time) if page.messages else horizon
            if last_inbound is not None or not token or oldest < horizon:
                break
        messages = tuple(
            ConversationMessage(
                Direction.INBOUND if m.direction == pb.DIRECTION_INBOUND else Direction.OUTBOUND,
                message_text(m),
                seconds(m.create_time),
            )
            for m in reversed(newest_first)
        )
        return Conversation(messages, last_inbound)
