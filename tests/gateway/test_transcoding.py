"""The transcoding rules on a probe service whose request has a field of every kind the rules treat differently
(bool, repeated, enum, int64, uint32, double, Timestamp, FieldMask, wrapper, nested and recursive messages,
maps, repeated messages). The contacts protos have only some of them; the rules are the same code for all."""

from __future__ import annotations

import pytest
from google.api import http_pb2
from google.protobuf import descriptor_pool, message_factory
from openapi_spec_validator import validate

from gateway.openapi import document
from gateway.transcoding import build_request, response_json
from runtime.errors import InvalidArgument


def Probe():
    return message_factory.GetMessageClass(
        descriptor_pool.Default().FindMessageTypeByName("wecare.gatewaytest.v1.Probe")
    )


def refused(route, path_values=None, query=(), body=b"") -> tuple[list[str], str]:
    with pytest.raises(InvalidArgument) as caught:
        build_request(route, path_values or {}, list(query), body)
    return [v.field for v in caught.value.violations], caught.value.message


async def test_query_parameters_convert_by_field_type(route_for):
    route = route_for(http_pb2.HttpRule(get="/v1/probes"))
    query = [
        ("flag", "true"),
        ("tags", "a"),
        ("tags", "b"),
        ("numbers", "1"),
        ("numbers", "2"),
        ("kind", "KIND_BLUE"),
        ("big", "9007199254740993"),
        ("at", "2024-01-31T09:30:00.5Z"),
        ("mask", "displayName,inner.label"),
        ("inner.label", "x"),
        ("inner.child.count", "3"),
        ("ratio", "0.5"),
        ("maybe", "false"),
        ("small", "7"),
        ("display_name", "snake"),
    ]
    message = build_request(route, {}, query, b"")
    assert message.flag is True
    assert list(message.tags) == ["a", "b"] and list(message.numbers) == [1, 2]
    assert message.kind == 2
    assert message.big == 9007199254740993
    assert message.at.seconds == 1706693400 and message.at.nanos == 500_000_000
    assert list(message.mask.paths) == ["display_name", "inner.label"]
    assert message.inner.label == "x" and message.inner.child.count == 3
    assert message.ratio == 0.5
    assert message.HasField("maybe") and message.maybe.value is False
    assert message.small == 7 and message.display_name == "snake"
    # lowerCamel works as well as snake, enums by number too, and 1/0 for bools
    again = build_request(route, {}, [("displayName", "camel"), ("kind", "1"), ("flag", "0")], b"")
    assert again.display_name == "camel" and again.kind == 1 and again.flag is False


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ([("flag", "maybe")], "flag"),
        ([("numbers", "1"), ("numbers", "two")], "numbers"),
        ([("kind", "KIND_GREEN")], "kind"),
        ([("big", "1.5")], "big"),
        ([("small", "-1")], "small"),
        ([("at", "yesterday")], "at"),
        ([("maybe", "perhaps")], "maybe"),
        ([("attrs", "x")], "attrs"),
        ([("items.label", "x")], "items.label"),
        ([("inner", "x")], "inner"),
        ([("flag", "true"), ("flag", "false")], "flag"),
        ([("displayName", "a"), ("display_name", "b")], "display_name"),
        ([("nope", "1")], "nope"),
    ],
)
async def test_bad_query_values_name_the_field(route_for, query, field):
    fields, message = refused(route_for(http_pb2.HttpRule(get="/v1/probes")), query=query)
    assert fields == [field]
    assert field in message


async def test_every_bad_parameter_is_named_at_once(route_for):
    fields, _ = refused(route_for(http_pb2.HttpRule(get="/v1/probes")), query=[("flag", "x"), ("ratio", "y")])
    assert fields == ["flag", "ratio"]


async def test_path_variables_bind_nested_fields_and_multi_segment_paths(route_for):
    route = route_for(http_pb2.HttpRule(get="/v1/{inner.label=labels/**}:echo"))
    values = route.template.match("/v1/labels/a/b%2Fc%20d:echo")
    assert values == {"inner.label": "labels/a/b%2Fc d"}
    message = build_request(route, values, [], b"")
    assert message.inner.label == "labels/a/b%2Fc d"
    fields, _ = refused(route, values, query=[("inner.label", "other")])
    assert fields == ["inner.label"]  # set by the path: not also by the query


