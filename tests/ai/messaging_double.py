"""A stand-in for the messaging service's ListMessages, for the ai tests (the real service is tested in its
own folder): it serves a contact's messages newest first, in pages, and refuses calls without a valid
service token, as the real one does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc

from runtime.auth import TokenVerifier, bearer
from runtime.errors import Unauthenticated
from runtime.names import timestamp
from runtime.settings import Settings
from tests.support.servers import serving
from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc


class MessagingDouble(pb_grpc.MessagingServiceServicer):
    def __init__(self, settings: Settings):
        self._verifier = TokenVerifier(settings)
        self.messages: dict[str, list[pb.Message]] = {}  # contact -> oldest first
        self.callers: list[str] = []
        self.requests: list[pb.ListMessagesRequest] = []

    def say(self, contact: str, text: str, at: float, inbound: bool = True) -> None:
        direction = pb.DIRECTION_INBOUND if inbound else pb.DIRECTION_OUTBOUND
        self.messages.setdefault(contact, []).append(
            pb.Message(
                name=f"messages/m{len(self.messages.get(contact, []))}",
                direction=direction,
                channel=pb.CHANNEL_WHATSAPP,
                contact=contact,
                content=pb.Content(text=pb.TextContent(body=text)),
                create_time=timestamp(at),
            )
        )

    async def ListMessages(self, request: pb.ListMessagesRequest, context) -> pb.ListMessagesResponse:
        token = bearer(dict(context.invocation_metadata()).get("authorization"))
        try:
            who = await self._verifier.verify(token)
        except Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
        self.callers.append(who.subject)
        self.requests.append(request)
        newest_first = list(reversed(self.messages.get(request.contact, [])))
        start = int(request.page_token or 0)
        size = request.page_size or 50
        page = newest_first[start : start + size]
        more = start + size < len(newest_first)
        return pb.ListMessagesResponse(messages=page, next_page_token=str(start + size) if more else "")


@contextlib.asynccontextmanager
async def messaging_double(settings: Settings) -> AsyncIterator[tuple[MessagingDouble, str]]:
    servicer = MessagingDouble(settings)
    async with serving(servicer, pb_grpc.add_MessagingServiceServicer_to_server) as address:
        yield servicer, address
