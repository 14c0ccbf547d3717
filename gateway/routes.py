"""The HTTP routes, read from the `google.api.http` option of every RPC of the backends (and its
additional_bindings), and the table that finds the route of a request (404 when no template matches the path,
405 when templates match it but none for this method)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor

from gateway.backends import Backend
from gateway.templates import PathTemplate
from runtime.auth import access_table
from runtime.settings import Settings
from wecare.auth.v1 import access_pb2

_METHODS = ("get", "put", "post", "delete", "patch")
HTTP_BODY = "google.api.HttpBody"


@dataclass(frozen=True, eq=False)
class Route:
    """One HTTP binding of one RPC."""

    http_method: str  # GET, POST, ...
    template: PathTemplate
    body: str  # "" (no body), "*" (the whole request), or the top-level request field the body fills
    response_body: str  # "" (the whole response) or the response field sent back
    rpc: MethodDescriptor
    access: access_pb2.Access | None
    address: str  # the backend process
    call: Any = field(repr=False)  # the channel's multicallable for the RPC

    @property
    def rpc_path(self) -> str:
        return f"/{self.rpc.containing_service.full_name}/{self.rpc.name}"

    @property
    def streaming(self) -> bool:
        """Server streaming: answered as Server-Sent Events (or, for HttpBody, as one streamed body)."""
        return self.rpc.server_streaming

    @property
    def http_body(self) -> bool:
        """The RPC answers google.api.HttpBody: its bytes are the HTTP response, as its content_type says."""
        return self.rpc.output_type.full_name == HTTP_BODY

    @property
    def request_class(self) -> type:
        return message_factory.GetMessageClass(self.rpc.input_type)

    @property
    def response_class(self) -> type:
        return message_factory.GetMessageClass(self.rpc.output_type)

    @classmethod
    def build(
        cls, rpc: MethodDescriptor, rule: http_pb2.HttpRule, access: access_pb2.Access | None, channel, address: str
    ) -> Route:
        """The route of one HttpRule (not its additional_bindings). Refuses rules that cannot be transcoded."""
        kind = rule.WhichOneof("pattern")
        if kind is None:
            raise ValueError(f"{rpc.full_name}: google.api.http without a method and path")
        if kind == "custom":
            method, path = rule.custom.kind.upper(), rule.custom.path
        else:
            method, path = kind.upper(), getattr(rule, kind)
        if rpc.client_streaming:
            raise ValueError(f"{rpc.full_name}: client-streaming RPCs cannot be transcoded from HTTP")
        template = PathTemplate.parse(path)
        for variable in template.variables:
            leaf = resolve(rpc.input_type, variable.field_path.split("."), json_names=False)[-1]
            if leaf.is_repeated or leaf.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
                raise ValueError(f"{rpc.full_name}: path variable {variable.field_path} must be a singular scalar")
        if rule.body not in ("", "*") and rule.body not in rpc.input_type.fields_by_name:
            raise ValueError(f"{rpc.full_name}: body {rule.body!r} is not a top-level request field")
        if rule.response_body and rpc.output_type.full_name == HTTP_BODY:
            raise ValueError(f"{rpc.full_name}: an HttpBody response is sent whole; drop response_body")
        if rule.response_body and rule.response_body not in rpc.output_type.fields_by_name:
            raise ValueError(f"{rpc.full_name}: response_body {rule.response_body!r} is not a response field")
        serialize = message_factory.GetMessageClass(rpc.input_type).SerializeToString
        parse = message_factory.GetMessageClass(rpc.output_type).FromString
        rpc_path = f"/{rpc.containing_service.full_name}/{rpc.name}"
        stream_kind = channel.unary_stream if rpc.server_streaming else channel.unary_unary
        call = stream_kind(rpc_path, request_serializer=serialize, response_deserializer=parse)
        return cls(method, template, rule.body, rule.response_body, rpc, access, address, call)


def http_rules(rpc: MethodDescriptor) -> list[http_pb2.HttpRule]:
    """The RPC's google.api.http rule and its additional bindings; empty when it has none."""
    options = rpc.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule = options.Extensions[annotations_pb2.http]
    return [rule, *rule.additional_bindings]


def routes_of(backends: Iterable[Backend], settings: Settings, channel_for: Callable[[str], Any]) -> list[Route]:
    """Every route of every annotated RPC of the backends."""
    routes = []
    pool = descriptor_pool.Default()
    for backend in backends:
        service = pool.FindServiceByName(backend.service)
        table = access_table([backend.service])
        address = backend.address(settings)
        for rpc in service.methods:
            for rule in http_rules(rpc):
                access = table.get(f"/{backend.service}/{rpc.name}")
                routes.append(Route.build(rpc, rule, access, channel_for(address), address))
    return routes


def resolve(message_type, names: list[str], *, json_names: bool = True) -> list[FieldDescriptor]:
    """The fields along a dotted path (proto names, and lowerCamel JSON names when json_names); KeyError naming
    the first part that is not a field, or that is reached through something other than a singular message."""
    fields: list[FieldDescriptor] = []
    current = message_type
    for i, name in enumerate(names):
        if current is None:
            raise KeyError(".".join(names[: i + 1]))
        found = current.fields_by_name.get(name)
        if found is None and json_names:
            found = next((f for f in current.fields if f.json_name == name), None)
        if found is None:
            raise KeyError(".".join(names[: i + 1]))
        fields.append(found)
        singular_message = found.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE and not found.is_repeated
        current = found.message_type if singular_message else None
    return fields


class NoRoute(Exception):
    """No template matches the path (404), or `allowed` lists the methods that do (405)."""

    def __init__(self, allowed: tuple[str, ...] = ()):
        super().__init__(", ".join(allowed))
        self.allowed = allowed


class RouteTable:
    def __init__(self, routes: Iterable[Route]):
        self.routes: tuple[Route, ...] = tuple(sorted(routes, key=lambda r: r.template.specificity))
        seen: dict[tuple[str, str], Route] = {}
        for route in self.routes:
            key = (route.http_method, route.template.pattern.pattern)
            if key in seen:
                raise ValueError(f"{route.http_method} {route.template.text} is bound twice")
            seen[key] = route

    def find(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route, values in self._matching(raw_path):
            if route.http_method == method:
                return route, values
            allowed.append(route.http_method)
        raise NoRoute(tuple(dict.fromkeys(allowed)))

    def allowed_methods(self, raw_path: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(route.http_method for route, _ in self._matching(raw_path)))

    def _matching(self, raw_path: str):
        verb = None
        for route in self.routes:
            # `/v1/bulkJobs/1:start` names the verb: a plain `{name=bulkJobs/*}` must not take it as an id.
            if verb is not None and route.template.verb != verb:
                continue
            values = route.template.match(raw_path)
            if values is not None:
                if route.template.verb:
                    verb = route.template.verb
                yield route, values
