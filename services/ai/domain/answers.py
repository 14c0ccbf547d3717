"""What the assistant says and where it comes from: answers, citations and the pieces of a streamed reply.
These are the words the providers (local, Bedrock) and the rest of the service share."""

from __future__ import annotations

from dataclasses import dataclass

DONT_KNOW = (
    "I don't know: the knowledge base does not cover this. Please check with the team, or add a document "
    "that answers it."
)
MAX_QUESTION = 1_000


def dont_know(nearest: tuple[Citation, ...]) -> str:
    """ "I don't know", offering the passages that came nearest, so the person can look for themselves."""
    if not nearest:
        return DONT_KNOW
    offered = "; ".join(f'"{c.heading}" ({c.document_title})' for c in nearest)
    return f"{DONT_KNOW} The nearest passages: {offered}."


@dataclass(frozen=True)
class Citation:
    document: str  # documents/{id}, or the source location with Bedrock
    document_title: str
    passage_id: str
    heading: str
    quote: str
    score: float = 0.0


@dataclass(frozen=True)
class Answer:
    text: str
    answered: bool
    confidence: float
    citations: tuple[Citation, ...] = ()  # what the answer quotes
    passages: tuple[Citation, ...] = ()  # what retrieval found, best first


@dataclass(frozen=True)
class Question:
    text: str
    earlier: tuple[str, ...] = ()  # the person's earlier questions in the session, oldest first
    max_passages: int = 3


@dataclass(frozen=True)
class ReplyStart:
    """The beginning of a streamed reply: the passages it will stand on (known before the text is)."""

    grounding: tuple[Citation, ...]


@dataclass(frozen=True)
class ReplyEnd:
    """The end of a streamed reply: what grounds it and how well."""

    citations: tuple[Citation, ...]
    confidence: float
    answered: bool


@dataclass(frozen=True)
class ReplyPiece:
    text: str
