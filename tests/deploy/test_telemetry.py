"""Telemetry as deployed: spans go to an OTLP/HTTP collector when OTEL_EXPORTER_OTLP_ENDPOINT names one (a
receiver here decodes what arrives), and an AWS call made inside a request is a client span of that request
(runtime/aws.py's botocore hooks), against moto."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from runtime.aws import AwsClients
from runtime.settings import Settings
from runtime.tracing import otlp_traces_url, setup_tracing
from tests.support.tracing import span_exporter


def test_the_endpoint_is_the_collectors_base_url():
    assert otlp_traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("http://collector:4318/v1/traces") == "http://collector:4318/v1/traces"


async def test_spans_are_exported_to_an_otlp_collector(monkeypatch):
    received: list[ExportTraceServiceRequest] = []

    async def collect(request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.append(message)
        return web.Response(status=200, content_type="application/x-protobuf", body=b"")

    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    # setup_tracing sets the global provider once per process; keep this test's provider to itself.
    monkeypatch.setattr(trace, "set_tracer_provider", lambda provider: None)
    try:
        provider = setup_tracing(Settings(otlp_endpoint=str(server.make_url("/"))), "probe")
        with provider.get_tracer("t").start_as_current_span("exported work"):
            pass
        await asyncio.to_thread(provider.force_flush)
        provider.shutdown()
    finally:
        await server.close()
    spans = [
        (span.name, {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"])
        for message in received
        for resource in message.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert ("exported work", "wecare-probe") in spans


async def test_an_aws_call_is_a_client_span_of_the_request(moto_endpoint):
    # runtime/aws.py's tracer resolves through the process's provider, as in a service (set once per process).
    exporter = span_exporter()
    tracer = trace.get_tracer_provider().get_tracer("t")
    aws = AwsClients(Settings(aws_endpoint_url=moto_endpoint))
    try:
        dynamodb = await aws.client("dynamodb")
        with tracer.start_as_current_span("the request") as request:
            await dynamodb.list_tables()
            try:
                await dynamodb.describe_table(TableName="no-such-table-here")
            except dynamodb.exceptions.ResourceNotFoundException:
                pass
    finally:
        await aws.close()
        exporter.shutdown()  # later spans of this process are not kept
    spans = {s.name: s for s in exporter.get_finished_spans()}
    listed, missing = spans["DynamoDB ListTables"], spans["DynamoDB DescribeTable"]
    for span in (listed, missing):
        assert span.kind == trace.SpanKind.CLIENT
        assert span.parent.span_id == request.get_span_context().span_id
        assert span.context.trace_id == request.get_span_context().trace_id
    assert listed.attributes["http.response.status_code"] == 200
    assert missing.status.status_code == trace.StatusCode.ERROR
    assert missing.attributes["aws.error_code"] == "ResourceNotFoundException"
