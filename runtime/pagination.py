"""Page tokens: opaque, signed, and bound to the request they continue.

A token carries the position to continue from and a fingerprint of the query (collection and filters). A
token that was tampered with, comes from another collection, or continues a different query is a foreign
token: INVALID_ARGUMENT on `page_token`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from runtime.errors import InvalidArgument


class PageTokens:
    def __init__(self, key: str):
        self._key = hashlib.sha256(("page-token:" + key).encode()).digest()

    def encode(self, scope: str, position: Any) -> str:
        body = json.dumps({"s": _fingerprint(scope), "p": position}, separators=(",", ":")).encode()
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")

    def decode(self, scope: str, token: str, field: str = "page_token") -> Any:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, body = raw[:16], raw[16:]
            if not hmac.compare_digest(mac, hmac.new(self._key, body, hashlib.sha256).digest()[:16]):
                raise ValueError("signature")
            data = json.loads(body)
        except (ValueError, TypeError):
            raise InvalidArgument(field, "not a page token this service issued; start again without it") from None
        if data.get("s") != _fingerprint(scope):
            raise InvalidArgument(field, "this page token belongs to a different query; repeat the same query")
        return data["p"]


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def page_size(requested: int, default: int, maximum: int, field: str = "page_size") -> int:
    if requested < 0:
        raise InvalidArgument(field, "must not be negative")
    if requested == 0:
        return default
    return min(requested, maximum)
