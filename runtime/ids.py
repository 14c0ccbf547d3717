"""Resource ids: 26-character, time-ordered (ULID layout, Crockford base32), so that listing by id is listing
in creation order and ids from several processes never collide."""

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


_last = [0, 0]  # (ms, random part) of the last id this process made
_lock = threading.Lock()


def new_id(now_ms: int | None = None) -> str:
    """Ids made by one process are strictly increasing, also within one millisecond (ULID monotonic rule)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        if ms <= _last[0]:
            ms, rand = _last[0], _last[1] + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last[0], _last[1] = ms, rand
    return _encode((ms << 80) | rand)


def first_id_at(ms: int) -> str:
    """The smallest id made at that millisecond: a bound for a range of ids by time. Leaves new_id's state alone."""
    return _encode(min(max(ms, 0), (1 << 48) - 1) << 80)


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_id(text: str) -> bool:
    return bool(ID_PATTERN.match(text))
