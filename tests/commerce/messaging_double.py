"""A stand-in for messaging's SendMessage and SendMessages as commerce uses them (the real one runs in the
process tests): a repeated idempotency key sends nothing and returns the first message; chosen contacts are
refused with a rule (FAILED_PRECONDITION with messaging's ErrorInfo reason: SendMessage's error, SendMessages'
refusal); `down` answers UNAVAILABLE. Every call must carry a bearer token; what was sent, with whose token, and
every attempt are kept for the tests to read."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from wecare.messaging.v1 import messaging_service_pb2 as pb
from wecare.messaging.v1 import messaging_service_pb2_grpc as pb_grpc

numbers = itertools.count(1)


@dataclass(frozen=True)
class Sent:
    message: pb.Message
    token: str


class MessagingDouble(pb_grpc.MessagingServiceServicer):
    def __init__(self):
        self.sent: list[Sent] = []
        self.attempts: list[str] = []  # the idempotency key of every call, refused ones too
        self.by_key: dict[str, pb.Message] = {}
        self.refuse: dict[str, str] = {}  # contact name -> reason
        self.down = False

    def of(self, contact: str) -> list[pb.Message]:
        return [s.message for s in self.sent if s.message.contact == contact]

    async def _token(self, context) -> str:
        token = dict(context.invocation_metadata()).get("authorization", "")
        if not token.startswith("Bearer ") or len(token) < 20:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing bearer token")
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "messaging is down")
        return token.removeprefix("Bearer ")

    def _accept(self, message: pb.Message, token: str) -> pb.Message | status_pb2.Status:
        reason = self.refuse.get(message.contact)
        if reason:
            info = any_pb2.Any()
            info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="wecare.digital"))
            return status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=f"refused: {reason}", details=[info])
        if message.idempotency_key in self.by_key:
            return self.by_key[message.idempotency_key]
        stored = pb.Message()
        stored.CopyFrom(message)
        stored.name = f"messages/{next(numbers):026d}"
        stored.status = pb.STATUS_ACCEPTED
        self.by_key[message.idempotency_key] = stored
        self.sent.append(Sent(stored, token))
        return stored

    async def SendMessage(self, request: pb.SendMessageRequest, context) -> pb.Message:
        self.attempts.append(request.message.idempotency_key)
        token = await self._token(context)
        result = self._accept(request.message, token)
        if isinstance(result, status_pb2.Status):
            await context.abort_with_status(rpc_status.to_status(result))
        return result

    async def SendMessages(self, request: pb.SendMessagesRequest, context):
        """Each message's acceptance or refusal in one progress update (outcomes are not modelled)."""
        self.attempts += [m.idempotency_key for m in request.messages]
        token = await self._token(context)
        results = []
        for index, message in enumerate(request.messages):
            result = self._accept(message, token)
            if isinstance(result, status_pb2.Status):
                results.append(pb.SendResult(index=index, refusal=result))
            else:
                results.append(pb.SendResult(index=index, message=result.name, status=result.status))
        yield pb.SendMessagesResponse(results=results)