async def test_body_star_is_the_whole_request_and_the_path_wins(route_for):
    route = route_for(http_pb2.HttpRule(post="/v1/{name=probes/*}:echo", body="*"))
    body = b'{"name": "probes/from-body", "tags": ["a"], "inner": {"count": 2}}'
    message = build_request(route, {"name": "probes/1"}, [], body)
    assert message.name == "probes/1" and list(message.tags) == ["a"] and message.inner.count == 2
    fields, _ = refused(route, {"name": "probes/1"}, query=[("flag", "true")], body=b"{}")
    assert fields == ["flag"]
    fields, _ = refused(route, {"name": "probes/1"}, body=b"[1]")
    assert fields == ["body"]


async def test_body_field_takes_that_field_and_the_rest_from_the_query(route_for):
    route = route_for(http_pb2.HttpRule(post="/v1/probes", body="inner"))
    message = build_request(route, {}, [("flag", "true")], b'{"label": "l", "child": {"count": 4}}')
    assert message.inner.label == "l" and message.inner.child.count == 4 and message.flag
    fields, _ = refused(route, query=[("inner.label", "q")], body=b"{}")
    assert fields == ["inner.label"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"inner": {"child": {"nope": 1}}}', "inner.child.nope"),
        (b'{"items": [{"label": "a"}, {"count": "x"}]}', "items[1].count"),
        (b'{"attrs": {"k": 5}}', "attrs['k']"),
        (b'{"numbers": [1, "two"]}', "numbers[1]"),
        (b'{"at": "noon"}', "at"),
        (b'{"mask": 3}', "mask"),
        (b'{"maybe": "yes"}', "maybe"),
        (b'{"inner": 7}', "inner"),
        (b'{"big": "1e400"}', "big"),
        (b"\xff\xfe", "body"),
    ],
)
async def test_bad_bodies_name_the_innermost_field(route_for, body, field):
    fields, message = refused(route_for(http_pb2.HttpRule(post="/v1/probes", body="*")), body=body)
    assert fields == [field]
    assert field in message


async def test_responses_are_proto3_json(route_for):
    route = route_for(http_pb2.HttpRule(get="/v1/probes"))
    message = Probe()(display_name="x", big=5, kind=1, tags=["a"])
    message.at.FromSeconds(1706693400)
    assert response_json(route, message) == {
        "displayName": "x",
        "big": "5",
        "kind": "KIND_RED",
        "tags": ["a"],
        "at": "2024-01-31T09:30:00Z",
    }
    only_tags = route_for(http_pb2.HttpRule(get="/v1/probes:tags", response_body="tags"))
    assert response_json(only_tags, message) == ["a"]


async def test_rules_that_cannot_be_transcoded_are_refused_at_start(route_for):
    with pytest.raises(ValueError, match="singular scalar"):
        route_for(http_pb2.HttpRule(get="/v1/{tags=probes/*}"))
    with pytest.raises(ValueError, match="top-level"):
        route_for(http_pb2.HttpRule(post="/v1/probes", body="inner.label"))
    with pytest.raises(KeyError):
        route_for(http_pb2.HttpRule(get="/v1/{missing=probes/*}"))


async def test_openapi_of_every_field_kind_validates(route_for):
    routes = [
        route_for(http_pb2.HttpRule(get="/v1/{name=probes/*}")),
        route_for(http_pb2.HttpRule(post="/v1/{name=probes/*}:echo", body="*")),
        route_for(http_pb2.HttpRule(get="/v1/{name=probes/*}:watch"), "Watch"),
        route_for(http_pb2.HttpRule(custom=http_pb2.CustomHttpPattern(kind="HEAD", path="/v1/probes"))),
    ]
    spec = document(routes)
    validate(spec)
    get = spec["paths"]["/v1/probes/{probeId}"]["get"]
    query = {p["name"]: p for p in get["parameters"] if p["in"] == "query"}
    assert "inner.label" in query and "inner.child.count" in query
    assert query["tags"]["schema"] == {"type": "array", "items": {"type": "string"}} and query["tags"]["explode"]
    assert query["big"]["schema"]["type"] == "string"  # int64 is a string in proto3 JSON
    assert "attrs" not in query and "items" not in query  # maps and repeated messages have no query form
    assert "name" not in query  # bound by the path
    echo = spec["paths"]["/v1/probes/{probeId}:echo"]["post"]
    assert [p["name"] for p in echo["parameters"]] == ["probeId"]
    assert echo["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/wecare.gatewaytest.v1.Probe"
    }
    watch = spec["paths"]["/v1/probes/{probeId}:watch"]["get"]
    assert "text/event-stream" in watch["responses"]["200"]["content"]
    assert {"accessToken": []} in watch["security"]
    assert "head" in spec["paths"]["/v1/probes"]
    inner = spec["components"]["schemas"]["wecare.gatewaytest.v1.Inner"]["properties"]
    assert inner["child"] == {"$ref": "#/components/schemas/wecare.gatewaytest.v1.Inner"}  # recursion by reference
