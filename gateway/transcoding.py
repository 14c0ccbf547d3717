"""JSON and query strings to request messages, response messages to JSON: proto3 JSON through
google.protobuf.json_format, unknown fields refused, every refusal an INVALID_ARGUMENT naming the field (proto
field path, e.g. `contact.display_name`) in its message and in a google.rpc.BadRequest field violation."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway.routes import Route, resolve
from runtime.errors import FieldViolation, InvalidArgument

BOOLS = {"true": True, "1": True, "false": False, "0": False}
_BOOL_MESSAGE = "google.protobuf.BoolValue"
# Well-known types that are one JSON string or scalar: leaves in a query string, never descended into.
SCALAR_MESSAGES = {
    "google.protobuf.Timestamp": 'an RFC 3339 timestamp such as "2024-01-31T09:30:00Z"',
    "google.protobuf.Duration": 'a duration in seconds such as "1.5s"',
    "google.protobuf.FieldMask": 'comma-separated lowerCamel field paths such as "displayName,email"',
    "google.protobuf.DoubleValue": "a number",
    "google.protobuf.FloatValue": "a number",
    "google.protobuf.Int64Value": "an integer",
    "google.protobuf.UInt64Value": "a non-negative integer",
    "google.protobuf.Int32Value": "an integer",
    "google.protobuf.UInt32Value": "a non-negative integer",
    "google.protobuf.BoolValue": "true or false",
    "google.protobuf.StringValue": "a string",
    "google.protobuf.BytesValue": "base64 bytes",
}
# Well-known types whose JSON is free-form: a parse failure is theirs, not a field's below them.
OPAQUE_MESSAGES = {
    "google.protobuf.Struct": "a JSON object",
    "google.protobuf.Value": "any JSON value",
    "google.protobuf.ListValue": "a JSON array",
    "google.protobuf.Any": 'an object with "@type"',
    "google.protobuf.Empty": "an empty object",
}
_SCALARS = {
    FieldDescriptor.CPPTYPE_INT32: "an integer",
    FieldDescriptor.CPPTYPE_INT64: "an integer",
    FieldDescriptor.CPPTYPE_UINT32: "a non-negative integer",
    FieldDescriptor.CPPTYPE_UINT64: "a non-negative integer",
    FieldDescriptor.CPPTYPE_DOUBLE: "a number",
    FieldDescriptor.CPPTYPE_FLOAT: "a number",
    FieldDescriptor.CPPTYPE_BOOL: "true or false",
}


def expected(field: FieldDescriptor, element: bool = False) -> str:
    """What a field takes, in words, for error messages."""
    if field.is_repeated and not element:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            return f"a JSON object whose values are each {expected(field.message_type.fields_by_name['value'])}"
        return f"a JSON array whose items are each {expected(field, element=True)}"
    if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        return "one of " + ", ".join(v.name for v in field.enum_type.values)
    if field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        return "base64 bytes" if field.type == FieldDescriptor.TYPE_BYTES else "a string"
    if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        name = field.message_type.full_name
        return SCALAR_MESSAGES.get(name) or OPAQUE_MESSAGES.get(name) or "a JSON object"
    return _SCALARS[field.cpp_type]


def is_leaf_message(message_type: Descriptor) -> bool:
    return message_type.full_name in SCALAR_MESSAGES or message_type.full_name in OPAQUE_MESSAGES


def query_settable(field: FieldDescriptor) -> bool:
    """Whether a query parameter may set this field: scalars, enums, their repeated forms, and the well-known
    types written as one string (Timestamp, Duration, FieldMask, wrappers)."""
    if field.cpp_type != FieldDescriptor.CPPTYPE_MESSAGE:
        return True
    return not field.is_repeated and field.message_type.full_name in SCALAR_MESSAGES


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields(message_type: Descriptor, key: str) -> FieldDescriptor | None:
    found = message_type.fields_by_name.get(key)
    return found or next((f for f in message_type.fields if f.json_name == key), None)


def locate(value: Any, message_class: type, path: str = "") -> FieldViolation:
    """The field that makes `value` (JSON for message_class) unparseable, found by parsing one key at a time
    and descending into the first key that fails; json_format stays the judge of what is valid."""
    descriptor = message_class.DESCRIPTOR
    if not isinstance(value, dict):
        return FieldViolation(path or "body", f"expected a JSON object, got {_show(value)}")
    for key, item in value.items():
        field = _fields(descriptor, key)
        if field is None:
            return FieldViolation(_join(path, key), f"unknown field {key!r} of {descriptor.full_name}")
        where = _join(path, field.name)
        try:
            json_format.ParseDict({key: item}, message_class())
            continue
        except json_format.ParseError as exc:
            failure = exc
        nested = field.message_type if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE else None
        if field.is_repeated and nested is not None and nested.GetOptions().map_entry:
            if isinstance(item, dict):
                value_field = nested.fields_by_name["value"]
                for map_key, map_value in item.items():
                    try:
                        json_format.ParseDict({key: {map_key: map_value}}, message_class())
                    except json_format.ParseError:
                        return _element(value_field, map_value, f"{where}[{map_key!r}]")
        elif field.is_repeated:
            if isinstance(item, list):
                for index, element in enumerate(item):
                    try:
                        json_format.ParseDict({key: [element]}, message_class())
                    except json_format.ParseError:
                        return _element(field, element, f"{where}[{index}]")
        elif nested is not None and not is_leaf_message(nested) and isinstance(item, dict):
            return locate(item, _message_class(nested), where)
        else:
            return FieldViolation(where, f"expected {expected(field)}, got {_show(item)}")
        if isinstance(item, (dict, list)) and field.is_repeated:  # every item alone is fine: say what json_format said
            return FieldViolation(where, f"expected {expected(field)} ({failure})")
        return FieldViolation(where, f"expected {expected(field)}, got {_show(item)}")
    return FieldViolation(path or "body", "not a valid request")


def _element(field: FieldDescriptor, element: Any, where: str) -> FieldViolation:
    nested = field.message_type
    if nested is not None and not is_leaf_message(nested) and isinstance(element, dict):
        return locate(element, _message_class(nested), where)
    return FieldViolation(where, f"expected {expected(field, element=True)}, got {_show(element)}")


def _message_class(descriptor: Descriptor) -> type:
    return message_factory.GetMessageClass(descriptor)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def parse_body(route: Route, body: bytes, request: Message) -> None:
    """Fills `request` from the JSON body as the route's `body` rule says: the whole request (`*`) or one field."""
    target = route.body if route.body != "*" else ""
    where = target or "body"
    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates) if body.strip() else {}
    except _DuplicateKey as exc:
        raise InvalidArgument(_join(target, exc.key), f"{exc.key!r} appears twice in the JSON body") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(where, f"the body is not valid JSON: {exc}") from None
    if target:
        field = request.DESCRIPTOR.fields_by_name[target]
        document = {field.json_name: document}
    elif not isinstance(document, dict):
        raise InvalidArgument("body", f"expected a JSON object, got {_show(document)}")
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=False)
    except json_format.ParseError:
        raise InvalidArgument([locate(document, type(request))]) from None


