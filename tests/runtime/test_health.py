"""Health follows the backends: a service whose store becomes unreachable turns NOT_SERVING (so Kubernetes and the
gateway's /readyz stop sending it traffic) while it keeps running, and reflection and health stay open throughout."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from localrun.procs import free_port, start_moto, stop
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.contacts.adapters import dynamodb_store
from services.contacts.main import wire
from tests.support.identity import TestPool
from tests.support.servers import running

SERVICE = "wecare.contacts.v1.ContactsService"


async def _status(stub, service: str = SERVICE):
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
    return reply.status


async def _until(stub, want, within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (status := await _status(stub)) != want:
        assert asyncio.get_running_loop().time() < deadline, f"health stayed {status}"
        await asyncio.sleep(0.1)


async def test_store_unreachable_turns_health_not_serving(tmp_path):
    port = free_port()
    moto = start_moto(port, tmp_path / "moto.log")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        aws = AwsClients(Settings(dynamodb_endpoint_url=endpoint))
        await dynamodb_store.ensure_table(await aws.client("dynamodb"), "ContactsTable")
        await aws.close()
        async with running(
            "contacts", wire, TestPool(), tmp_path, store="dynamodb", dynamodb_endpoint_url=endpoint
        ) as process:
            async with grpc.aio.insecure_channel(process.address) as channel:
                health = health_pb2_grpc.HealthStub(channel)
                await _until(health, health_pb2.HealthCheckResponse.SERVING)
                stop(moto, timeout=10)  # DynamoDB goes away
                await _until(health, health_pb2.HealthCheckResponse.NOT_SERVING)
                assert await _status(health, "") == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        stop(moto, timeout=10)
