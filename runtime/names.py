"""Resource names (`contacts/{id}`) and proto time helpers shared by every servicer."""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from runtime import ids
from runtime.errors import InvalidArgument


def parse_name(name: str, collection: str, field: str = "name") -> str:
    """The id in `<collection>/<id>`, or INVALID_ARGUMENT naming the field."""
    if not name:
        raise InvalidArgument(field, f"required: `{collection}/{{id}}`")
    head, sep, resource_id = name.partition("/")
    if head != collection or not sep or not ids.is_id(resource_id):
        raise InvalidArgument(field, f"{name!r} is not a {collection} name (`{collection}/{{id}}`)")
    return resource_id


def timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(round(seconds * 1e9))
    return ts


def seconds(ts: timestamp_pb2.Timestamp) -> float:
    return ts.seconds + ts.nanos / 1e9
