"""Assistant sessions: each person's memory of their exchange with the assistant, the rules only.

A session belongs to the person who started it (their Cognito subject) and nobody else sees it. It is kept
SESSION_TTL after its last use, and a person keeps at most MAX_SESSIONS: starting one more forgets the oldest.
Only the last MAX_TURNS turns are kept, each cut to MAX_TURN_CHARS, and no more of them than fit MAX_SESSION_BYTES
(a session is one DynamoDB item, 400 KB at most, and Indian scripts take 3 bytes a character)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from services.ai.domain.answers import Citation

SESSION_TTL_SECONDS = 30 * 24 * 3600
MAX_SESSIONS = 20
MAX_TURNS = 40
MAX_TURN_CHARS = 4_000
MAX_TITLE = 80
MAX_QUOTE = 300  # a session keeps where an answer came from, not the whole passage
MAX_SESSION_BYTES = 250_000


class Speaker(Enum):
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class Turn:
    speaker: Speaker
    text: str
    time: float
    contact: str = ""  # contacts/{id} for suggested replies
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class Session:
    id: str
    owner: str  # the person's subject
    title: str
    turns: tuple[Turn, ...]
    create_time: float
    update_time: float
    expire_time: float
    version: int = 1

    @property
    def name(self) -> str:
        return f"sessions/{self.id}"

    def live(self, now: float) -> bool:
        return now < self.expire_time

    def questions(self, limit: int = 3) -> tuple[str, ...]:
        """The person's latest questions in this session, oldest first."""
        asked = [t.text for t in self.turns if t.speaker is Speaker.USER and not t.contact]
        return tuple(asked[-limit:])


def title_of(text: str) -> str:
    return _shorten(" ".join(text.split()), MAX_TITLE)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut(turn: Turn) -> Turn:
    citations = tuple(dataclasses.replace(c, quote=_shorten(c.quote, MAX_QUOTE)) for c in turn.citations)
    return dataclasses.replace(turn, text=_shorten(turn.text, MAX_TURN_CHARS), citations=citations)


def start(session_id: str, owner: str, opening: str, now: float, ttl: float = SESSION_TTL_SECONDS) -> Session:
    return Session(session_id, owner, title_of(opening), (), now, now, now + ttl, version=0)


def _size(turn: Turn) -> int:
    quoted = sum(len(c.quote.encode()) + len(c.heading.encode()) + len(c.document) + 64 for c in turn.citations)
    return len(turn.text.encode()) + len(turn.contact) + quoted + 64


def record(session: Session, turns: tuple[Turn, ...], now: float, ttl: float = SESSION_TTL_SECONDS) -> Session:
    """The session with new turns, used now: its TTL starts again. The oldest turns go first when it is full."""
    kept = list((*session.turns, *(_cut(t) for t in turns))[-MAX_TURNS:])
    size = sum(_size(t) for t in kept)
    while len(kept) > 1 and size > MAX_SESSION_BYTES:
        size -= _size(kept.pop(0))
    return dataclasses.replace(
        session, turns=tuple(kept), update_time=now, expire_time=now + ttl, version=session.version + 1
    )
