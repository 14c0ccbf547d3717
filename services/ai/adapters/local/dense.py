"""The local provider's meaning side: every sentence of the knowledge base as a vector from a small sentence
encoder (minilm.py: all-MiniLM-L6-v2), so that a question finds the sentence that says what it asks even in
other words.

A passage is as close to a question as its closest sentence. Each sentence is encoded with its passage's
heading before it ("Full Thali: It costs ₹3,200 per month ..."): the heading says what "it" is. That costs a
fifth more encoding than the sentences alone, which scored the same on the development half but lost such
sentences (tests/ai/test_ai_service.py's thali question). Encoding is the costly part of an index build (about
0.13 ms of CPU a word piece with the int8 encoder), so a passage's vectors are computed once: kept in memory by
passage id (a hash of its heading and text) and stored in DocsTable beside the documents, so that neither an
edit elsewhere nor a restart encodes them again (PassageVectors)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.ai.adapters.local.text import content_text, sentences
from services.ai.adapters.store import DocsStore
from services.ai.domain.documents import Passage

log = logging.getLogger("wecare.ai.local")

SHORTLIST = 256  # passages whose sentences are compared one by one with a question (SentenceIndex)
UNITS = "sentences-after-heading/2"  # what is encoded: part of the key of stored vectors
STORED = np.float16  # stored vectors: half the bytes, cosines unchanged to 1e-3


class Encoder(Protocol):
    key: str  # names the model: vectors stored under another key are not reused

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


@functools.cache
def one_blas_thread() -> None:
    """numpy's BLAS on one thread, process-wide. A question's products are small (a 10,000 x 384 matrix by a
    vector) and the service answers many at once, each on a worker thread: BLAS threads only wait on each other
    (measured at 10,000 passages: 4.3 ms of CPU a question's centroid product on two threads, 0.7 on one)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@functools.cache
def shared_encoder() -> Encoder:
    """One encoder a process (loading reads 90 MB of weights and builds the graph: 2-4 s)."""
    from services.ai.adapters.local.minilm import MiniLmEncoder

    return MiniLmEncoder()


@dataclass(frozen=True)
class Unit:
    """One sentence of one passage, as the encoder sees it."""

    passage: int  # index of the passage in the index's entries
    sentence: str  # as the passage says it (quoted in answers)
    text: str  # as encoded: heading, then the sentence


def passage_units(passage: Passage, position: int = 0) -> list[Unit]:
    return [
        Unit(position, sentence, f"{passage.heading}: {sentence}") for sentence in sentences(content_text(passage.text))
    ]


def to_bytes(vectors: np.ndarray) -> bytes:
    return np.ascontiguousarray(vectors, dtype=STORED).tobytes()


def from_bytes(blob: bytes, rows: int, dimensions: int) -> np.ndarray | None:
    """The stored vectors, or None when they are not `rows` vectors of this size (another encoding)."""
    if len(blob) != rows * dimensions * np.dtype(STORED).itemsize:
        return None
    return np.frombuffer(blob, dtype=STORED).reshape(rows, dimensions).astype(np.float32)


class PassageVectors:
    """The vectors of every passage's units by passage id: kept in memory between index builds, and stored in
    DocsTable under the encoder's key, so that a restart, or another replica, reads them instead of encoding.

    A passage that is edited gets a new id (its id hashes its heading and text), so stored vectors never go
    stale; the vectors of passages gone from the knowledge base are deleted from the store by the build that
    notices (a replica's first build looks at everything stored). Two replicas that encode the same passage
    store the same vectors; one that deletes vectors another has just stored for a passage it has not seen yet
    costs that passage one encoding at the next restart, nothing else."""

    def __init__(self, encoder: Encoder, store: DocsStore, dimensions: int):
        self.encoder = encoder
        self._store = store
        self._dimensions = dimensions
        self._key = f"{encoder.key}/{UNITS}"
        self._memory: dict[str, np.ndarray] = {}
        self._pruned_store = False
        self.encoded = 0  # units encoded by this process (the rest came from memory or the store)

    async def of(self, passages: Sequence[Passage]) -> list[np.ndarray]:
        """Each passage's unit vectors (rows in the order of passage_units), encoding only what no one has."""
        units = {p.id: [u.text for u in passage_units(p)] for p in passages}
        missing = [pid for pid in units if pid not in self._memory]
        if missing:
            stored = await self._store.passage_vectors(self._key, missing)
            for pid, blob in stored.items():
                found = from_bytes(blob, len(units[pid]), self._dimensions)
                if found is not None:
                    self._memory[pid] = found
            missing = [pid for pid in missing if pid not in self._memory]
        if missing:
            texts = [t for pid in missing for t in units[pid]]
            began = time.perf_counter()
            matrix = await asyncio.to_thread(self.encoder.encode, texts)
            self.encoded += len(texts)
            log.info(
                "passages encoded",
                extra={
                    "passages": len(missing),
                    "units": len(texts),
                    "ms": round((time.perf_counter() - began) * 1000),
                },
            )
            made: dict[str, bytes] = {}
            start = 0
            for pid in missing:
                rows = matrix[start : start + len(units[pid])]
                start += len(units[pid])
                self._memory[pid] = rows
                made[pid] = to_bytes(rows)
            await self._store.put_passage_vectors(self._key, made)
        gone = [pid for pid in self._memory if pid not in units]
        for pid in gone:
            del self._memory[pid]
        if not self._pruned_store:
            gone = [pid for pid in await self._store.passage_vector_ids(self._key) if pid not in units]
            self._pruned_store = True
        if gone:
            await self._store.delete_passage_vectors(self._key, gone)
        return [self._memory[p.id] for p in passages]


class SentenceIndex:
    """The sentences' vectors, passage by passage. In a base of more than SHORTLIST passages a question is first
    compared with each passage's centroid (the mean of its sentences), and only the SHORTLIST nearest passages'
    sentences one by one: a tenth of the memory read per question at 10,000 passages."""

    def __init__(self, passages: Sequence[Passage], vectors: Sequence[np.ndarray], dimensions: int):
        self.units = [u for i, p in enumerate(passages) for u in passage_units(p, i)]
        self._passages = len(passages)
        self._matrix = (
            np.concatenate(list(vectors)).astype(np.float32, copy=False)
            if self.units
            else np.zeros((0, dimensions), dtype=np.float32)
        )
        if len(self._matrix) != len(self.units):
            raise ValueError(f"{len(self._matrix)} vectors for {len(self.units)} sentences")
        # units come passage by passage: passage p's are units[starts[p]:starts[p + 1]]
        owner = np.array([u.passage for u in self.units], dtype=np.int64)
        self._starts = np.searchsorted(owner, np.arange(len(passages) + 1))
        self._has = self._starts[1:] > self._starts[:-1]
        self._centroids = np.zeros((len(passages), dimensions), dtype=np.float32)
        if self.units:
            sums = np.add.reduceat(self._matrix, self._starts[:-1][self._has], axis=0)
            self._centroids[self._has] = sums / np.linalg.norm(sums, axis=1, keepdims=True)

    def __len__(self) -> int:
        return len(self.units)

    def of_passage(self, passage: int) -> range:
        """The indexes of the passage's units."""
        return range(int(self._starts[passage]), int(self._starts[passage + 1]))

    def similarity(self, vector: np.ndarray, unit: int) -> float:
        """The cosine of one sentence to the question (vectors are normalised)."""
        return float(self._matrix[unit] @ vector)

    def closest(self, vector: np.ndarray) -> np.ndarray:
        """Each passage's closest sentence to the question: -1 for a passage with no sentence of its own, or
        one left off the shortlist."""
        best = np.full(self._passages, -1.0, dtype=np.float32)
        if not self.units:
            return best
        if self._passages <= SHORTLIST:
            best[self._has] = np.maximum.reduceat(self._matrix @ vector, self._starts[:-1][self._has])
            return best
        near = np.argpartition(-(self._centroids @ vector), SHORTLIST - 1)[:SHORTLIST]
        near = np.sort(near[self._has[near]])
        lengths = self._starts[near + 1] - self._starts[near]
        rows = np.repeat(self._starts[near] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        segments = np.cumsum(lengths) - lengths
        best[near] = np.maximum.reduceat(self._matrix[rows] @ vector, segments)
        return best
