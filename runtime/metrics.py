"""Prometheus metrics: every RPC by method and outcome, the dispatcher's and bulk's, served on WECARE_METRICS_PORT."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPCS = Counter("wecare_rpc_total", "RPCs handled", ["service", "method", "code"])
RPC_SECONDS = Histogram(
    "wecare_rpc_duration_seconds",
    "Time from the call's arrival to its last response message",
    ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)

# Hooks for the dispatcher (services/messaging/dispatch/) and bulk (services/bulk/): named here so dashboards
# and alerts (docs/RUNBOOK.md) can be written against them; each process updates its own.
DISPATCH_SENDS = Counter(
    "wecare_dispatch_sends_total",
    "Provider calls the dispatcher made, by channel, origination (phone number id or sender) and outcome",
    ["channel", "origination", "outcome"],
)
DISPATCH_THROTTLES = Counter(
    "wecare_dispatch_throttles_total",
    "Provider throttling answers, by channel and origination",
    ["channel", "origination"],
)
DISPATCH_QUEUE_DEPTH = Gauge(
    "wecare_dispatch_queue_depth",
    "Accepted messages this process holds ready to send (taken from the store's queue, not yet handed off)",
    ["channel"],
)
DISPATCH_RATE = Gauge(
    "wecare_dispatch_rate_per_second", "The rate the dispatcher paces an origination at now", ["channel", "origination"]
)
BULK_JOBS = Gauge("wecare_bulk_jobs", "Bulk jobs by state, as this process last saw them", ["state"])
BULK_RECIPIENTS = Counter("wecare_bulk_recipients_total", "Bulk recipients by outcome", ["outcome"])


class Children:
    """A metric's children by label values, each looked up once: prometheus_client's labels() checks the values
    and takes a lock on every call, which on a path taken a thousand times a second is worth keeping."""

    def __init__(self, metric):
        self._metric = metric
        self._made: dict[tuple[str, ...], object] = {}

    def __call__(self, *values: str):
        child = self._made.get(values)
        if child is None:
            child = self._made[values] = self._metric.labels(*values)
        return child


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    if port:
        start_http_server(port, addr=host)