def bind_path(route: Route, values: dict[str, str], request: Message) -> None:
    """Sets the fields named by the template's variables; they win over the same fields in the body."""
    for field_path, text in values.items():
        fields = resolve(request.DESCRIPTOR, field_path.split("."), json_names=False)
        _set(request, fields, [text], field_path)


def bind_query(route: Route, query: Iterable[tuple[str, str]], request: Message, path_fields: Iterable[str]) -> None:
    """Sets request fields from query parameters: lowerCamel or snake names, dots for nested fields, repeated
    parameters for repeated fields; only fields the path and the body leave free."""
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(name, []).append(value)
    bound = set(path_fields)
    seen: dict[str, str] = {}
    violations: list[FieldViolation] = []
    for name, texts in grouped.items():
        try:
            fields = resolve(request.DESCRIPTOR, name.split("."))
        except KeyError:
            violations.append(FieldViolation(name, f"unknown query parameter {name!r}"))
            continue
        proto_path = ".".join(f.name for f in fields)
        leaf = fields[-1]
        if route.body == "*":
            violations.append(FieldViolation(proto_path, "this route takes its fields in the JSON body"))
        elif route.body and fields[0].name == route.body:
            violations.append(FieldViolation(proto_path, f"carried in the JSON body ({route.body})"))
        elif any(proto_path == b or proto_path.startswith(b + ".") or b.startswith(proto_path + ".") for b in bound):
            violations.append(FieldViolation(proto_path, "set by the URL path"))
        elif not query_settable(leaf):
            violations.append(FieldViolation(proto_path, "cannot be set from the query string"))
        elif proto_path in seen:
            violations.append(FieldViolation(proto_path, f"given twice (as {seen[proto_path]!r} and {name!r})"))
        elif len(texts) > 1 and not leaf.is_repeated:
            violations.append(FieldViolation(proto_path, f"given {len(texts)} times; it takes one value"))
        else:
            seen[proto_path] = name
            try:
                _set(request, fields, texts, proto_path)
            except InvalidArgument as exc:
                violations.extend(exc.violations)
    if violations:
        raise InvalidArgument(violations)


def _set(request: Message, fields: list[FieldDescriptor], texts: list[str], proto_path: str) -> None:
    leaf = fields[-1]
    values: list[Any] = []
    for text in texts:
        value: Any = text
        is_bool = leaf.cpp_type == FieldDescriptor.CPPTYPE_BOOL or (
            leaf.message_type is not None and leaf.message_type.full_name == _BOOL_MESSAGE
        )
        if is_bool:
            value = BOOLS.get(text.lower())
            if value is None:
                raise InvalidArgument(proto_path, f"expected true or false, got {_show(text)}")
        values.append(value)
    document: Any = values if leaf.is_repeated else values[0]
    for field in reversed(fields):
        document = {field.json_name: document}
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=False)
    except json_format.ParseError:
        shown = texts if leaf.is_repeated else texts[0]
        raise InvalidArgument(proto_path, f"expected {expected(leaf)}, got {_show(shown)}") from None


def build_request(route: Route, path_values: dict[str, str], query: Iterable[tuple[str, str]], body: bytes):
    """The request message of an HTTP request, or InvalidArgument naming each offending field."""
    request = route.request_class()
    if route.body:
        parse_body(route, body, request)
    bind_path(route, path_values, request)
    bind_query(route, query, request, path_values.keys())
    return request


def response_json(route: Route, message: Message) -> Any:
    """Proto3 JSON (lowerCamelCase names) of the response, or of its response_body field."""
    if route.response_body:
        field = message.DESCRIPTOR.fields_by_name[route.response_body]
        whole = json_format.MessageToDict(message)
        return whole.get(field.json_name, [] if field.is_repeated else None)
    return json_format.MessageToDict(message)
