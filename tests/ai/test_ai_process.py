"""`python -m services.ai` as a process of its own: it serves AIService with health and reflection on its
address, refuses calls without a token, picks the provider the settings name, and exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from localrun.procs import free_port, start_python, stop
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.ai.adapters.bedrock_provider import BedrockProvider
from services.ai.adapters.local.provider import LocalProvider
from services.ai.adapters.sqlite_store import SqliteDocsStore
from services.ai.main import provider
from wecare.ai.v1 import ai_service_pb2 as pb
from wecare.ai.v1 import ai_service_pb2_grpc as pb_grpc

pytestmark = pytest.mark.process


async def serving(channel, deadline: float = 30.0) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        try:
            reply = await health.Check(health_pb2.HealthCheckRequest(service="wecare.ai.v1.AIService"), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            pass
        assert loop.time() < end, "the ai process did not become SERVING"
        await asyncio.sleep(0.2)


async def test_the_ai_process_serves_and_stops_cleanly(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    env = {"WECARE_AI_ADDRESS": address, "WECARE_DATA_DIR": str(tmp_path / "data"), "WECARE_LOG_LEVEL": "INFO"}
    proc = start_python("services.ai", env, tmp_path / "ai.log")
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            await serving(channel)
            reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
            replies = reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            names = [s.name async for r in replies for s in r.list_services_response.service]
            assert "wecare.ai.v1.AIService" in names and "grpc.health.v1.Health" in names
            with pytest.raises(grpc.aio.AioRpcError) as anonymous:
                await pb_grpc.AIServiceStub(channel).QueryKnowledgeBase(pb.QueryKnowledgeBaseRequest(question="hi"))
            assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0, (tmp_path / "ai.log").read_text()
        assert (tmp_path / "data" / "DocsTable.sqlite3").exists()
    finally:
        stop(proc, timeout=10)


async def test_the_provider_is_the_one_the_settings_name(tmp_path):
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    local = Settings.from_env({})
    assert isinstance(provider(local, AwsClients(local), store), LocalProvider)
    bedrock = Settings.from_env({"WECARE_AI_PROVIDER": "bedrock"})
    assert isinstance(provider(bedrock, AwsClients(bedrock), store), BedrockProvider)
    with pytest.raises(ValueError, match="WECARE_AI_PROVIDER"):
        Settings.from_env({"WECARE_AI_PROVIDER": "openai"})
    await store.close()
