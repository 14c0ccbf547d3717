"""The local provider's word side: BM25 (the bm25s library) over every passage of the knowledge base.

A passage is indexed with its heading counted HEADING_WEIGHT times (a heading names what the passage is about)
and its text. Question words the knowledge base never uses are corrected to the nearest word it does use,
within a typo budget; words that stay unknown count against confidence, the more the rarer they are in English.

Confidence is the share of the question's weight (idf, and for unknown words their English rarity) that the
best passage contains: below WECARE_AI_MIN_CONFIDENCE the provider says it does not know."""

from __future__ import annotations

import bisect
import itertools
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from services.ai.adapters.local.speech import STOPWORDS, Speech, typo_budget
from services.ai.adapters.local.text import content_text
from services.ai.domain.documents import Passage

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG by default

HEADING_WEIGHT = 2  # a heading names its passage's subject (on the fixture, 1 to 3 rank alike)
MIN_SHARED_PREFIX = 6
CONTEXT_SHARE = 0.5
MAX_SUFFIX_DIFFERENCE = 3
RARITY_POWER = 2.0
UNKNOWN_WEIGHT = 1.0  # a word the knowledge base never uses weighs at most as much as the rarest word it uses


@dataclass(frozen=True)
class Entry:
    """One indexed passage and the document it belongs to."""

    document_id: str
    document_title: str
    passage: Passage


@dataclass(frozen=True)
class QueryTerms:
    stems: tuple[str, ...]  # the question's topic words, rewritten, corrected and stemmed, that the index knows
    unknown: tuple[str, ...]  # topic words the knowledge base never uses, even allowing for typos
    corrected: tuple[tuple[str, str], ...]  # (as typed, as understood)
    context: tuple[str, ...] = ()  # stems from the question before (a follow-up): they count CONTEXT_SHARE

    def share(self, stem: str) -> float:
        return CONTEXT_SHARE if stem in self.context else 1.0

    def following(self, earlier: QueryTerms) -> QueryTerms:
        """This question read as a follow-up of `earlier`: its own words first, the earlier ones after."""
        context = tuple(s for s in earlier.stems if s not in self.stems)
        return QueryTerms(self.stems + context, self.unknown, self.corrected, context)


@dataclass(frozen=True)
class Scored:
    """A question's BM25 scores over every passage, and which of its words each passage contains."""

    terms: QueryTerms
    scores: np.ndarray  # one a passage
    present: np.ndarray  # (question stems, passages): the stem occurs in the passage
    weights: np.ndarray  # each stem's weight in coverage
    total: float  # the question's whole weight: its stems' and its unknown words'

    def ranking(self, depth: int) -> list[int]:
        """The passages that contain any of the question's words, best first, at most `depth`."""
        if not len(self.scores):
            return []
        depth = min(depth, len(self.scores))
        top = np.argpartition(-self.scores, depth - 1)[:depth]
        top = top[np.argsort(-self.scores[top], kind="stable")]
        return [int(i) for i in top if self.scores[i] > 0]

    def coverage(self, passage: int) -> float:
        """The share of the question's weight that the passage contains (0..1)."""
        if not self.total or not len(self.weights):
            return 0.0
        return float(self.weights[self.present[:, passage]].sum() / self.total)


