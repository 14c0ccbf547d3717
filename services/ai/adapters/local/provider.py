"""The local provider (embedded default): hybrid retrieval over the documents in DocsTable (knowledge.py: BM25
beside sentence vectors from a model shipped in a package, merged by rank fusion); nothing is downloaded.

Answers are extracted from the best passages and cited; a question the knowledge base does not cover well
enough (confidence below the threshold) gets "I don't know", with the nearest passages offered, rather than
a guess. Suggested replies are
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
from services.ai.adapters.local.dense import Encoder, PassageVectors, one_blas_thread, shared_encoder
from services.ai.adapters.local.knowledge import DIMENSIONS, KnowledgeIndex
from services.ai.adapters.local.lexical import Entry
from services.ai.adapters.local.speech import Speech
from services.ai.adapters.provider import ReplyRequest
from services.ai.adapters.store import DocsStore
from services.ai.domain.answers import Answer, Citation, Question, ReplyEnd, ReplyPiece, ReplyStart, dont_know
from services.ai.domain.conversations import Direction
from services.ai.domain.documents import Document

log = logging.getLogger("wecare.ai.local")

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


def entries_of(documents: list[Document]) -> list[Entry]:
    return [Entry(d.id, d.title, p) for d in documents for p in d.passages]


class LocalProvider:
    def __init__(self, store: DocsStore, min_confidence: float, encoder: Encoder | None = None):
        """min_confidence: WECARE_AI_MIN_CONFIDENCE (chosen on the development half of tests/fixtures/kb by
        bench/ai_eval.py). encoder: the sentence encoder (default: the shipped model, one a process)."""
        one_blas_thread()
        self._store = store
        self._min_confidence = min_confidence
        self._speech = Speech()
        self._encoder = encoder
        self._vectors: PassageVectors | None = None  # the encoder is loaded with the first index build
        self._index: KnowledgeIndex | None = None
        self._revision: int | None = None
        self._lock = asyncio.Lock()

    async def index(self) -> KnowledgeIndex:
        revision = await self._store.revision()
        if self._index is not None and revision == self._revision:
            return self._index
        async with self._lock:
            if self._index is None or revision != self._revision:
                started = time.perf_counter()
                if self._vectors is None:
                    encoder = self._encoder or await asyncio.to_thread(shared_encoder)
                    self._vectors = PassageVectors(encoder, self._store, DIMENSIONS)
                entries = entries_of(await self._store.all_documents())
                encoded = self._vectors.encoded
                vectors = await self._vectors.of([e.passage for e in entries])
                self._index = await asyncio.to_thread(
                    KnowledgeIndex, entries, self._speech, self._vectors.encoder, vectors
                )
                self._revision = revision
                log.info(
                    "knowledge base indexed",
                    extra={
                        "revision": revision,
                        "passages": len(self._index),
                        "sentences": len(self._index.dense),
                        "encoded": self._vectors.encoded - encoded,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
        return self._index

    async def answer(self, question: Question) -> Answer:
        index = await self.index()
        return await asyncio.to_thread(self._answer, index, question)

    def _answer(self, index: KnowledgeIndex, question: Question) -> Answer:
        earlier = question.earlier[-1] if question.earlier else ""
        found = index.search(question.text, earlier, k=max(question.max_passages, 3))
        passages = tuple(citation(h) for h in found.hits[: question.max_passages])
        quoted = extract(index, found, self._min_confidence)
        confidence = quoted.confidence
        if not quoted.text or confidence < self._min_confidence:
            return Answer(dont_know(passages), False, confidence, (), passages)
        return Answer(quoted.text, True, confidence, tuple(citation(h) for h in quoted.sources), passages)

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

    async def start(self) -> None:
        """Builds the index when the process starts, so that the first question does not wait for it."""
        try:
            await self.index()
        except Exception:  # a store not reachable yet: the first question builds it (and reports the fault)
            log.exception("knowledge base not indexed at start; the first question will try again")

    async def ping(self) -> None:
        await self._store.revision()

    async def close(self) -> None:
        """Nothing of its own to release: the store is closed by its owner."""
