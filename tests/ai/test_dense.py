"""The local provider's meaning side (services/ai/adapters/local/dense.py): sentences as units, a passage as
close as its closest sentence, vectors reused between index builds, and the shipped encoder itself."""

from __future__ import annotations

import numpy as np
import pytest

from services.ai.adapters.local import dense
from services.ai.adapters.local.dense import SentenceIndex, VectorCache, shared_encoder
from services.ai.domain.documents import Passage


class CountingEncoder:
    """Deterministic unit vectors; remembers what it was asked to encode."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen += list(texts)
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=8) for t in texts]
        return np.array([r / np.linalg.norm(r) for r in rows], dtype=np.float32).reshape(len(texts), 8)


PASSAGES = [
    Passage("1", "Delivery", "Delivery costs ₹40. Orders above ₹500 ship free."),
    Passage("2", "Shop", "This page explains the shop."),  # nothing but navigation: no sentence to quote
    Passage("3", "Hours", "We open at 9 AM. We close at 8 PM. Tuesday is a holiday."),
]


def test_sentences_are_units_with_their_heading_and_a_passage_is_its_best_sentence():
    index = SentenceIndex(PASSAGES, VectorCache(CountingEncoder()))
    assert [u.text for u in index.units][:2] == [
        "Delivery: Delivery costs ₹40.",
        "Delivery: Orders above ₹500 ship free.",
    ]
    assert [list(index.of_passage(p)) for p in range(3)] == [[0, 1], [], [2, 3, 4]]
    question = index._matrix[3] * 0.6 + index._matrix[0] * 0.4
    sims = [index.similarity(question, u) for u in range(5)]
    assert index.closest(question).tolist() == pytest.approx([max(sims[:2]), -1.0, max(sims[2:])])


def test_an_index_build_encodes_only_sentences_it_has_not_seen():
    encoder = CountingEncoder()
    cache = VectorCache(encoder)
    SentenceIndex(PASSAGES, cache)
    assert len(encoder.seen) == 5
    changed = [*PASSAGES[:2], Passage("3", "Hours", "We open at 10 AM. We close at 8 PM. Tuesday is a holiday.")]
    SentenceIndex(changed, cache)
    assert encoder.seen[5:] == ["Hours: We open at 10 AM."]


def test_the_shipped_encoder_puts_a_question_nearer_its_answer_than_an_unrelated_sentence():
    encoder = shared_encoder()  # all-MiniLM-L6-v2 from the installed packages, offline
    question, answer, other = encoder.encode(
        [
            "can i put my tiffin on hold while i travel",
            "You can pause a monthly plan for 5 to 30 days.",
            "We use RO water.",
        ]
    )
    assert question.shape == (384,) and abs(float(np.linalg.norm(question)) - 1) < 1e-5
    assert float(question @ answer) > float(question @ other) + 0.1
    assert encoder.encode([]).shape == (0, 384)


def test_a_large_base_compares_only_the_shortlisted_passages_sentences(monkeypatch):
    passages = [Passage(str(i), f"Topic {i}", f"Sentence {i} one. Sentence {i} two.") for i in range(40)]
    full = SentenceIndex(passages, VectorCache(CountingEncoder()))
    question = full._matrix[10]  # passage 5's first sentence
    exact = full.closest(question)
    monkeypatch.setattr(dense, "SHORTLIST", 8)
    short = full.closest(question)
    kept = short > -1
    assert kept.sum() == 8 and kept[5] and short[5] == pytest.approx(1.0)
    assert short[kept] == pytest.approx(exact[kept])  # the shortlisted passages score exactly as without it
