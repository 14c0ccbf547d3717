"""Several messaging processes in the local run (localrun/stack.py): how many the machine gets by default, the
addresses they take, and one gRPC target over all of them that a client's channel spreads its calls over. The
session's stack (tests/process/conftest.py) runs two, and tests/process/test_local_stack.py shows the gateway's
calls reaching both."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from localrun.procs import free_port
from localrun.stack import PROCESSES, StartFailed, grpc_target, instances, messaging_processes
from runtime.clients import dial
from runtime.settings import Settings


@pytest.mark.parametrize(("setting", "cpus", "expected"), [(0, 1, 1), (0, 2, 2), (0, 16, 2), (3, 1, 3), (1, 16, 1)])
def test_the_setting_or_one_a_core_up_to_two(setting, cpus, expected):
    assert messaging_processes(Settings(messaging_processes=setting), cpus=cpus) == expected


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="WECARE_MESSAGING_PROCESSES"):
        Settings.from_env({"WECARE_MESSAGING_PROCESSES": "-1"})


def test_the_first_takes_the_messaging_address_the_others_free_ports():
    settings = Settings(messaging_processes=3, messaging_address="127.0.0.1:50152")
    made = instances(list(PROCESSES), settings)
    messaging = [i for i in made if i.process.name == "messaging"]
    assert [i.name for i in messaging] == ["messaging", "messaging-2", "messaging-3"]
    assert messaging[0].address == "127.0.0.1:50152"
    assert len({i.address for i in messaging}) == 3 and all(i.address.startswith("127.0.0.1:") for i in messaging)
    others = [i for i in made if i.process.name != "messaging"]
    assert [i.name for i in others] == [p.name for p in PROCESSES if p.name != "messaging"]  # one of each, in order
    assert made.index(messaging[0]) + 3 == made.index(others[2])  # all three start where messaging always did


def test_one_process_is_the_address_as_it_was():
    assert grpc_target(["127.0.0.1:50052"]) == "127.0.0.1:50052"
    assert grpc_target(["localhost:50052"]) == "localhost:50052"


def test_several_need_ipv4_literals():
    assert grpc_target(["127.0.0.1:1", "127.0.0.1:2"]) == "ipv4:127.0.0.1:1,127.0.0.1:2"
    with pytest.raises(StartFailed, match="WECARE_MESSAGING_PROCESSES=1"):
        grpc_target(["localhost:1", "localhost:2"])


class Counting(health.aio.HealthServicer):
    def __init__(self):
        super().__init__()
        self.calls = 0

    async def Check(self, request, context):
        self.calls += 1
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def test_a_channel_to_the_target_spreads_its_calls_over_every_process():
    async def scenario():
        servers, counters, addresses = [], [], []
        for _ in range(3):
            server, counter = grpc.aio.server(), Counting()
            health_pb2_grpc.add_HealthServicer_to_server(counter, server)
            address = f"127.0.0.1:{free_port()}"
            assert server.add_insecure_port(address)
            await server.start()
            servers.append(server)
            counters.append(counter)
            addresses.append(address)
        try:
            async with dial(grpc_target(addresses)) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                for _ in range(60):
                    await stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        finally:
            for server in servers:
                await server.stop(None)
        return [c.calls for c in counters]

    calls = asyncio.run(scenario())
    assert sum(calls) == 60 and min(calls) >= 10, calls  # round robin once all are connected
