"""DynamoDB's capacity arithmetic, as AWS documents it (Developer Guide, "Item sizes and formats" and "Read and
write operations"): the size of an item from its attribute names and values, and the read and write units a
request of that size consumes. Pure functions over AttributeValues in the wire shape ({"S": ...}); the capacity
recorder (runtime/capacity_log.py) and the capacity model (bench/dynamodb_model.py) both use them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

WRITE_UNIT = 1024  # one write unit: an item of up to 1 KB
READ_UNIT = 4096  # one read unit: an item of up to 4 KB, strongly consistent
# One partition (one partition key value) takes at most this many units a second (DynamoDB's quotas).
PARTITION_WCU = 1000
PARTITION_RCU = 3000


def number_size(text: str) -> int:
    """1 byte per two significant digits (leading and trailing zeros trimmed), plus 1."""
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        digits = tuple(c for c in text if c.isdigit())
    significant = max(1, len(digits))
    return math.ceil(significant / 2) + 1


def _bytes(value: Any) -> int:
    return len(value) if isinstance(value, bytes | bytearray) else len(str(value).encode())


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one AttributeValue without its name. Binary counts its raw bytes (botocore carries them raw)."""
    (kind, body), *_ = value.items()
    if kind == "S":
        return len(body.encode())
    if kind == "N":
        return number_size(body)
    if kind == "B":
        return _bytes(body)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in body)
    if kind == "NS":
        return sum(number_size(n) for n in body)
    if kind == "BS":
        return sum(_bytes(b) for b in body)
    if kind == "L":  # 3 bytes for the list, 1 for each element
        return 3 + sum(1 + value_size(v) for v in body)
    if kind == "M":  # 3 bytes for the map, 1 for each element, and each element's name
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in body.items())
    raise ValueError(f"not an AttributeValue type: {kind!r}")


def attribute_size(name: str, value: Mapping[str, Any]) -> int:
    return len(name.encode()) + value_size(value)


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size DynamoDB charges for: the sum of the attributes' names and values."""
    return sum(attribute_size(k, v) for k, v in item.items())


def write_units(size: int, transactional: bool = False) -> int:
    """1 unit per KB rounded up (at least 1) for each item written; twice that in a transaction."""
    units = max(1, math.ceil(size / WRITE_UNIT))
    return 2 * units if transactional else units


def read_units(size: int, consistent: bool = True, transactional: bool = False) -> float:
    """1 unit per 4 KB rounded up (at least 1) strongly consistent, half that eventually consistent, twice that
    in a transaction. A Query or Scan passes the sum of every item it read (filtered out or not); a GetItem
    or each key of a BatchGetItem its own item's size (0 when there is none: still one block)."""
    blocks = max(1, math.ceil(size / READ_UNIT))
    if transactional:
        return 2.0 * blocks
    return float(blocks) if consistent else blocks / 2


def query_read_units(sizes: Iterable[int], consistent: bool = True) -> float:
    """A Query or Scan page: the items' sizes summed, then rounded up to 4 KB once."""
    return read_units(sum(sizes), consistent)
