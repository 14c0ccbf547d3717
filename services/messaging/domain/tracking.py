"""Tracked links in a message's content, no I/O: where the URLs are, and the content with each replaced by the
short link minted for this recipient (outbound/tracking.py mints them through the commerce service).

URLs are taken from the texts a person reads (a text body, a media caption, an interactive body, an email's
text and HTML bodies), a CTA_URL button's URL, and a template's URL button whose value is an absolute URL:
such a template's button is registered as `<links base URL>/l/{{1}}`, so its value becomes the link's code. A
URL met twice in one message is one link. URLs are numbered in the order first met: the numbers make the
links' request ids, so a retried acceptance mints the same links."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}*_~"  # sentence punctuation after a URL is not part of it


@dataclass(frozen=True)
class Minted:
    short_url: str  # `<links base URL>/l/<code>`
    code: str


def _urls(text: str, markup: bool) -> Iterator[tuple[int, int, str]]:
    """(start, end, target) of every URL in the text; in HTML the target is unescaped (`&amp;` is `&`)."""
    for m in URL.finditer(text):
        raw = m.group(0)
        while raw and raw[-1] in TRAILING and not (raw[-1] == ")" and raw.count("(") >= raw.count(")")):
            raw = raw[:-1]
        if len(raw) <= len("https://"):
            continue
        yield m.start(), m.start() + len(raw), html.unescape(raw) if markup else raw


def _texts(content: dict[str, Any]) -> Iterator[tuple[tuple[str, str], bool]]:
    """(kind, field) of each text that may hold URLs, and whether it is HTML."""
    for kind, name, markup in (
        ("text", "body", False),
        ("media", "caption", False),
        ("interactive", "body_text", False),
        ("email", "text_body", False),
        ("email", "html_body", True),
    ):
        body = content.get(kind)
        if isinstance(body, dict) and isinstance(body.get(name), str) and body[name]:
            yield (kind, name), markup


def _absolute(text: str) -> bool:
    return bool(URL.fullmatch(text.strip()))


def targets(content: dict[str, Any]) -> list[str]:
    """Every distinct URL to track, in the order first met."""
    found: dict[str, None] = {}
    for (kind, name), markup in _texts(content):
        for _, _, target in _urls(content[kind][name], markup):
            found.setdefault(target)
    interactive = content.get("interactive")
    if isinstance(interactive, dict) and interactive.get("cta_url"):
        found.setdefault(interactive["cta_url"])
    template = content.get("template")
    for button in (template or {}).get("button_parameters") or []:
        if button.get("sub_type") == "url" and _absolute(button.get("text", "")):
            found.setdefault(button["text"].strip())
    return list(found)


def rewrite(content: dict[str, Any], minted: dict[str, Minted]) -> dict[str, Any]:
    """The content with every tracked URL replaced; a new dict (the given one may be shared by other messages)."""
    out = {kind: dict(body) if isinstance(body, dict) else body for kind, body in content.items()}
    for (kind, name), markup in _texts(content):
        text = content[kind][name]
        parts, last = [], 0
        for start, end, target in _urls(text, markup):
            parts += [text[last:start], minted[target].short_url]
            last = end
        out[kind][name] = "".join(parts) + text[last:]
    interactive = out.get("interactive")
    if isinstance(interactive, dict) and interactive.get("cta_url") in minted:
        interactive["cta_url"] = minted[interactive["cta_url"]].short_url
    template = out.get("template")
    if isinstance(template, dict) and template.get("button_parameters"):
        template["button_parameters"] = [
            {**b, "text": minted[b["text"].strip()].code}
            if b.get("sub_type") == "url" and _absolute(b.get("text", ""))
            else b
            for b in template["button_parameters"]
        ]
    return out
