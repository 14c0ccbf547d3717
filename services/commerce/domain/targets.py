"""Where a link may lead: an absolute http or https URL, checked and normalised once, at creation.

The redirect sends the stored value as the Location header, so everything that could make that header unsafe or
deceptive is refused or made plain here:
- scheme http or https only (no javascript:, data:, file:, ...); a host is required;
- no user info (`https://bank.example@evil.example/` shows one host and goes to another), no control characters
  or whitespace (header injection), at most MAX_LENGTH characters;
- a port, when given, is a number from 1 to 65535;
- the host is written in IDNA (punycode) and lower case, non-ASCII elsewhere is percent-encoded (UTF-8), and an
  existing percent-escape is kept as it is: the stored URL is ASCII and means what was given;
- a target on the short-link address itself (`<links base URL>/l/...`) is refused: a link to a link hides the
  destination and could loop."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

from runtime.errors import InvalidArgument

MAX_LENGTH = 2048
SCHEMES = ("http", "https")
CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f]")
# Characters that stay as they are in a path, query or fragment (RFC 3986 reserved and unreserved, and `%`).
SAFE = "!#$%&'()*+,/:;=?@[]~-._"
HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_target(url: str, field: str, links_base_url: str = "") -> str:
    """The URL as it will be stored and redirected to, or INVALID_ARGUMENT naming `field`."""
    if not url:
        raise InvalidArgument(field, "required: an absolute http or https URL")
    if len(url) > MAX_LENGTH:
        raise InvalidArgument(field, f"at most {MAX_LENGTH} characters")
    if CONTROL_OR_SPACE.search(url):
        raise InvalidArgument(field, "must not contain spaces or control characters (percent-encode them)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidArgument(field, f"not a URL: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidArgument(field, "only http and https links can be tracked")
    if "@" in parts.netloc:
        raise InvalidArgument(field, "must not carry user info (`user@host`): it disguises the host")
    host = _host(parts.hostname or "", field)
    if port is not None and not 1 <= port <= 65535:
        raise InvalidArgument(field, f"port {port} is out of range")
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    normalized = urlunsplit(
        (parts.scheme.lower(), netloc, _ascii(parts.path or "/"), _ascii(parts.query), _ascii(parts.fragment))
    )
    if parts.query == "" and url.rstrip("#").endswith("?"):
        normalized += "?"  # urlunsplit drops an empty query; keep what was given
    if len(normalized) > MAX_LENGTH:
        raise InvalidArgument(field, f"at most {MAX_LENGTH} characters once percent-encoded")
    if links_base_url and _is_short_link(normalized, links_base_url):
        raise InvalidArgument(field, "must not be a tracked short link itself")
    return normalized


def _host(host: str, field: str) -> str:
    if not host:
        raise InvalidArgument(field, "needs a host (`https://example.com/...`)")
    if ":" in host:  # an IPv6 literal; urlsplit checked its brackets
        return host.lower()
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidArgument(field, f"host {host!r} is not a valid domain name") from None
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253 or not all(HOST_LABEL.match(label) for label in labels):
        raise InvalidArgument(field, f"host {host!r} is not a valid domain name")
    return ascii_host


def _ascii(part: str) -> str:
    return quote(part, safe=SAFE)


def _is_short_link(url: str, links_base_url: str) -> bool:
    base = urlsplit(links_base_url)
    target = urlsplit(url)
    return target.netloc.lower() == base.netloc.lower() and target.path.startswith(base.path.rstrip("/") + "/l/")
