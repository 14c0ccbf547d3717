"""The local provider's retrieval: the word side (lexical.PassageIndex, BM25 over stems, typos corrected) and
the meaning side (dense.SentenceIndex, sentence vectors) rank the passages each on its own, and reciprocal rank
fusion merges the rankings. Words find exact names, numbers and rare terms; meaning finds the passage that a
question describes in other words ("watchman" for "security desk", "put on hold" for "pause").

A question that asks two things ("can i pay by card? and will i get a gst bill") is also read part by part,
so that the answer can quote what answers each part (answers.py); the ranking is the whole question's (fusing
the parts' rankings too cost recall on the development half)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.ai.adapters.local.dense import Encoder, SentenceIndex
from services.ai.adapters.local.fusion import fuse
from services.ai.adapters.local.lexical import Entry, PassageIndex, QueryTerms, Scored
from services.ai.adapters.local.speech import Speech

DIMENSIONS = 384  # the encoder's
DEPTH = 50  # how far down each ranking goes into the fusion
MIN_TOPIC_WORDS = 2  # a shorter question is read together with the person's previous one (a follow-up)
PART = re.compile(r"[?!.;]+\s*|\s+(?:and|also|aur|plus)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float  # fused
    similarity: float  # the cosine of its closest sentence to the question
    coverage: float  # the share of the question's word weight it contains


@dataclass(frozen=True)
class Reading:
    """The question, or one part of it, as both sides read it."""

    terms: QueryTerms
    lexical: Scored
    vector: np.ndarray  # as the sentence encoder reads it

    @property
    def foreign(self) -> float:
        """The share of its weight in words the knowledge base never uses, even allowing for typos (weighed by
        their rarity in English: "thyroid" weighs, "tomorrow" hardly)."""
        if not self.lexical.total:
            return 0.0
        return float(self.lexical.total - self.lexical.weights.sum()) / self.lexical.total


@dataclass(frozen=True)
class Found:
    """What retrieval found for one question: the best passages, and the question read whole and by parts."""

    hits: list[Hit]
    passage_of: list[int]  # each hit's index in the index's entries
    whole: Reading
    parts: list[Reading]  # empty unless the question asks several things


class KnowledgeIndex:
    def __init__(self, entries: Sequence[Entry], speech: Speech, encoder: Encoder, vectors: Sequence[np.ndarray]):
        """vectors: each entry's sentence vectors (dense.PassageVectors)."""
        self.entries = list(entries)
        self.speech = speech
        self.encoder = encoder
        self.lexical = PassageIndex(self.entries, speech)
        self.dense = SentenceIndex([e.passage for e in self.entries], vectors, DIMENSIONS)
        # The stems of every sentence and heading: which of a question's words a sentence says (answers.py).
        self._said = [frozenset(speech.terms(u.sentence)) for u in self.dense.units]
        self._headings = [frozenset(speech.terms(e.passage.heading)) for e in self.entries]

    def sentence_stems(self, unit: int) -> tuple[frozenset[str], frozenset[str]]:
        """The stems of a sentence, and of its passage's heading."""
        return self._said[unit], self._headings[self.dense.units[unit].passage]

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, question: str, earlier: str = "", k: int = 5) -> Found:
        """The k best passages for the question. A question of fewer than MIN_TOPIC_WORDS topic words is read
        as a follow-up of `earlier` (the person's previous question), its own words counting first."""
        terms = self.lexical.understand(question)
        asked = question
        if earlier and len(terms.stems) + len(terms.unknown) < MIN_TOPIC_WORDS:
            terms = terms.following(self.lexical.understand(earlier))
            asked = f"{earlier} {question}"
        parts = [(p, t) for p in PART.split(asked) if (t := self.lexical.understand(p)).stems or t.unknown]
        if len(parts) < 2:
            parts = []
        fixes = {typed: word for typed, word in terms.corrected if self.lexical.uses(word)}  # words, not stems
        vectors = self.encoder.encode([self.plain(asked, fixes)] + [self.plain(p, fixes) for p, _ in parts])
        whole, *readings = [
            Reading(t, self.lexical.score(t), v) for t, v in zip([terms] + [t for _, t in parts], vectors, strict=True)
        ]
        closest = self.dense.closest(whole.vector)
        by_meaning = [int(i) for i in np.argsort(-closest, kind="stable")[:DEPTH] if closest[i] > -1]
        fused = fuse([whole.lexical.ranking(DEPTH), by_meaning])[:k]
        hits = [Hit(self.entries[i], score, float(closest[i]), whole.lexical.coverage(i)) for i, score in fused]
        return Found(hits, [i for i, _ in fused], whole, readings)

    def plain(self, text: str, fixes: dict[str, str] | None = None) -> str:
        """The question as the encoder reads it: shorthand and Hinglish words in plain English, and the typing
        slips the word side corrected (`cancle` -> `cancel`) corrected for it too: a slip cuts a word into
        word pieces that mean nothing to the encoder."""
        fixes = fixes or {}
        return " ".join(fixes.get(w, w) for w in self.speech.words(text)) or text
