"""The sandbox playing the customer who gets a message with tracked links: for a configurable share of
recipients (`open_links_share`, chosen by a hash of the number, so a run is repeatable) it opens every short
link of the message as WhatsApp does, a preview fetch with WhatsApp's user agent first, then a person's open
with a phone browser's; the others get the preview only. Every fetch is recorded (GET /sandbox/links/opened) so
a test can compare what the platform counted with what the customer did.

It opens links before the send is answered: the customer taps at once, so a finished send's opens are all
recorded. Redirects are not followed (the target is the business's site), and only short links on this
machine's loopback are fetched: the sandbox never sends traffic anywhere else."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

WHATSAPP_AGENT = "WhatsApp/2.24.12.78 A"
BROWSER_AGENT = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile"
SHORT = re.compile(r"https?://[^\s\"'<>]+/l/[0-9A-Za-z]{22}")
LOOPBACK = ("127.", "localhost", "[::1]")


@dataclass(frozen=True)
class Fetch:
    to: str  # the customer, E.164
    url: str
    kind: str  # "preview" | "click"
    status: int  # what the gateway answered (302, 404, ...)
    time: float


def chooses(to: str, share: float) -> bool:
    """Whether this customer opens their links: a fixed draw per number."""
    draw = int(hashlib.sha256(to.lstrip("+").encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return draw < share


def short_links(message: dict[str, Any], links_base: str) -> list[str]:
    """The short links a customer sees in Meta's message object: in a text, a caption, an interactive body or
    CTA URL, and a template's URL button (its value is the link's code, the template's URL `<base>/l/{{1}}`)."""
    texts: list[str] = []
    kind = message.get("type")
    body = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        texts.append(str(body.get("body", "")))
    elif kind in ("image", "video", "document"):
        texts.append(str(body.get("caption", "")))
    elif kind == "interactive":
        texts.append(str((body.get("body") or {}).get("text", "")))
        texts.append(str(((body.get("action") or {}).get("parameters") or {}).get("url", "")))
    elif kind == "template":
        for c in body.get("components") or []:
            if c.get("type") == "button" and c.get("sub_type") == "url":
                for p in c.get("parameters") or []:
                    texts.append(f"{links_base.rstrip('/')}/l/{p.get('text', '')}")
            else:
                texts += [str(p.get("text", "")) for p in c.get("parameters") or []]
    found: list[str] = []
    for text in texts:
        for url in SHORT.findall(text):
            if url not in found:
                found.append(url)
    return found


class Customer:
    def __init__(self, links_base: str):
        self.links_base = links_base
        self.fetches: list[Fetch] = []
        self._http: aiohttp.ClientSession | None = None

    async def receives(self, to: str, message: dict[str, Any], share: float) -> None:
        if share <= 0:
            return
        opens = chooses(to, share)
        for url in short_links(message, self.links_base):
            host = urlsplit(url).netloc
            if not host.startswith(LOOPBACK):
                continue  # never off this machine
            await self._fetch(to, url, "preview", WHATSAPP_AGENT)
            if opens:
                await self._fetch(to, url, "click", BROWSER_AGENT)

    async def _fetch(self, to: str, url: str, kind: str, agent: str) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._http.get(url, headers={"User-Agent": agent}, allow_redirects=False) as reply:
                status = reply.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.fetches.append(Fetch(to, url, kind, status, time.time()))

    def record(self, to: str = "") -> list[dict[str, Any]]:
        return [asdict(f) for f in self.fetches if not to or f.to == to]

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