class PassageIndex:
    def __init__(self, entries: Sequence[Entry], speech: Speech | None = None, k1: float = 1.2, b: float = 0.75):
        self.entries = list(entries)
        self.speech = speech or Speech()
        corpus: list[list[str]] = []
        surface: Counter[str] = Counter()
        for entry in self.entries:
            heading = self.speech.words(entry.passage.heading)
            # A lead passage sits under the document's title, which names the whole document rather than it.
            weight = 1 if entry.passage.heading == entry.document_title else HEADING_WEIGHT
            body = self.speech.words(content_text(entry.passage.text))
            surface.update(w for w in heading + body if w not in STOPWORDS)
            # The document's title is left out: it would pull every passage of a document toward every
            # question about the document as a whole (measured on the fixture: it costs top-3 hits).
            terms = self.speech.terms(" ".join(heading)) * weight + self.speech.terms(" ".join(body))
            # A passage with nothing to quote (only sentences about the documents) answers nothing.
            corpus.append(terms if body else [""])
        self._surface = surface
        # The words by length: a typo within budget b is at most b letters longer or shorter than its word.
        self._by_length: dict[int, list[str]] = {}
        for word in surface:
            self._by_length.setdefault(len(word), []).append(word)
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        if self.entries:
            self._bm25.index(corpus, show_progress=False)
        self._vocab: dict[str, int] = {t: i for t, i in getattr(self._bm25, "vocab_dict", {}).items() if t}
        self._sorted_stems = sorted(self._vocab)
        n = len(self.entries)
        doc_freq = Counter(t for terms in corpus for t in set(terms))
        # Robertson-Sparck Jones idf, floored: also the weight of a topic word in the coverage measure.
        self._idf = {t: max(0.1, math.log((n - df + 0.5) / (df + 0.5) + 1)) for t, df in doc_freq.items()}
        self.unknown_idf = math.log((n + 0.5) / 0.5 + 1) if n else 1.0

    def __len__(self) -> int:
        return len(self.entries)

    def uses(self, word: str) -> bool:
        """Whether the knowledge base uses the word as it is written (not only its stem)."""
        return word in self._surface

    def idf(self, stem: str) -> float:
        return self._idf.get(stem, self.unknown_idf)

    def weight(self, stem: str) -> float:
        """A question word's share in the confidence measure: its idf; numbers are details, not topics."""
        return 0.0 if stem.isdigit() else self.idf(stem)

    def unknown_weight(self, word: str) -> float:
        """A word the knowledge base never uses weighs as much as the rarest indexed word when it is rare in
        English too (thyroid, referral: the question is about something else), and little when it is everyday
        English (tomorrow, people: the question is only phrased differently). A word that is no English word
        either (Hinglish, a name, a slip past the typo budget) is not judged: how rare it is cannot be told."""
        if word.isdigit() or not self.speech.is_english(word):
            return 0.0
        return UNKNOWN_WEIGHT * self.unknown_idf * self.speech.rarity(word) ** RARITY_POWER

    def understand(self, question: str) -> QueryTerms:
        stems: list[str] = []
        unknown: list[str] = []
        corrected: list[tuple[str, str]] = []
        for word in self.speech.words(question):
            if word in STOPWORDS:
                continue
            stem = self.speech.stem([word])[0]
            if stem in self._vocab:
                stems.append(stem)
                continue
            variant = self._variant(stem)
            if variant:  # psychiatrist ~ psychiatry, verified ~ verification
                corrected.append((word, variant))
                stems.append(variant)
                continue
            better = None if self.speech.is_english(word) else self._nearest(word)
            if better:  # a slip of the thumb: cancle -> cancel
                corrected.append((word, better))
                stems.append(self.speech.stem([better])[0])
            else:
                unknown.append(word)
        return QueryTerms(tuple(dict.fromkeys(stems)), tuple(dict.fromkeys(unknown)), tuple(corrected))

    def _variant(self, stem: str) -> str | None:
        """An indexed stem that is the same word in another form: one is a prefix of the other, sharing at
        least MIN_SHARED_PREFIX letters (Snowball leaves some families apart)."""
        if len(stem) < MIN_SHARED_PREFIX:
            return None
        shortest = max(MIN_SHARED_PREFIX, len(stem) - MAX_SUFFIX_DIFFERENCE)
        found = [stem[:n] for n in range(len(stem) - 1, shortest - 1, -1) if stem[:n] in self._vocab]
        start = bisect.bisect_left(self._sorted_stems, stem)
        for other in itertools.islice(self._sorted_stems, start, start + 50):
            if not other.startswith(stem):
                break
            if len(other) - len(stem) <= MAX_SUFFIX_DIFFERENCE:
                found.append(other)
        if not found:
            return None
        return min(found, key=lambda other: (abs(len(other) - len(stem)), other))

    def _nearest(self, word: str) -> str | None:
        budget = typo_budget(word)
        if not budget:
            return None
        near = [w for n in range(len(word) - budget, len(word) + budget + 1) for w in self._by_length.get(n, ())]
        found = process.extract(word, near, scorer=DamerauLevenshtein.distance, score_cutoff=budget, limit=5)
        if not found:
            return None
        # The closest first, then the word the knowledge base uses most.
        best = min(found, key=lambda f: (f[1], -self._surface[f[0]]))
        return best[0]

    def score(self, terms: QueryTerms) -> Scored:
        weights = np.array([self.weight(s) * terms.share(s) for s in terms.stems])
        total = float(weights.sum() + sum(self.unknown_weight(w) for w in terms.unknown))
        if not self.entries or not terms.stems:
            n = len(self.entries)
            return Scored(terms, np.zeros(n), np.zeros((0, n), dtype=bool), weights, total)
        shares = np.array([terms.share(s) for s in terms.stems])
        per_term = np.stack([self._bm25.get_scores_from_ids([self._vocab[s]]) for s in terms.stems])
        scores = (per_term * shares[:, None]).sum(axis=0)
        return Scored(terms, scores, per_term > 0, weights, total)
