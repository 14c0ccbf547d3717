"""Prometheus metrics: every RPC by method and outcome, served on WECARE_METRICS_PORT."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

RPCS = Counter("wecare_rpc_total", "RPCs handled", ["service", "method", "code"])
RPC_SECONDS = Histogram(
    "wecare_rpc_duration_seconds",
    "Time from the call's arrival to its last response message",
    ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    if port:
        start_http_server(port, addr=host)
