"""OpenTelemetry tracing: W3C trace context carried in gRPC metadata and HTTP headers from the gateway through
every service, spans exported to OTLP when configured and to a JSON-lines file for local runs and tests."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterable, Sequence

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from runtime.settings import Settings


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span as one JSON line; several processes may share the file."""

    def __init__(self, path: str):
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            ctx = span.get_span_context()
            lines.append(
                json.dumps(
                    {
                        "service": span.resource.attributes.get("service.name"),
                        "instance": span.resource.attributes.get("service.instance.id"),
                        "name": span.name,
                        "kind": span.kind.name,
                        "trace_id": format(ctx.trace_id, "032x"),
                        "span_id": format(ctx.span_id, "016x"),
                        "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
                        "start_ns": span.start_time,
                        "end_ns": span.end_time,
                        "status": span.status.status_code.name,
                        "attributes": dict(span.attributes or {}),
                    },
                    default=str,
                )
            )
        with self._lock, open(self._path, "a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def setup_tracing(settings: Settings, service: str) -> TracerProvider:
    # The instance tells apart the processes of one service (a pod's replicas; messaging's processes in a local run).
    instance = f"{socket.gethostname()}:{os.getpid()}"
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"wecare-{service}", "service.instance.id": instance})
    )
    if settings.trace_file:
        provider.add_span_processor(
            BatchSpanProcessor(JsonLinesSpanExporter(settings.trace_file), schedule_delay_millis=200)
        )
    if settings.otlp_endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:  # the exporter is a deployment choice, installed in the image
            raise RuntimeError("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed") from exc
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_traces_url(settings.otlp_endpoint)))
        )
    trace.set_tracer_provider(provider)
    return provider


def otlp_traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL (e.g. http://collector:4318): traces go to
    <base>/v1/traces, as the OpenTelemetry specification says for that variable."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def extract_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None):
    carrier = {k: v for k, v in (metadata or ()) if isinstance(v, str)}
    return propagate.extract(carrier)


def inject_headers() -> dict[str, str]:
    """W3C headers for the current span, for an outgoing call."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
