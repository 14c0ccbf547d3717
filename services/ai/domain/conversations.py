"""A contact's conversation as the assistant sees it, the 24-hour WhatsApp window, and the two ports through
which the service learns them: ConversationSource (the messaging service owns the messages) and
ContactDirectory (the contacts service owns names, numbers and addresses).

WhatsApp lets a business send free-form messages only within 24 hours of the customer's last message; after
that only an approved template may be sent, so a suggestion made then is marked "template required"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

WINDOW_SECONDS = 24 * 3600
MAX_MESSAGES = 20  # the recent messages a suggestion looks at


class Direction(Enum):
    INBOUND = "inbound"  # from the contact
    OUTBOUND = "outbound"  # from the business


@dataclass(frozen=True)
class ConversationMessage:
    direction: Direction
    text: str
    time: float


@dataclass(frozen=True)
class Conversation:
    messages: tuple[ConversationMessage, ...]  # oldest first
    last_inbound_time: float | None  # the contact's latest message on WhatsApp, whatever its kind

    def latest_from_contact(self) -> tuple[ConversationMessage, ...]:
        """What the contact wrote since the business last wrote (what a reply must answer)."""
        out: list[ConversationMessage] = []
        for message in reversed(self.messages):
            if message.direction is Direction.OUTBOUND:
                if out:
                    break
                continue
            out.append(message)
        return tuple(reversed(out))


@dataclass(frozen=True)
class Window:
    open: bool
    expire_time: float | None  # when it closes (or closed); None when the contact never wrote


def window(last_inbound_time: float | None, now: float) -> Window:
    if last_inbound_time is None:
        return Window(False, None)
    closes = last_inbound_time + WINDOW_SECONDS
    return Window(now < closes, closes)


@dataclass(frozen=True)
class ContactCard:
    name: str  # contacts/{id}
    display_name: str
    phone_number: str  # E.164, or ""
    email: str


class ConversationSource(Protocol):
    async def recent(self, contact: ContactCard, limit: int = MAX_MESSAGES) -> Conversation:
        """The contact's latest messages (oldest first) and when they last wrote; Unavailable when the
        messaging service cannot be reached."""
        ...


class ContactDirectory(Protocol):
    async def get(self, contact_name: str) -> ContactCard | None:
        """None when there is no such contact; Unavailable when the contacts service cannot be reached."""
        ...
