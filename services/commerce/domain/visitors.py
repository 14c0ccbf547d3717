"""Who opened a link: a person (a click) or a link-preview fetcher (a preview), and which person.

Messengers fetch a link as soon as it is posted, to show a preview card: WhatsApp (`WhatsApp/2.x`), Facebook
and Instagram (`facebookexternalhit`, `Facebot`), iMessage (which says `facebookexternalhit ... Twitterbot`),
Telegram, Slack, Discord, Skype, LinkedIn, and crawlers such as Googlebot. Those fetches, HEAD requests
and browser prefetches (`Sec-Purpose: prefetch`) are previews: recorded, never counted as clicks. An empty user
agent is no browser either. In-app browsers (Facebook's `FBAN`/`FB_IAB`, Instagram's) are people: a click.

A person is the contact the link was minted for (or its recipient's address); on a shared link, the visitor
cookie the gateway gives each browser, or failing that the client's address and user agent."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum

PREVIEW_AGENTS = re.compile(
    r"(^whatsapp/|facebookexternalhit|facebot|twitterbot|slackbot|slack-imgproxy|telegrambot|discordbot"
    r"|googlebot|google-inspectiontool|adsbot-google|bingbot|bingpreview|linkedinbot|skypeuripreview|skypebot"
    r"|pinterestbot|redditbot|applebot|embedly|iframely|vkshare|yandex(bot|images)"
    r"|duckduckbot|baiduspider|mastodon/|outbrain|quora link preview|google-pagerenderer|microsoftpreview"
    r"|\b(bot|crawler|spider|preview)\b|[a-z]+bot/|[a-z]+crawler/|[a-z]+spider/)",
    re.IGNORECASE,
)
PREFETCH = re.compile(r"\bprefetch\b", re.IGNORECASE)
VISITOR = re.compile(r"^[0-9A-Za-z_-]{22}$")  # the gateway's visitor cookie: 128 random bits, base64url


class OpenKind(Enum):
    CLICK = "click"
    PREVIEW = "preview"


@dataclass(frozen=True)
class Open:
    """One request of `/l/{code}` as the gateway saw it."""

    http_method: str = "GET"
    user_agent: str = ""
    purpose: str = ""
    client_address: str = ""
    visitor: str = ""


def kind_of(request: Open) -> OpenKind:
    if request.http_method.upper() == "HEAD":
        return OpenKind.PREVIEW
    if PREFETCH.search(request.purpose):
        return OpenKind.PREVIEW
    agent = request.user_agent.strip()
    if not agent or PREVIEW_AGENTS.search(agent):
        return OpenKind.PREVIEW
    return OpenKind.CLICK


def person_of(contact: str, recipient: str, request: Open) -> str:
    """The key one person's opens of one link share: at most 64 characters of [0-9a-z:]."""
    if contact:
        return "contact:" + contact.rpartition("/")[2]
    if recipient:
        return "recipient:" + _digest(recipient.lower())
    if VISITOR.match(request.visitor):
        return "visitor:" + _digest(request.visitor)
    return "anonymous:" + _digest(f"{request.client_address}\n{request.user_agent}")


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
