"""The DynamoDB capacity log: when WECARE_DYNAMODB_CAPACITY_LOG names a file, every DynamoDB request a process
makes is written there as one JSON line, for the capacity model (bench/dynamodb_model.py) to turn into units per
partition key. Opt-in, off by default: runtime/aws.py registers these hooks only when the setting is set.

A line says which operation, for which caller (the current span's name), whether it failed and why (a refused
condition, a cancelled transaction and its reasons), how many SDK retries it took and how large its request body
was; then, for each item it writes, the item's attributes as (size, display) pairs, or the key and what the
update expression does to each attribute (with the sizes of its values); and for each read, the keys or the
queried partition and the sizes of the items it returned. Sizes follow DynamoDB's rules (runtime/dynamo_capacity).

No value is written: key-like values (short scalars) appear as a *display* that keeps a key's leading word and
small shard numbers and replaces every other `#`-separated part by a hash (`msg#~3f2a9c01d4`), enough to group
keys into patterns and to see one key hot, never a phone number or a message."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace

from runtime.dynamo_capacity import attribute_size, item_size

log = logging.getLogger("wecare.capacity_log")

_CTX = "wecare.capacity"  # where a call's parameters wait in botocore's per-call context
_LEADING_WORD = re.compile(r"^[a-z_]{1,16}$")
_SHARD = re.compile(r"^\d{1,3}$")
_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_EQUALS = re.compile(r"([#\w.]+)\s*=\s*(:\w+)")
_PLACEHOLDER = re.compile(r":\w+")
MAX_KEY_BYTES = 2048  # a partition key's limit: longer values are never keys, and get no display


def _hash(data: bytes) -> str:
    return "~" + hashlib.blake2b(data, digest_size=5).hexdigest()


def display(text: str) -> str:
    """A key's display: the leading word and shard numbers as they are, every other part hashed."""
    parts = text.split("#")
    out = [parts[0] if _LEADING_WORD.match(parts[0]) else _hash(parts[0].encode())]
    out += [p if _SHARD.match(p) else _hash(p.encode()) for p in parts[1:]]
    return "#".join(out)


def value_display(value: Mapping[str, Any]) -> str | None:
    if "S" in value and len(value["S"]) <= MAX_KEY_BYTES:
        return display(value["S"])
    if "N" in value:
        return _hash(value["N"].encode())
    if "B" in value and len(value["B"]) <= MAX_KEY_BYTES:
        body = value["B"]
        return _hash(body if isinstance(body, bytes) else str(body).encode())
    return None


def summary(item: Mapping[str, Mapping[str, Any]]) -> dict[str, list]:
    """Each attribute as [its size with its name, its display or None]."""
    return {k: [attribute_size(k, v), value_display(v)] for k, v in item.items()}


def _top(path: str, names: Mapping[str, str]) -> tuple[str, bool]:
    """The top-level attribute a document path starts with, and whether the path goes deeper."""
    head = re.split(r"[.\[]", path.strip(), maxsplit=1)[0]
    return names.get(head, head), head != path.strip()


