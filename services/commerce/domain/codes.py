"""Link codes: the part of a short URL after `/l/`.

A code is 128 random bits from the operating system's CSPRNG written in base62 (digits, upper, lower case) at a
fixed 22 characters, so it is unguessable (a guesser needs about 2^127 tries per link) and a code of any other
shape is refused before any lookup. A changed character gives another well-formed code, which no link has: an
unknown code, answered exactly like one (404). Codes are lookup keys, not signatures: no key to keep or rotate."""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LENGTH = 22  # 62**22 > 2**128
BITS = 128
CODE = re.compile(r"^[0-9A-Za-z]{22}$")


def encode(value: int) -> str:
    """A number below 2**128 as exactly LENGTH base62 characters."""
    if not 0 <= value < 1 << BITS:
        raise ValueError("a code holds 128 bits")
    chars = []
    for _ in range(LENGTH):
        value, digit = divmod(value, 62)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def decode(code: str) -> int:
    if not is_code(code):
        raise ValueError(f"{code!r} is not a link code")
    value = 0
    for char in code:
        value = value * 62 + ALPHABET.index(char)
    if value >= 1 << BITS:
        raise ValueError(f"{code!r} is out of range")
    return value


def new_code() -> str:
    return encode(secrets.randbits(BITS))


def is_code(text: str) -> bool:
    """Well-formed: 22 base62 characters, and no more than 128 bits (the largest code is `7n42DGM5Tflk9n8mt7Fhc7`)."""
    return bool(CODE.match(text)) and text <= MAX_CODE


MAX_CODE = encode((1 << BITS) - 1)
