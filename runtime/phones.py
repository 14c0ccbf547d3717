"""Phone numbers as the platform keeps them: E.164, read in any common format, numbers without a country code
taking the deployment's default region (settings.default_phone_region)."""

from __future__ import annotations

import phonenumbers


def e164(text: str, region: str) -> str | None:
    """The number in E.164 (`+919812345678`), or None when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
