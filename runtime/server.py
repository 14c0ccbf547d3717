"""Starts a grpc.aio server the same way for every service: the interceptor chain, health (NOT_SERVING while a
backend it needs is unreachable, and from the moment SIGTERM arrives), reflection listing every service, metrics,
and a graceful stop: SIGTERM -> NOT_SERVING -> drain delay -> stop taking calls -> in-flight calls finish -> exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from runtime import tls
from runtime.audit.model import AuditStore
from runtime.auth import TokenVerifier, access_table
from runtime.interceptors import AuditTrail, Authenticator, RpcPipeline, Telemetry
from runtime.metrics import serve_metrics
from runtime.settings import Settings

log = logging.getLogger("wecare.server")
Probe = Callable[[], Awaitable[Any]]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
LIVENESS = "liveness"  # the health service name the Kubernetes liveness probe asks for


@dataclass
class GrpcProcess:
    """One service process: what it serves, what it depends on, what to close at the end."""

    name: str
    settings: Settings
    address: str
    audit: AuditStore
    verifier: TokenVerifier
    probe_interval: float = 2.0
    _services: list[tuple[Callable[[Any, grpc.aio.Server], None], Any, str]] = field(default_factory=list)
    _probes: dict[str, Probe] = field(default_factory=dict)
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    _background: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def add_service(self, add_to_server, servicer, full_name: str) -> None:
        self._services.append((add_to_server, servicer, full_name))

    def depends_on(self, name: str, probe: Probe) -> None:
        """Health is NOT_SERVING while probe() fails or takes over a second."""
        self._probes[name] = probe

    def on_close(self, closer: Callable[[], Awaitable[Any]]) -> None:
        self._closers.append(closer)

    def run_in_background(self, task: Callable[[], Awaitable[Any]]) -> None:
        """A coroutine started with the server and cancelled when it stops (workers, pollers)."""
        self._background.append(task)

    async def run(self, stop: asyncio.Event | None = None, handle_signals: bool = True) -> None:
        stop = stop or asyncio.Event()
        names = [full_name for _, _, full_name in self._services]
        table = access_table(names)
        server = grpc.aio.server(
            interceptors=[
                RpcPipeline(Telemetry(self.name), AuditTrail(self.audit, table), Authenticator(self.verifier, table))
            ],
            # A second process on the same port must fail loudly, not share it.
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 8 * 1024 * 1024)],
        )
        for add_to_server, servicer, _ in self._services:
            add_to_server(servicer, server)
        health_servicer = health.aio.HealthServicer()
        for service in ["", *names]:  # NOT_SERVING until the first round of backend probes passes
            await health_servicer.set(service, NOT_SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        # Liveness: SERVING while the process runs, whatever its backends do (a restart would not bring them back).
        await health_servicer.set(LIVENESS, SERVING)
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)

        address = self.settings.listen_address or self.address
        credentials = tls.server_credentials(self.settings)
        port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
        if port == 0:
            raise RuntimeError(f"cannot listen on {address}")
        probes = self._health_listener(health_servicer)
        serve_metrics(self.settings.metrics_port)
        await server.start()
        if probes is not None:
            await probes.start()
        log.info("serving", extra={"address": address, "services": names, "tls": credentials is not None})

        if handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        watcher = asyncio.create_task(self._watch_health(health_servicer, names, stop))
        background = [asyncio.create_task(task()) for task in self._background]
        self.ready.set()
        await stop.wait()

        # Drain: tell the load balancers first, keep serving for drain_seconds, then stop accepting.
        log.info("stopping: health NOT_SERVING, draining", extra={"grace_seconds": self.settings.grace_seconds})
        watcher.cancel()
        await health_servicer.enter_graceful_shutdown()
        if self.settings.drain_seconds:
            await asyncio.sleep(self.settings.drain_seconds)
        await server.stop(self.settings.grace_seconds)
        if probes is not None:
            await probes.stop(None)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:
                log.exception("close failed")
        log.info("stopped")

    def _health_listener(self, servicer) -> grpc.aio.Server | None:
        """Health alone, in plaintext on settings.health_port, for kubelet's gRPC probes when the service port
        speaks TLS. It shares the servicer, so it turns NOT_SERVING with the service."""
        if not self.settings.health_port:
            return None
        probes = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(servicer, probes)
        if probes.add_insecure_port(f"0.0.0.0:{self.settings.health_port}") == 0:
            raise RuntimeError(f"cannot listen for health probes on port {self.settings.health_port}")
        return probes

    async def _watch_health(self, servicer, names: list[str], stop: asyncio.Event) -> None:
        current = None
        while not stop.is_set():
            failures = {}
            for name, probe in self._probes.items():
                try:
                    await asyncio.wait_for(probe(), timeout=1.0)
                except Exception as exc:
                    failures[name] = repr(exc)
            status = NOT_SERVING if failures else SERVING
            if status != current:
                for service in ["", *names]:
                    await servicer.set(service, status)
                if failures:
                    log.warning("backend unreachable: NOT_SERVING", extra={"failures": failures})
                else:
                    log.info("all backends reachable: SERVING")
                current = status
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.probe_interval)
            except TimeoutError:
                pass
