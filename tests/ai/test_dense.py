"""The local provider's meaning side (services/ai/adapters/local/dense.py, minilm.py): sentences as units, a
passage as close as its closest sentence, vectors encoded once (kept between index builds and stored in
DocsTable, so that a restart encodes nothing), and the shipped encoder itself."""

from __future__ import annotations

import numpy as np
import pytest

from services.ai.adapters.local import dense, minilm
from services.ai.adapters.local.dense import PassageVectors, SentenceIndex, shared_encoder
from services.ai.adapters.sqlite_store import SqliteDocsStore
from services.ai.domain.documents import Passage


class CountingEncoder:
    """Deterministic unit vectors; remembers what it was asked to encode."""

    key = "counting"

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


def index_of(passages, encoder=None) -> SentenceIndex:
    encoder = encoder or CountingEncoder()
    vectors = [encoder.encode([u.text for u in dense.passage_units(p)]) for p in passages]
    return SentenceIndex(passages, vectors, 8)


def test_sentences_are_units_with_their_heading_and_a_passage_is_its_best_sentence():
    index = index_of(PASSAGES)
    assert [u.text for u in index.units][:2] == [
        "Delivery: Delivery costs ₹40.",
        "Delivery: Orders above ₹500 ship free.",
    ]
    assert [list(index.of_passage(p)) for p in range(3)] == [[0, 1], [], [2, 3, 4]]
    question = index._matrix[3] * 0.6 + index._matrix[0] * 0.4
    sims = [index.similarity(question, u) for u in range(5)]
    assert index.closest(question).tolist() == pytest.approx([max(sims[:2]), -1.0, max(sims[2:])])


async def test_passages_are_encoded_once_kept_between_builds_and_stored_for_a_restart(tmp_path):
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    try:
        encoder = CountingEncoder()
        vectors = PassageVectors(encoder, store, 8)
        first = await vectors.of(PASSAGES)
        assert len(encoder.seen) == 5 and [len(v) for v in first] == [2, 0, 3]
        # An edited passage is a new passage (its id hashes its text): only it is encoded; the old one is forgotten.
        edited = Passage("4", "Hours", "We open at 10 AM. We close at 8 PM.")
        second = await vectors.of([*PASSAGES[:2], edited])
        assert encoder.seen[5:] == ["Hours: We open at 10 AM.", "Hours: We close at 8 PM."]
        assert second[0] is first[0]
        assert await store.passage_vector_ids(f"counting/{dense.UNITS}") == ["1", "2", "4"]

        # A restart (a new process: nothing in memory) reads the stored vectors and encodes nothing.
        restarted = CountingEncoder()
        again = await PassageVectors(restarted, store, 8).of([*PASSAGES[:2], edited])
        assert restarted.seen == []
        for got, had in zip(again, second, strict=True):
            assert got == pytest.approx(had, abs=1e-3)  # stored as float16
        # Another encoder's vectors are not reused.
        other = CountingEncoder()
        other.key = "other"
        await PassageVectors(other, store, 8).of(PASSAGES[:1])
        assert other.seen == ["Delivery: Delivery costs ₹40.", "Delivery: Orders above ₹500 ship free."]
    finally:
        await store.close()


async def test_a_restart_forgets_stored_vectors_of_passages_deleted_meanwhile(tmp_path):
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    try:
        await PassageVectors(CountingEncoder(), store, 8).of(PASSAGES)
        await PassageVectors(CountingEncoder(), store, 8).of(PASSAGES[:1])
        assert await store.passage_vector_ids(f"counting/{dense.UNITS}") == ["1"]
    finally:
        await store.close()


def test_the_encoder_graph_computes_what_the_model_computes():
    """The ONNX graph built from the package's weights against a plain numpy forward pass of the same weights."""
    encoder = minilm.MiniLmEncoder(int8=False)
    weights = minilm.read_safetensors(minilm.model_dir() / "model.safetensors")
    texts = ["Can I pause my tiffin for a week?", "We deliver in Kothrud and Baner."]
    ids = encoder.tokens(texts)
    width = max(len(i) for i in ids)
    padded = np.array([i + [0] * (width - len(i)) for i in ids])
    mask = np.array([[1] * len(i) + [0] * (width - len(i)) for i in ids])
    expected = minilm.reference_forward(weights, padded, mask)
    assert encoder.encode(texts) == pytest.approx(expected, abs=1e-4)
    # The int8 graph (the one the service runs) stays close: its vectors within cosine 0.98 of the float ones.
    assert (shared_encoder().encode(texts) * expected).sum(axis=1).min() > 0.98


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
    full = index_of(passages)
    question = full._matrix[10]  # passage 5's first sentence
    exact = full.closest(question)
    monkeypatch.setattr(dense, "SHORTLIST", 8)
    short = full.closest(question)
    kept = short > -1
    assert kept.sum() == 8 and kept[5] and short[5] == pytest.approx(1.0)
    assert short[kept] == pytest.approx(exact[kept])  # the shortlisted passages score exactly as without it
