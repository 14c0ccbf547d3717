"""RPCs that answer google.api.HttpBody, through the generic transcoder: a unary one as one body, a server stream
as one chunked body (Content-Type from the first message), an error before the first message as a JSON error with
its status, an error after it as a cut connection (never a complete-looking truncated file), and the OpenAPI
document describing them. The backend is a real gRPC server of a probe service declared for the test."""

from __future__ import annotations

import aiohttp
import grpc
import pytest
from google.api import http_pb2, httpbody_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from gateway.app import Channels, Gateway
from gateway.routes import Route
from wecare.auth.v1 import access_pb2

F = descriptor_pb2.FieldDescriptorProto
SERVICE = "wecare.gatewaytest.v1.DownloadService"


def _download_file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(
        name="wecare/gatewaytest/v1/download.proto",
        package="wecare.gatewaytest.v1",
        syntax="proto3",
        dependency=[httpbody_pb2.DESCRIPTOR.name],
    )
    request = file.message_type.add(name="FileRequest")
    request.field.add(name="value", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="value")
    service = file.service.add(name="DownloadService")
    service.method.add(
        name="Fetch", input_type=".wecare.gatewaytest.v1.FileRequest", output_type=".google.api.HttpBody"
    )
    service.method.add(
        name="Export",
        input_type=".wecare.gatewaytest.v1.FileRequest",
        output_type=".google.api.HttpBody",
        server_streaming=True,
    )
    return file


@pytest.fixture(scope="module")
def download_service():
    pool = descriptor_pool.Default()
    try:
        return pool.FindServiceByName(SERVICE)
    except KeyError:
        pool.AddSerializedFile(_download_file().SerializeToString())
        return pool.FindServiceByName(SERVICE)


def csv_part(text: str) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type="text/csv; charset=utf-8", data=text.encode())


async def fetch(request, context):
    if request.value == "missing":
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such file")
    return csv_part(f"a,b\r\n{request.value},2\r\n")


async def export(request, context):
    if request.value == "missing":
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such form")
    yield csv_part("key,value\r\n")
    for i in range(3):
        yield httpbody_pb2.HttpBody(data=f"row{i},{i}\r\n".encode())  # later parts need no content type
    if request.value == "breaks":
        await context.abort(grpc.StatusCode.UNAVAILABLE, "the store went away")
    yield csv_part("last,9\r\n")


@pytest.fixture
async def backend(download_service):
    parse = message_factory.GetMessageClass(download_service.methods_by_name["Fetch"].input_type).FromString
    handlers = {
        "Fetch": grpc.unary_unary_rpc_method_handler(fetch, parse, httpbody_pb2.HttpBody.SerializeToString),
        "Export": grpc.unary_stream_rpc_method_handler(export, parse, httpbody_pb2.HttpBody.SerializeToString),
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(0)


@pytest.fixture
async def client(backend, download_service, settings_for, verifier, make_client):
    settings = settings_for("127.0.0.1:1")  # the contacts routes exist but are never called here
    channels = Channels()
    viewer = access_pb2.Access(min_role=access_pb2.ROLE_VIEWER)
    routes = [
        Route.build(
            download_service.methods_by_name[method],
            http_pb2.HttpRule(get=path),
            viewer,
            channels.get(backend),
            backend,
        )
        for method, path in (("Fetch", "/v1/files/{value}"), ("Export", "/v1/files/{value}:export"))
    ]
    client = await make_client(Gateway(settings, verifier(settings), channels=channels, extra_rpc_routes=routes))
    yield client
    await channels.close()


async def test_a_unary_http_body_is_the_response(client, user_pool):
    reply = await client.get("/v1/files/x", headers=user_pool.auth("viewer"))
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert await reply.read() == b"a,b\r\nx,2\r\n"


async def test_a_streamed_http_body_is_one_chunked_response(client, user_pool):
    reply = await client.get("/v1/files/ok:export", headers=user_pool.auth("viewer"))
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert reply.headers.get("Transfer-Encoding") == "chunked"
    assert await reply.read() == b"key,value\r\nrow0,0\r\nrow1,1\r\nrow2,2\r\nlast,9\r\n"


async def test_a_link_may_carry_the_token_of_a_streamed_download(client, user_pool):
    reply = await client.get(f"/v1/files/ok:export?access_token={user_pool.token('viewer')}")
    assert reply.status == 200 and (await reply.read()).startswith(b"key,value")


async def test_errors_before_the_body_are_json_with_their_status(client, user_pool):
    for path in ("/v1/files/missing", "/v1/files/missing:export"):
        reply = await client.get(path, headers=user_pool.auth("viewer"))
        assert reply.status == 404, path
        assert reply.headers["Content-Type"].startswith("application/json")
        assert (await reply.json())["message"].startswith("no such")
    assert (await client.get("/v1/files/ok:export")).status == 401


async def test_an_error_mid_stream_cuts_the_connection(client, user_pool):
    reply = await client.get("/v1/files/breaks:export", headers=user_pool.auth("viewer"))
    assert reply.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await reply.read()


async def test_the_openapi_document_says_what_they_return(client):
    document = await (await client.get("/openapi.json")).json()
    fetch_ok = document["paths"]["/v1/files/{value}"]["get"]["responses"]["200"]
    export_op = document["paths"]["/v1/files/{value}:export"]["get"]
    assert fetch_ok["content"] == {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    assert "streamed" in export_op["responses"]["200"]["description"]
    assert {"accessToken": []} in export_op["security"]


def test_an_http_body_is_not_cut_down_by_response_body(download_service):
    with pytest.raises(ValueError, match="HttpBody"):
        Route.build(
            download_service.methods_by_name["Fetch"],
            http_pb2.HttpRule(get="/v1/files/{value}", response_body="data"),
            None,
            None,
            "x",
        )
