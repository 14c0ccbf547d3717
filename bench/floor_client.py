"""The CPU floors of a send's one provider request, as a process of its own (so that its CPU time is nothing but
the calls): `python -m bench.floor_client aiohttp|sdk|sdk-fixed-ua|lean --endpoint URL ...` makes `--warmup`
calls, prints `ready`, waits for a line on stdin, makes `--calls` calls `--concurrency` at a time, and prints one
JSON line: {"kind", "calls", "cpu_s", "wall_s"} (cpu_s: this process's CPU time over the measured calls, every thread).

- sdk: a bare aiobotocore `send_whatsapp_message`: the session's and client's defaults, static credentials
  from the environment as messaging takes them, the endpoint and region given; one client for every call.
- sdk-fixed-ua: the same with the two settings runtime/aws.py gives messaging's provider client (a fixed
  User-Agent, one attempt): not a floor, it shows what the configuration saves of the bare SDK.
- lean: not a floor either: messaging's own provider call, runtime/aws_lean.py through runtime.aws.AwsClients as
  the WhatsApp provider makes it (the SDK's request, signed, without the SDK's per-call work).
- aiohttp: a bare aiohttp POST of the very body the SDK sends for the same message (taken from one SDK call
  before the run, with its Content-Type and Authorization headers) to the same URL, the answer read; one
  session for every call.

The message is a WhatsApp template message as messaging builds it for the bench's sends (order_update with two
body parameters), to the recipient and with the callback data given."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session


def message_object(to: str, callback: str) -> bytes:
    """Meta's message object for the bench's template send, encoded as messaging encodes it."""
    obj = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "biz_opaque_callback_data": callback,
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Asha"}, {"type": "text", "text": "A-1"}]}
            ],
        },
    }
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def sdk_client(args: argparse.Namespace, fixed_user_agent: bool = False):
    # fixed_user_agent: as runtime/aws.py configures its clients (botocore otherwise builds the User-Agent
    # header anew for every request); one attempt, as messaging's provider calls are made.
    config = None
    if fixed_user_agent:
        config = AioConfig(user_agent="wecare/bench floor", retries={"mode": "standard", "total_max_attempts": 1})
    return get_session().create_client(
        "socialmessaging", region_name=args.region, endpoint_url=args.endpoint, config=config
    )


def sdk_params(args: argparse.Namespace) -> dict:
    return {
        "originationPhoneNumberId": args.origination,
        "message": message_object(args.to, args.callback),
        "metaApiVersion": "v20.0",
    }


async def sdk_request(args: argparse.Namespace) -> tuple[str, bytes, dict[str, str]]:
    """The URL, body and headers the SDK sends for the message (one real call, seen before it goes): the bare POST
    sends the body with its Content-Type and that call's Authorization as it is (the sandbox checks a SigV4
    header is there; signing is the SDK's work, not the floor's)."""
    seen: dict = {}

    def grab(request, **_) -> None:
        seen.setdefault("request", request)

    async with sdk_client(args) as client:
        client.meta.events.register("before-send.socialmessaging.SendWhatsAppMessage", grab)
        await client.send_whatsapp_message(**sdk_params(args))
    request = seen["request"]
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    headers = {}
    for name in ("Content-Type", "Authorization"):
        value = request.headers.get(name, b"")
        headers[name] = value.decode() if isinstance(value, bytes) else value  # botocore keeps bytes
    return request.url, body, headers


async def run_calls(call, count: int, concurrency: int) -> None:
    counter = iter(range(count))

    async def caller() -> None:
        for _ in counter:
            await call()

    await asyncio.gather(*(caller() for _ in range(concurrency)))


async def measured(args: argparse.Namespace, call: Callable[[], Awaitable[None]], **extra) -> dict:
    """Warms up, says ready, waits for the go, then makes the measured calls and reports this process's CPU."""
    await run_calls(call, args.warmup, args.concurrency)
    print("ready", flush=True)
    if not await asyncio.to_thread(sys.stdin.readline):
        raise SystemExit("stdin closed before the go")
    cpu, wall = time.process_time(), time.perf_counter()
    await run_calls(call, args.calls, args.concurrency)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"kind": args.kind, "calls": args.calls, "cpu_s": cpu, "wall_s": wall, **extra}


async def sdk_floor(args: argparse.Namespace) -> dict:
    params = sdk_params(args)
    async with sdk_client(args, fixed_user_agent=args.kind == "sdk-fixed-ua") as client:

        async def call() -> None:
            reply = await client.send_whatsapp_message(**params)
            if not reply.get("messageId"):
                raise RuntimeError(f"no messageId in {reply}")

        return await measured(args, call)


async def lean_floor(args: argparse.Namespace) -> dict:
    from runtime.aws import AwsClients
    from runtime.settings import Settings

    aws = AwsClients(Settings(region=args.region), "bench")
    try:
        op = await aws.lean(
            "socialmessaging", "SendWhatsAppMessage", args.endpoint, args.concurrency, 2.0, client_span=False
        )
        params = sdk_params(args)

        async def call() -> None:
            reply = await op.call(params)
            if not reply.get("messageId"):
                raise RuntimeError(f"no messageId in {reply}")

        return await measured(args, call)
    finally:
        await aws.close()


async def aiohttp_floor(args: argparse.Namespace) -> dict:
    url, body, headers = await sdk_request(args)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as session:

        async def call() -> None:
            async with session.post(url, data=body, headers=headers) as reply:
                answer = await reply.read()
                if reply.status != 200:
                    raise RuntimeError(f"HTTP {reply.status}: {answer[:200]!r}")

        return await measured(args, call, body_bytes=len(body))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_client")
    parser.add_argument("kind", choices=["aiohttp", "sdk", "sdk-fixed-ua", "lean"])
    parser.add_argument("--endpoint", required=True, help="the sandbox's URL")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--origination", required=True, help="a phone number id the sandbox knows")
    parser.add_argument("--to", required=True)
    parser.add_argument("--callback", default="")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    floors = {"aiohttp": aiohttp_floor, "lean": lean_floor}
    result = asyncio.run(floors.get(args.kind, sdk_floor)(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
