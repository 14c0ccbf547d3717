"""Path templates (the google/api/http.proto grammar), the route table's 404/405 and verb precedence, and the
OpenAPI form of templates."""

from __future__ import annotations

import pytest
from google.api import http_pb2

from gateway.openapi import openapi_path
from gateway.routes import NoRoute, RouteTable
from gateway.templates import PathTemplate, TemplateError


def test_variables_literals_and_verbs():
    template = PathTemplate.parse("/v1/{name=bulkJobs/*}:start")
    assert template.verb == "start"
    assert template.match("/v1/bulkJobs/01J:start") == {"name": "bulkJobs/01J"}
    assert template.match("/v1/bulkJobs/01J") is None
    assert template.match("/v1/bulkJobs/a/b:start") is None  # `*` is one segment
    nested = PathTemplate.parse("/v1/{contact.name=contacts/*}")
    assert nested.match("/v1/contacts/abc") == {"contact.name": "contacts/abc"}
    assert PathTemplate.parse("/v1/contacts:search").match("/v1/contacts:search") == {}
    plain = PathTemplate.parse("/v1/users/{user_id}/things/{thing}")
    assert plain.match("/v1/users/u%201/things/t%2Fx") == {"user_id": "u 1", "thing": "t/x"}
    deep = PathTemplate.parse("/v1/{path=files/**}")
    assert deep.match("/v1/files/a/b%2Fc") == {"path": "files/a/b%2Fc"}  # `**` keeps an encoded slash encoded
    assert PathTemplate.parse("/v1/*/x").match("/v1/anything/x") == {}


@pytest.mark.parametrize(
    "text",
    ["v1/contacts", "/v1/{name=contacts/*", "/v1/{name=contacts/{id}}", "/v1/{1name}", "/v1/{a}/{a}", "/v1/x:a/b"],
)
def test_bad_templates_are_refused(text):
    with pytest.raises(TemplateError):
        PathTemplate.parse(text)


async def test_route_table_finds_by_method_and_prefers_verbs(route_for):
    table = RouteTable(
        [
            route_for(http_pb2.HttpRule(get="/v1/{name=probes/*}")),
            route_for(http_pb2.HttpRule(delete="/v1/{name=probes/*}")),
            route_for(http_pb2.HttpRule(post="/v1/{name=probes/*}:echo", body="*")),
            route_for(http_pb2.HttpRule(get="/v1/probes")),
        ]
    )
    route, values = table.find("GET", "/v1/probes/7")
    assert route.template.text == "/v1/{name=probes/*}" and values == {"name": "probes/7"}
    route, values = table.find("POST", "/v1/probes/7:echo")
    assert route.template.verb == "echo" and values == {"name": "probes/7"}
    with pytest.raises(NoRoute) as wrong:
        table.find("GET", "/v1/probes/7:echo")  # the verb is named: not the id `7:echo`
    assert wrong.value.allowed == ("POST",)
    with pytest.raises(NoRoute) as wrong:
        table.find("PUT", "/v1/probes/7")
    assert set(wrong.value.allowed) == {"GET", "DELETE"}
    with pytest.raises(NoRoute) as missing:
        table.find("GET", "/v2/probes")
    assert missing.value.allowed == ()


async def test_a_binding_twice_is_refused(route_for):
    with pytest.raises(ValueError, match="bound twice"):
        RouteTable([route_for(http_pb2.HttpRule(get="/v1/probes")), route_for(http_pb2.HttpRule(get="/v1/probes"))])


def test_openapi_paths_name_each_wildcard():
    assert openapi_path(PathTemplate.parse("/v1/{name=bulkJobs/*}:start"))[0] == "/v1/bulkJobs/{bulkJobId}:start"
    path, parameters = openapi_path(PathTemplate.parse("/v1/{name=publishers/*/books/*}"))
    assert path == "/v1/publishers/{publisherId}/books/{bookId}"
    assert [p["name"] for p in parameters] == ["publisherId", "bookId"]
    assert parameters[0]["description"] == "`name` is `publishers/{publisherId}/books/{bookId}`"
    assert openapi_path(PathTemplate.parse("/v1/{service}:watch"))[0] == "/v1/{service}:watch"
    assert openapi_path(PathTemplate.parse("/v1/categories/{name=categories/*}"))[0] == (
        "/v1/categories/categories/{categoryId}"
    )
