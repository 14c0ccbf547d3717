"""Phone numbers as the platform keeps them: E.164, read in any common format, numbers without a country code
taking the deployment's default region (settings.default_phone_region). One place for every service (contacts,
messaging's sends and inbound, bulk's recipients), cached: a streamed send of 25,000 messages reads each number
more than once, and parsing one costs tens of microseconds."""

from __future__ import annotations

import functools

import phonenumbers


@functools.lru_cache(maxsize=65_536)
def e164(text: str, region: str) -> str | None:
    """The number in E.164 (`+919812345678`), or None when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def problem(text: str, region: str) -> str:
    """Why `text` is not a phone number, for an error message (call it only when e164 gave None)."""
    try:
        phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return f"{text!r} is not a phone number ({exc})"
    return f"{text!r} is not a valid phone number; write it as +<country><number>"
