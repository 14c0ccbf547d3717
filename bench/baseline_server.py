"""The baseline: a bare grpc.aio server, no interceptors, answering a trivial unary call (bytes in, bytes out).
Everything the platform adds (auth, audit, tracing, storage) is measured against this."""

from __future__ import annotations

import argparse
import asyncio

import grpc

METHOD = "/bench.Baseline/Echo"


async def echo(request: bytes, context) -> bytes:
    return request


async def serve(port: int) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    handler = grpc.method_handlers_generic_handler(
        "bench.Baseline", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))
