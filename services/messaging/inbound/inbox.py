"""Reading the inbox: a message of either direction (its media as expiring download URLs), a customer's messages
of both directions newest first, conversations with their last message and open window, voice calls, and
deleting a message with the media that is its alone."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from runtime import phones
from runtime.errors import InvalidArgument, NotFound
from runtime.names import parse_name
from services.messaging.adapters.consent import ConsentReader
from services.messaging.adapters.media import MediaBucket
from services.messaging.adapters.store import (
    ConversationStore,
    InboundMessageStore,
    MessageStore,
    VoiceCallStore,
)
from services.messaging.domain.model import Channel, Conversation, Direction, InboundMessage, OutboundMessage, VoiceCall
from services.messaging.domain.rules import EMAIL, WINDOW_SECONDS

AnyMessage = InboundMessage | OutboundMessage
Position = tuple[float, str]  # (time, id): where a page ends


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    last: AnyMessage | None
    window_expires: float | None  # WhatsApp: while the customer's 24-hour window is open


class Inbox:
    def __init__(
        self,
        outbound: MessageStore,
        inbound: InboundMessageStore,
        conversations: ConversationStore,
        voice_calls: VoiceCallStore,
        media: MediaBucket,
        contacts: ConsentReader,
        region: str,
    ):
        self._outbound = outbound
        self._inbound = inbound
        self._conversations = conversations
        self._voice_calls = voice_calls
        self._media = media
        self._contacts = contacts
        self.region = region

    async def message(self, message_id: str) -> AnyMessage:
        found: AnyMessage | None = await self._outbound.get(message_id)
        if found is None:
            found = await self._inbound.get(message_id)
        if found is None:
            raise NotFound(f"messages/{message_id} does not exist")
        return found

    async def media_urls(self, message: AnyMessage) -> dict[str, str]:
        """Media key -> a pre-signed download URL, for the media the message carries (itself or a header)."""
        content = message.content
        media = content.get("media") or (content.get("template") or {}).get("header_media") or {}
        key = media.get("media_key", "")
        return {key: await self._media.download_url(key)} if key else {}

    async def customers(self, contact: str, customer: str) -> list[str]:
        """The addresses a conversation query is about: exactly one of a contact (its phone and email) and an
        address."""
        if bool(contact) == bool(customer):
            raise InvalidArgument("contact", "give exactly one of contact (`contacts/{id}`) and customer")
        if customer:
            return [address(customer, self.region, "customer")]
        parse_name(contact, "contacts", "contact")
        try:
            found = await self._contacts.by_contact("WHATSAPP", contact)
        except NotFound:
            raise NotFound(f"{contact} does not exist") from None
        return [a for a in (found.phone_number, found.email) if a]

    async def messages(
        self, customers: list[str], channel: Channel | None, before: Position | None, limit: int
    ) -> list[tuple[float, str, AnyMessage]]:
        """Both directions, newest first by (time, id), strictly before `before`, at most `limit`."""
        found: list[tuple[float, str, AnyMessage]] = []
        for customer in customers:
            if channel in (None, Channel.WHATSAPP):
                for m in await self._inbound.list_for_customer(channel, customer, before, limit):
                    found.append((m.receive_time, m.id, m))
            for o in await self._outbound.list_for_customer(channel, customer, before, limit):
                found.append((o.create_time, o.id, o))
        return heapq.nlargest(limit, found, key=lambda item: (item[0], item[1]))

    async def conversations(self, channel: Channel | None, before: Position | None, limit: int) -> list[Conversation]:
        return await self._conversations.list_conversations(channel, before, limit)

    async def view(self, c: Conversation, now: float) -> ConversationView:
        last: AnyMessage | None = None
        if c.last_message_id:
            if c.last_direction == Direction.INBOUND:
                last = await self._inbound.get(c.last_message_id)
            else:
                last = await self._outbound.get(c.last_message_id)
        expires = None
        if c.channel == Channel.WHATSAPP:
            latest = await self._inbound.list_for_customer(Channel.WHATSAPP, c.customer, None, 1)
            if latest and latest[0].receive_time + WINDOW_SECONDS > now:
                expires = latest[0].receive_time + WINDOW_SECONDS
        return ConversationView(c, last, expires)

    async def voice_calls(self, customer: str, before: Position | None, limit: int) -> list[VoiceCall]:
        """`customer` already normalised (address()), or "" for every customer."""
        return await self._voice_calls.list_voice_calls(customer, before, limit)

    async def delete(self, message_id: str) -> AnyMessage:
        """Deletes the message and the media that is its alone (first: a message never outlives its media's
        deletion unnoticed); NotFound when there is none."""
        inbound = await self._inbound.get(message_id)
        outbound = None if inbound is not None else await self._outbound.get(message_id)
        target: AnyMessage | None = inbound or outbound
        if target is None:
            raise NotFound(f"messages/{message_id} does not exist")
        for key in own_media(target):
            await self._media.delete(key)
        if inbound is not None:
            await self._inbound.delete(message_id)
        else:
            await self._outbound.delete(message_id)
        return target


def address(raw: str, region: str, field: str) -> str:
    """A phone number (E.164) or an email address (lower case); INVALID_ARGUMENT naming `field` otherwise."""
    text = raw.strip()
    if "@" in text:
        if not EMAIL.match(text):
            raise InvalidArgument(field, f"{raw!r} is neither a phone number nor an email address")
        return text.lower()
    normal = phones.e164(text, region)
    if normal is None:
        raise InvalidArgument(field, f"{raw!r} is neither a phone number nor an email address")
    return normal


def own_media(m: AnyMessage) -> list[str]:
    """The media objects that are this message's alone: an inbound copy; an outbound upload unless the message
    went out in a batch (SendMessages sends one upload to many recipients: it stays for the others)."""
    media = m.content.get("media") or {}
    key = media.get("media_key", "")
    if not key or (isinstance(m, OutboundMessage) and m.batch_id):
        return []
    return [key]
