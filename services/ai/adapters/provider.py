"""The AI provider interface: answers from the knowledge base and streamed reply suggestions.

Implementations: local.provider (embedded default: BM25 and sentence vectors over DocsTable) and bedrock_provider
(Amazon Bedrock knowledge base and model). The setting WECARE_AI_PROVIDER chooses one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from services.ai.domain.answers import Answer, Question, ReplyEnd, ReplyPiece, ReplyStart
from services.ai.domain.conversations import ContactCard, Conversation


@dataclass(frozen=True)
class ReplyRequest:
    contact: ContactCard
    conversation: Conversation
    guidance: str = ""  # the operator's note on what to address


class KnowledgeProvider(Protocol):
    async def answer(self, question: Question) -> Answer:
        """An answer with citations, or answered=False ("I don't know") below the confidence threshold.
        Faults of the backend surface as ResourceExhausted / Unavailable / FailedPrecondition."""
        ...

    def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyStart | ReplyPiece | ReplyEnd]:
        """One ReplyStart (the passages the reply stands on), the reply piece by piece, then one ReplyEnd."""
        ...

    async def start(self) -> None:
        """Prepares what the first question needs (run in the background when the process starts)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