def _split_top(body: str) -> list[str]:
    """Splits on commas outside parentheses."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            out.append(body[start:i])
            start = i + 1
    out.append(body[start:])
    return [p.strip() for p in out if p.strip()]


def update_ops(expression: str, names: Mapping[str, str], values: Mapping[str, Any]) -> list[list]:
    """What an UpdateExpression does to each top-level attribute, as [op, name, size, display]:
    set (the attribute becomes the value), set_if_absent (if_not_exists), num (arithmetic: about the size it
    had), grow (list_append or a nested path: the value's size is added), remove, add_num / add_set (ADD),
    shrink (DELETE from a set), copy (set from another attribute: size unknown)."""
    ops: list[list] = []
    parts = _CLAUSE.split(expression)
    for keyword, body in zip(parts[1::2], parts[2::2], strict=False):
        keyword = keyword.upper()
        for action in _split_top(body):
            if keyword == "SET":
                path, _, operand = action.partition("=")
                name, nested = _top(path, names)
                placeholders = [values[p] for p in _PLACEHOLDER.findall(operand) if p in values]
                added = sum(attribute_size("", v) for v in placeholders)
                operand = operand.strip()
                if nested or operand.lower().startswith("list_append"):
                    ops.append(["grow", name, added, None])
                elif operand in values:
                    v = values[operand]
                    ops.append(["set", name, attribute_size(name, v), value_display(v)])
                elif operand.lower().startswith("if_not_exists") and placeholders:
                    v = placeholders[-1]
                    ops.append(["set_if_absent", name, attribute_size(name, v), value_display(v)])
                elif placeholders:  # a + :n, a - :n
                    ops.append(["num", name, len(name.encode()) + added, None])
                else:
                    ops.append(["copy", name, 0, None])
            elif keyword == "REMOVE":
                name, nested = _top(action, names)
                ops.append(["grow", name, 0, None] if nested else ["remove", name, 0, None])
            else:  # ADD / DELETE: `path :value`
                path, _, operand = action.partition(" ")
                name, _nested = _top(path, names)
                v = values.get(operand.strip(), {"NULL": True})
                if keyword == "DELETE":
                    ops.append(["shrink", name, 0, None])
                elif "N" in v:
                    ops.append(["add_num", name, attribute_size(name, v), None])
                else:
                    ops.append(["add_set", name, attribute_size(name, v), None])
    return ops


def _equalities(expression: str, names: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, str | None]:
    """The `attribute = :value` terms of a key condition: the partition key is among them."""
    return {names.get(attr, attr): value_display(values[v]) for attr, v in _EQUALS.findall(expression) if v in values}


def _write(kind: str, body: Mapping[str, Any], attributes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"tb": body.get("TableName", ""), "act": kind}
    if kind == "put":
        entry["a"] = summary(body.get("Item", {}))
    else:
        entry["k"] = summary(body.get("Key", {}))
    if kind == "update":
        entry["u"] = update_ops(
            body.get("UpdateExpression", ""),
            body.get("ExpressionAttributeNames", {}),
            body.get("ExpressionAttributeValues", {}),
        )
    if body.get("ConditionExpression"):
        entry["cond"] = 1
    if attributes:  # the item before (ALL_OLD) or after (ALL_NEW) the write, when the caller asked for it
        entry["new" if body.get("ReturnValues") in ("ALL_NEW",) else "old"] = summary(attributes)
    return entry


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def describe(params: Mapping[str, Any], parsed: Mapping[str, Any], op: str) -> dict[str, Any]:
    """The writes and reads of one call (its parameters and its parsed response)."""
    out: dict[str, Any] = {}
    writes: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []
    returned = parsed.get("Attributes")
    if op == "PutItem":
        writes.append(_write("put", params, returned))
    elif op == "UpdateItem":
        writes.append(_write("update", params, returned))
    elif op == "DeleteItem":
        writes.append(_write("delete", params, returned))
    elif op == "TransactWriteItems":
        out["tx"] = 1
        kinds = {"Put": "put", "Update": "update", "Delete": "delete", "ConditionCheck": "check"}
        for entry in params.get("TransactItems", []):
            for kind, body in entry.items():
                writes.append(_write(kinds[kind], body))
    elif op == "BatchWriteItem":
        unprocessed = {_canonical((t, r)) for t, rs in (parsed.get("UnprocessedItems") or {}).items() for r in rs}
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    entry = _write("put", {"TableName": table, **request["PutRequest"]})
                else:
                    entry = _write("delete", {"TableName": table, **request.get("DeleteRequest", {})})
                if _canonical((table, request)) in unprocessed:
                    entry["skip"] = 1
                writes.append(entry)
    elif op == "GetItem":
        item = parsed.get("Item")
        reads.append(
            {
                "tb": params.get("TableName", ""),
                "k": summary(params.get("Key", {})),
                "cons": int(bool(params.get("ConsistentRead"))),
                "sz": [item_size(item) if item else 0],
            }
        )
    elif op == "BatchGetItem":
        for table, spec in params.get("RequestItems", {}).items():
            keys = spec.get("Keys", [])
            key_names = list(keys[0]) if keys else []
            found = (parsed.get("Responses") or {}).get(table, [])
            left = len(((parsed.get("UnprocessedKeys") or {}).get(table) or {}).get("Keys", []))
            reads.append(
                {
                    "tb": table,
                    "cons": int(bool(spec.get("ConsistentRead"))),
                    "keys": [summary(k) for k in keys],  # every key asked for costs, found or not
                    "got": [[summary({k: i[k] for k in key_names if k in i}), item_size(i)] for i in found],
                    "left": left,  # unprocessed: not read this time
                }
            )
    elif op == "TransactGetItems":
        out["tx"] = 1
        responses = parsed.get("Responses") or []
        for n, entry in enumerate(params.get("TransactItems", [])):
            body = entry.get("Get", {})
            item = responses[n].get("Item") if n < len(responses) else None
            reads.append(
                {
                    "tb": body.get("TableName", ""),
                    "k": summary(body.get("Key", {})),
                    "sz": [item_size(item) if item else 0],
                }
            )
    elif op in ("Query", "Scan"):
        read: dict[str, Any] = {
            "tb": params.get("TableName", ""),
            "cons": int(bool(params.get("ConsistentRead"))),
            "sz": [item_size(i) for i in parsed.get("Items", [])],
            "n": parsed.get("Count", 0),
            "sc": parsed.get("ScannedCount", parsed.get("Count", 0)),
            "scan": int(op == "Scan"),
        }
        if params.get("IndexName"):
            read["ix"] = params["IndexName"]
        if op == "Query":
            read["eq"] = _equalities(
                params.get("KeyConditionExpression", ""),
                params.get("ExpressionAttributeNames", {}),
                params.get("ExpressionAttributeValues", {}),
            )
        if params.get("ProjectionExpression"):
            read["proj"] = 1
        reads.append(read)
    if writes:
        out["w"] = writes
    if reads:
        out["r"] = reads
    return out


class CapacityRecorder:
    """The botocore hooks of one DynamoDB client; `write` appends a record (runtime.aws._append)."""

    def __init__(self, owner: str, write: Callable[[dict[str, Any]], None]):
        self._owner = owner
        self._write = write
        self._broken = False

    def register(self, events) -> None:
        events.register("before-parameter-build.dynamodb", self._params)
        events.register("request-created.dynamodb", self._request)
        events.register("after-call.dynamodb", self._done)
        events.register("after-call-error.dynamodb", self._failed)

    def _params(self, params, model, context, **_) -> None:
        span = trace.get_current_span()
        context[_CTX] = {"p": params, "op": model.name, "c": getattr(span, "name", "") or ""}

    @staticmethod
    def _request(request, **_) -> None:
        ctx = (getattr(request, "context", None) or {}).get(_CTX)
        if ctx is not None:
            body = request.body or b""
            ctx["b"] = len(body) if isinstance(body, bytes | bytearray) else len(str(body).encode())

    def _done(self, http_response, parsed, model, context, **_) -> None:
        ctx = context.pop(_CTX, None)
        if ctx is None:
            return
        try:
            parsed = parsed or {}
            error = (parsed.get("Error") or {}).get("Code")
            record: dict[str, Any] = {
                "t": time.time(),
                "o": self._owner,
                "op": model.name,
                "c": ctx["c"],
                "ok": 0 if error else 1,
                "req": ctx.get("b", 0),
                "try": (parsed.get("ResponseMetadata") or {}).get("RetryAttempts", 0),
            }
            if error:
                record["err"] = error
            if parsed.get("CancellationReasons"):
                record["why"] = [r.get("Code", "None") for r in parsed["CancellationReasons"]]
            record.update(describe(ctx["p"], parsed, model.name))
            self._write(record)
        except Exception:  # the log must never fail the call it describes
            if not self._broken:
                self._broken = True
                log.exception("capacity log: a record could not be written (later failures are not logged)")

    def _failed(self, exception, context, **_) -> None:
        ctx = context.pop(_CTX, None)
        if ctx is not None:
            try:
                self._write(
                    {
                        "t": time.time(),
                        "o": self._owner,
                        "op": ctx["op"],
                        "c": ctx["c"],
                        "ok": 0,
                        "err": type(exception).__name__,
                    }
                )
            except Exception:
                log.debug("capacity log: a failed call could not be written", exc_info=True)
