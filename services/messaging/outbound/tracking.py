"""Tracked links at acceptance: for each accepted message with track_links, one link per URL of its content is
minted for its recipient through the commerce service (contact, recipient, message and job named), and the
message is stored with the short links in place of the URLs (domain/tracking.py). A message whose links cannot
be minted is refused, UNAVAILABLE (try again) or INVALID_ARGUMENT naming the URL commerce refused: it is never
sent untracked.

Links of a chunk are minted in as few calls as fit (1,000 links a call). Request ids are
`<idempotency key or message id>/<url index>`, so a retried acceptance gets the same links back. A key whose
links name another message (an earlier message under that key that was withdrawn, or never stored because the
process stopped in between: neither was sent) gets fresh links under the message's own id."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from runtime.errors import DomainError, FailedPrecondition, InvalidArgument, Unavailable
from services.messaging.adapters.commerce import (
    ClickRecord,
    CommerceRefused,
    CommerceUnavailable,
    LinkAsk,
    LinkMinter,
)
from services.messaging.domain import tracking
from services.messaging.domain.model import OutboundMessage

log = logging.getLogger("wecare.messaging.tracking")
MAX_LINKS = 1000  # BatchCreateLinks' limit


@dataclass(frozen=True)
class Tracked:
    """A message to track: where it is in the request (its field prefix) and the URLs found in it."""

    message: OutboundMessage
    prefix: str
    targets: list[str]


def _asks(t: Tracked, by_id: bool) -> list[LinkAsk]:
    m = t.message
    base = m.id if by_id or not m.idempotency_key else m.idempotency_key
    return [
        LinkAsk(
            target_url=url,
            request_id=f"{base}/{i}",
            message=m.name,
            contact=f"contacts/{m.contact_id}" if m.contact_id else "",
            recipient=m.recipient,
            job=m.extra.get("job", ""),
        )
        for i, url in enumerate(t.targets)
    ]


class Tracking:
    def __init__(self, minter: LinkMinter | None):
        self._minter = minter

    async def apply(self, messages: list[tuple[OutboundMessage, str]]) -> list[OutboundMessage | DomainError]:
        """For each (message, field prefix): the message with its links in place (unchanged without
        track_links or without URLs), or why it is refused."""
        out: list[OutboundMessage | DomainError] = []
        todo: list[tuple[int, Tracked]] = []
        for i, (m, prefix) in enumerate(messages):
            out.append(m)
            if not m.extra.get("track_links"):
                continue
            targets = tracking.targets(m.content)
            if not targets:
                continue
            if self._minter is None:
                out[i] = FailedPrecondition(
                    "tracked links need the commerce service, which this messaging is not connected to",
                    reason="TRACKING_OFF",
                )
                continue
            if len(targets) > MAX_LINKS:
                out[i] = InvalidArgument(f"{prefix}.content", f"at most {MAX_LINKS} URLs to track in one message")
                continue
            todo.append((i, Tracked(m, prefix, targets)))
        batch: list[tuple[int, Tracked]] = []
        size = 0
        for i, t in todo:
            if size + len(t.targets) > MAX_LINKS:
                await self._batch(batch, out)
                batch, size = [], 0
            batch.append((i, t))
            size += len(t.targets)
        if batch:
            await self._batch(batch, out)
        return out

    async def _batch(self, batch: list[tuple[int, Tracked]], out: list[OutboundMessage | DomainError]) -> None:
        assert self._minter is not None
        asks = [a for _, t in batch for a in _asks(t, by_id=False)]
        try:
            minted = await self._minter.mint(asks)
        except CommerceUnavailable as exc:
            for i, _ in batch:
                out[i] = Unavailable(f"tracked links could not be minted; try again ({exc})")
            return
        except CommerceRefused:
            # One message's link was refused (a URL commerce will not track, a key reused): each on its own.
            for i, t in batch:
                out[i] = await self._one(t)
            return
        at = 0
        for i, t in batch:
            out[i] = _placed(t, minted[at : at + len(t.targets)])
            at += len(t.targets)

    async def _one(self, t: Tracked) -> OutboundMessage | DomainError:
        assert self._minter is not None
        for by_id in (False, True):
            try:
                return _placed(t, await self._minter.mint(_asks(t, by_id)))
            except CommerceUnavailable as exc:
                return Unavailable(f"tracked links could not be minted; try again ({exc})")
            except CommerceRefused as exc:
                if exc.code == "ALREADY_EXISTS" and not by_id and t.message.idempotency_key:
                    log.info("a key names links of another message: fresh ones", extra={"outbound": t.message.name})
                    continue
                if exc.code == "INVALID_ARGUMENT":
                    return InvalidArgument(f"{t.prefix}.content", f"a URL cannot be tracked: {exc.message}")
                return Unavailable(f"tracked links could not be minted ({exc})")
        return Unavailable("tracked links could not be minted")

    async def clicks(self, message: OutboundMessage | object) -> list[ClickRecord]:
        """The clicks on a message's tracked links (none for a message without them)."""
        if self._minter is None or not isinstance(message, OutboundMessage) or not message.extra.get("tracked_links"):
            return []
        try:
            return await self._minter.clicks(message.name)
        except (CommerceUnavailable, CommerceRefused) as exc:
            raise Unavailable(f"the clicks of {message.name} could not be read from commerce; retry ({exc})") from None


def _placed(t: Tracked, minted: list[tracking.Minted]) -> OutboundMessage:
    links = dict(zip(t.targets, minted, strict=True))
    return t.message.replace(
        content=tracking.rewrite(t.message.content, links),
        extra={**t.message.extra, "tracked_links": len(links)},
    )
