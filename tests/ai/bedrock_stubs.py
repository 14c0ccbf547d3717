"""Stubbed Bedrock clients for the tests: aiobotocore's AioStubber (every request validated against the real
service model, expected parameters compared), and ConverseStream responses as real event-stream frames that
botocore's own parser decodes, each event first validated against its shape in the service model."""

from __future__ import annotations

import binascii
import contextlib
import json
import struct
from collections.abc import AsyncIterator
from typing import Any

from aiobotocore.eventstream import AioEventStream
from aiobotocore.parsers import AioEventStreamJSONParser
from aiobotocore.session import get_session
from aiobotocore.stub import AioStubber
from botocore.validate import validate_parameters


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", 7, len(raw_value)) + raw_value


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of the AWS event-stream encoding: prelude (total length, headers length, CRC32), headers
    (string values), payload, message CRC32."""
    encoded = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + encoded + payload
    return body + struct.pack("!I", binascii.crc32(body) & 0xFFFFFFFF)


def event(kind: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, json.dumps(payload).encode())


def exception(kind: str, message: str) -> bytes:
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, json.dumps({"message": message}).encode())


class _Body:
    """What AioEventStream reads: an aiohttp-like body handing out the bytes in chunks of any size."""

    def __init__(self, data: bytes, chunk: int):
        self._data = data
        self._chunk = chunk
        self.content = self

    async def iter_chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        for i in range(0, len(self._data), self._chunk):
            yield self._data[i : i + self._chunk], False

    def close(self) -> None:
        pass


def converse_stream(
    client, events: list[tuple[str, dict[str, Any]]], tail: bytes = b"", chunk: int = 7
) -> AioEventStream:
    """A ConverseStream event stream of these (event type, payload) pairs, each validated against the model,
    encoded as frames and cut into chunks that split frames (as the network does); `tail` is appended raw."""
    stream_shape = client.meta.service_model.operation_model("ConverseStream").output_shape.members["stream"]
    data = b""
    for kind, payload in events:
        validate_parameters(payload, stream_shape.members[kind])
        data += event(kind, payload)
    return AioEventStream(_Body(data + tail, chunk), stream_shape, AioEventStreamJSONParser(), "ConverseStream")


def text_events(*pieces: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("messageStart", {"role": "assistant"}),
        *(("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}}) for p in pieces),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        (
            "metadata",
            {"usage": {"inputTokens": 900, "outputTokens": 40, "totalTokens": 940}, "metrics": {"latencyMs": 812}},
        ),
    ]


class StreamingStubber(AioStubber):
    """AioStubber that takes a real event stream as a response's `stream` member: the events were validated
    one by one when built (converse_stream above); the other members are validated as usual."""

    def _validate_operation_response(self, operation_name, service_response):
        if isinstance(service_response.get("stream"), AioEventStream):
            service_response = {k: v for k, v in service_response.items() if k != "stream"}
        super()._validate_operation_response(operation_name, service_response)


class StubbedBedrock:
    """Both Bedrock clients, stubbed, behind the `client(service)` seam the provider uses."""

    def __init__(self, agent_runtime, runtime, agent_stubber: AioStubber, runtime_stubber: StreamingStubber):
        self._clients = {"bedrock-agent-runtime": agent_runtime, "bedrock-runtime": runtime}
        self.agent = agent_stubber
        self.runtime = runtime_stubber
        self.runtime_client = runtime

    async def client(self, service: str):
        return self._clients[service]


@contextlib.asynccontextmanager
async def stubbed_bedrock(region: str = "us-east-1") -> AsyncIterator[StubbedBedrock]:
    session = get_session()
    async with (
        session.create_client("bedrock-agent-runtime", region_name=region) as agent_runtime,
        session.create_client("bedrock-runtime", region_name=region) as runtime,
    ):
        with AioStubber(agent_runtime) as agent_stubber, StreamingStubber(runtime) as runtime_stubber:
            yield StubbedBedrock(agent_runtime, runtime, agent_stubber, runtime_stubber)
            agent_stubber.assert_no_pending_responses()
            runtime_stubber.assert_no_pending_responses()
