"""The local provider (embedded default): real retrieval over the documents in DocsTable, no model download.

Answers are extracted from the best passages and cited; a question the knowledge base does not cover well
enough (confidence below the threshold) gets "I don't know" rather than a guess. Suggested replies are
composed from the same extracts, greeting the contact, and streamed word by word like a model's.

Each replica keeps its own index and rebuilds it (off the event loop) when the store's revision moves, so a
document written through any replica is searchable by every replica on its next question."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator

from services.ai.adapters.local.answers import extract
from services.ai.adapters.local.index import Entry, PassageIndex
from services.ai.adapters.local.speech import Speech
from services.ai.adapters.provider import ReplyRequest
from services.ai.adapters.store import DocsStore
from services.ai.domain.answers import DONT_KNOW, Answer, Citation, Question, ReplyEnd, ReplyPiece, ReplyStart
from services.ai.domain.conversations import Direction
from services.ai.domain.documents import Document

log = logging.getLogger("wecare.ai.local")

MIN_TOPIC_WORDS = 2  # a shorter question is read together with the person's previous one (a follow-up)
PIECE = re.compile(r"\S+\s*")
NOT_FOUND_REPLY = "Thanks for your message. I'm checking this with our team and will get back to you shortly."


def citation(hit, quote: str | None = None) -> Citation:
    entry = hit.entry
    return Citation(
        document=f"documents/{entry.document_id}",
        document_title=entry.document_title,
        passage_id=entry.passage.id,
        heading=entry.passage.heading,
        quote=entry.passage.text if quote is None else quote,
        score=round(hit.score, 4),
    )


def build_index(documents: list[Document], speech: Speech) -> PassageIndex:
    entries = [Entry(d.id, d.title, p) for d in documents for p in d.passages]
    return PassageIndex(entries, speech)


class LocalProvider:
    def __init__(self, store: DocsStore, min_confidence: float):
        """min_confidence: WECARE_AI_MIN_CONFIDENCE (0.32, chosen on the fixture: tests/ai/test_kb_fixture.py)."""
        self._store = store
        self._min_confidence = min_confidence
        self._speech = Speech()
        self._index: PassageIndex | None = None
        self._revision: int | None = None
        self._lock = asyncio.Lock()

    async def index(self) -> PassageIndex:
        revision = await self._store.revision()
        if self._index is not None and revision == self._revision:
            return self._index
        async with self._lock:
            if self._index is None or revision != self._revision:
                started = time.perf_counter()
                documents = await self._store.all_documents()
                self._index = await asyncio.to_thread(build_index, documents, self._speech)
                self._revision = revision
                log.info(
                    "knowledge base indexed",
                    extra={
                        "revision": revision,
                        "passages": len(self._index),
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
        return self._index

    async def answer(self, question: Question) -> Answer:
        index = await self.index()
        return await asyncio.to_thread(self._answer, index, question)

    def _answer(self, index: PassageIndex, question: Question) -> Answer:
        terms = index.understand(question.text)
        if len(terms.stems) + len(terms.unknown) < MIN_TOPIC_WORDS and question.earlier:
            terms = terms.following(index.understand(question.earlier[-1]))
        hits = index.search(terms, k=max(question.max_passages, 3))
        passages = tuple(citation(h) for h in hits[: question.max_passages])
        confidence = round(hits[0].coverage, 4) if hits else 0.0
        if confidence < self._min_confidence:
            return Answer(DONT_KNOW, False, confidence, (), passages)
        found = extract(index, terms, hits)
        if not found.text:
            return Answer(DONT_KNOW, False, confidence, (), passages)
        return Answer(found.text, True, confidence, tuple(citation(h) for h in found.sources), passages)

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyStart | ReplyPiece | ReplyEnd]:
        latest = request.conversation.latest_from_contact()
        asked = " ".join(m.text for m in latest)
        question = " ".join(part for part in (asked, request.guidance) if part)
        # A short follow-up ("and for family?") is read with what the contact asked before it.
        before = tuple(
            m.text for m in request.conversation.messages if m.direction is Direction.INBOUND and m not in latest
        )
        answer = await self.answer(Question(question, before[-1:]))
        name = request.contact.display_name.split()[0] if request.contact.display_name.split() else "there"
        body = answer.text if answer.answered else NOT_FOUND_REPLY
        yield ReplyStart(answer.citations)
        for piece in PIECE.findall(f"Hi {name}, {body}"):
            yield ReplyPiece(piece)
        yield ReplyEnd(answer.citations, answer.confidence, answer.answered)

    async def ping(self) -> None:
        await self._store.revision()

    async def close(self) -> None:
        """Nothing of its own to release: the store is closed by its owner."""
