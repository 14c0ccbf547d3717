"""A stand-in for messaging's SendMessage as commerce uses it (the real one runs in the process tests): a repeated
idempotency key sends nothing and returns the first message; chosen contacts are refused with a rule
(FAILED_PRECONDITION with messaging's ErrorInfo reason), `down` answers UNAVAILABLE. Every call must carry a bearer
token; what was sent, and with whose token, is kept for the tests to read."""

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

    async def SendMessage(self, request: pb.SendMessageRequest, context) -> pb.Message:
        token = dict(context.invocation_metadata()).get("authorization", "")
        if not token.startswith("Bearer ") or len(token) < 20:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing bearer token")
        message = request.message
        self.attempts.append(message.idempotency_key)
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "messaging is down")
        reason = self.refuse.get(message.contact)
        if reason:
            info = any_pb2.Any()
            info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="wecare.digital"))
            status = status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=f"refused: {reason}", details=[info])
            await context.abort_with_status(rpc_status.to_status(status))
        if message.idempotency_key in self.by_key:
            return self.by_key[message.idempotency_key]
        stored = pb.Message()
        stored.CopyFrom(message)
        stored.name = f"messages/{next(numbers):026d}"
        stored.status = pb.STATUS_ACCEPTED
        self.by_key[message.idempotency_key] = stored
        self.sent.append(Sent(stored, token.removeprefix("Bearer ")))
        return stored
