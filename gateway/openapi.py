"""OpenAPI 3.0 of the transcoded API, derived from the same routes and message descriptors the gateway serves:
paths (each template variable's `*` becomes a path parameter), query parameters (the request fields the path
and the body leave free), request bodies and responses as proto3 JSON schemas, the google.rpc.Status error
and bearer security. What /openapi.json serves, and what schemathesis tests against."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import status_pb2

from gateway.routes import Route
from gateway.templates import PathTemplate, Variable
from gateway.transcoding import is_leaf_message, query_settable

REF = "#/components/schemas/"
_INTS = {
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295},
    # proto3 JSON writes 64-bit integers as decimal strings
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string", "description": "comma-separated lowerCamel field paths"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"nullable": True},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
    "google.protobuf.DoubleValue": {"type": "number", "nullable": True},
    "google.protobuf.FloatValue": {"type": "number", "nullable": True},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64", "nullable": True},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64", "nullable": True},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32", "nullable": True},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int64", "minimum": 0, "nullable": True},
    "google.protobuf.BoolValue": {"type": "boolean", "nullable": True},
    "google.protobuf.StringValue": {"type": "string", "nullable": True},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte", "nullable": True},
}
MAX_QUERY_DEPTH = 3


class _Schemas:
    """Component schemas, one per message reached, built on first reference (so recursion ends)."""

    def __init__(self):
        self.components: dict[str, Any] = {}

    def message(self, descriptor: Descriptor) -> dict:
        if descriptor.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[descriptor.full_name])
        name = descriptor.full_name
        if name not in self.components:
            self.components[name] = {}  # placeholder while its fields refer back to it
            properties = {field.json_name: self.field(field) for field in descriptor.fields}
            self.components[name] = {"type": "object", "properties": properties, "additionalProperties": False}
        return {"$ref": REF + name}

    def field(self, field: FieldDescriptor) -> dict:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            schema = {
                "type": "object",
                "additionalProperties": self.element(field.message_type.fields_by_name["value"]),
            }
        elif field.is_repeated:
            schema = {"type": "array", "items": self.element(field)}
        else:
            schema = self.element(field)
        behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
        if field_behavior_pb2.OUTPUT_ONLY in behaviors:
            schema = {"allOf": [schema], "readOnly": True} if "$ref" in schema else {**schema, "readOnly": True}
        return schema

    def element(self, field: FieldDescriptor) -> dict:
        if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
            return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
        if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
            return self.message(field.message_type)
        return dict(_INTS[field.type])


def _singular(collection: str) -> str:
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    return collection[:-1] if collection.endswith("s") else collection


def openapi_path(template: PathTemplate) -> tuple[str, list[dict]]:
    """`/v1/{name=contacts/*}:start` -> `/v1/contacts/{contactId}:start` and its path parameters."""
    parts: list[str] = []
    parameters: list[dict] = []
    used: set[str] = set()

    def name_for(previous: str, variable: Variable | None) -> str:
        base = f"{_singular(previous)}Id" if previous else (variable.field_path.split(".")[-1] if variable else "part")
        name, n = base, 2
        while name in used:
            name, n = f"{base}{n}", n + 1
        used.add(name)
        return name

    def parameter(name: str, description: str, star: str) -> dict:
        if star == "**":
            description += " (may span several segments)"
        return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}

    previous = ""
    for segment in template.segments:
        if isinstance(segment, Variable):
            shape: list[str] = []
            wildcards: list[tuple[str, str]] = []
            previous = ""  # `{service}` is named for its field; `{name=books/*}` for its collection
            for inner in segment.segments:
                if inner in ("*", "**"):
                    name = name_for(previous, segment)
                    wildcards.append((name, inner))
                    shape.append("{" + name + "}")
                else:
                    shape.append(inner)
                previous = inner
            parts.extend(shape)
            described = f"`{segment.field_path}` is `{'/'.join(shape)}`"
            parameters.extend(parameter(name, described, star) for name, star in wildcards)
        elif segment in ("*", "**"):
            name = name_for(previous, None)
            parts.append("{" + name + "}")
            parameters.append(parameter(name, "A path segment", segment))
            previous = segment
        else:
            parts.append(segment)
            previous = segment
    return "/" + "/".join(parts) + (":" + template.verb if template.verb else ""), parameters


def _query_parameters(route: Route, schemas: _Schemas) -> list[dict]:
    if route.body == "*":
        return []
    bound = {v.field_path for v in route.template.variables}
    out: list[dict] = []

    def walk(descriptor: Descriptor, proto_prefix: str, json_prefix: str, depth: int) -> None:
        for field in descriptor.fields:
            proto_path = proto_prefix + field.name
            if proto_path in bound or (not proto_prefix and field.name == route.body):
                continue
            if any(b.startswith(proto_path + ".") for b in bound):
                continue  # part of it comes from the path: its other fields are not worth a parameter each
            json_path = json_prefix + field.json_name
            nested = field.message_type
            if nested is not None and not field.is_repeated and not is_leaf_message(nested):
                if depth < MAX_QUERY_DEPTH:
                    walk(nested, proto_path + ".", json_path + ".", depth + 1)
                continue
            if not query_settable(field):
                continue
            parameter: dict[str, Any] = {"name": json_path, "in": "query", "schema": schemas.field(field)}
            if field.is_repeated:
                parameter.update(style="form", explode=True)
            out.append(parameter)

    walk(route.rpc.input_type, "", "", 0)
    return out


def document(routes: Iterable[Route], *, title: str = "WECARE API", version: str = "v1") -> dict:
    schemas = _Schemas()
    status_ref = schemas.message(status_pb2.Status.DESCRIPTOR)
    paths: dict[str, dict] = {}
    operation_ids: set[str] = set()
    for route in sorted(routes, key=lambda r: (r.template.text, r.http_method)):
        path, parameters = openapi_path(route.template)
        service = route.rpc.containing_service
        operation_id, n = f"{service.name}_{route.rpc.name}", 2
        while operation_id in operation_ids:
            operation_id, n = f"{service.name}_{route.rpc.name}_{n}", n + 1
        operation_ids.add(operation_id)
        response_schema = (
            schemas.field(route.rpc.output_type.fields_by_name[route.response_body])
            if route.response_body
            else schemas.message(route.rpc.output_type)
        )
        if route.http_body:
            ok = {
                "description": "The body as the service gives it, with its Content-Type"
                + (" (streamed: an incomplete body means the export failed part way)" if route.streaming else ""),
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        elif route.streaming:
            ok = {
                "description": f"Server-Sent Events: each `data:` is one {route.rpc.output_type.full_name} as JSON; "
                "a failure mid-stream is an `event: error` whose data is a google.rpc.Status",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        else:
            ok = {"description": "OK", "content": {"application/json": {"schema": response_schema}}}
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "tags": [service.name],
            "summary": f"{service.full_name}.{route.rpc.name}",
            "parameters": parameters + _query_parameters(route, schemas),
            "responses": {"200": ok, "default": {"$ref": "#/components/responses/Error"}},
        }
        if route.body:
            body_schema = (
                schemas.message(route.rpc.input_type)
                if route.body == "*"
                else schemas.field(route.rpc.input_type.fields_by_name[route.body])
            )
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body_schema}}}
        if route.streaming:
            operation["security"] = [{"bearer": []}, {"accessToken": []}]
        paths.setdefault(path, {})[route.http_method.lower()] = operation
    _gateway_paths(paths)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": version,
            "description": "Transcoded from the gRPC services' google.api.http annotations; proto3 JSON names.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "responses": {
                "Error": {
                    "description": "A google.rpc.Status; the HTTP status follows google/rpc/code.proto",
                    "content": {"application/json": {"schema": status_ref}},
                }
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "accessToken": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "access_token",
                    "description": "Streamed routes only (events, downloads): EventSources and links send no headers",
                },
            },
        },
        "security": [{"bearer": []}],
    }


def _gateway_paths(paths: dict[str, dict]) -> None:
    backends = {"type": "object", "additionalProperties": {"type": "string"}}
    readiness = {
        "type": "object",
        "properties": {"ready": {"type": "boolean"}, "backends": backends},
        "required": ["ready", "backends"],
    }

    def probe(description: str, responses: dict) -> dict:
        return {"get": {"operationId": description.split()[0], "security": [], "responses": responses}}

    paths["/healthz"] = probe(
        "healthz: the gateway process is alive",
        {"200": {"description": "alive", "content": {"application/json": {"schema": {"type": "object"}}}}},
    )
    paths["/readyz"] = probe(
        "readyz: every backend answers its health check SERVING",
        {
            "200": {"description": "ready", "content": {"application/json": {"schema": readiness}}},
            "503": {"description": "not ready", "content": {"application/json": {"schema": readiness}}},
        },
    )
