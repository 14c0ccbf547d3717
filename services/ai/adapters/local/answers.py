"""Extractive answers: the sentences of the best passages that answer the question, quoted as they stand, in
the order the knowledge base has them, each passage quoted cited.

A sentence's score is its closeness to the question (the cosine of their vectors) plus LEXICAL_WEIGHT times the
share of the question's word weight it contains (its heading's words counting HEADING_SHARE). Among the
sentences of the best CANDIDATES passages the best is quoted, and others that score at least KEEP of it. The
sentence that follows the best one in its passage is quoted too when it scores at least NEXT_KEEP of it ("...
see a doctor first. Then tell us ... we keep a sample ... for 48 hours"): a passage's next sentence often
carries the detail. A question that asks several things also gets the best sentence for each part that is
itself confident enough, so that an answer drawn from two passages quotes, and cites, both. Sentences that
read as instructions to an assistant are never quoted.

Confidence is the quoted sentence's closeness less the share of the question in words the knowledge base never
uses: a question about something it does not mention is not answered from a passage that merely sounds alike."""

from __future__ import annotations

from dataclasses import dataclass

from services.ai.adapters.local.knowledge import Found, Hit, KnowledgeIndex, Reading
from services.ai.domain.guardrails import looks_like_instruction

CANDIDATES = 3  # passages whose sentences may be quoted
LEXICAL_WEIGHT = 0.5
HEADING_SHARE = 0.5
KEEP = 0.8
NEXT_KEEP = 0.6  # the sentence after the best one, in the same passage: often its detail (dev: 0.4-0.6 alike)
MAX_SENTENCES = 3
MAX_CHARS = 450


@dataclass(frozen=True)
class Extract:
    text: str
    sources: tuple[Hit, ...]  # the passages quoted, best first
    confidence: float


def extract(index: KnowledgeIndex, found: Found, min_confidence: float) -> Extract:
    units = index.dense.units
    candidates = [
        (rank, u)
        for rank, passage in enumerate(found.passage_of[:CANDIDATES])
        for u in index.dense.of_passage(passage)
        if not looks_like_instruction(units[u].sentence)
    ]
    if not candidates:
        return Extract("", (), 0.0)
    scored = _ranked(index, found.whole, candidates)
    best_score, best_rank, best_unit = scored[0]
    confidence = _confidence(index, found.whole, best_unit)
    chosen = {best_unit: best_rank}  # unit -> rank of its passage
    size = len(units[best_unit].sentence)
    for part in found.parts:  # each part's best sentence, when the part itself is answered well enough
        _, rank, u = _ranked(index, part, candidates)[0]
        if (
            u not in chosen
            and _confidence(index, part, u) >= min_confidence
            and size + len(units[u].sentence) <= MAX_CHARS
        ):
            chosen[u] = rank
            size += len(units[u].sentence)
    after = best_unit + 1  # the sentence that follows the best one, when it carries on (same passage)
    if after in index.dense.of_passage(units[best_unit].passage) and not looks_like_instruction(units[after].sentence):
        score_after = next((sc for sc, _, u in scored if u == after), 0.0)
        if score_after >= NEXT_KEEP * best_score and size + len(units[after].sentence) <= MAX_CHARS:
            chosen[after] = best_rank
            size += len(units[after].sentence)
    for score, rank, u in scored[1:]:
        if len(chosen) >= MAX_SENTENCES or score < KEEP * best_score:
            break
        if u not in chosen and size + len(units[u].sentence) <= MAX_CHARS:
            chosen[u] = rank
            size += len(units[u].sentence)
    ordered = sorted(chosen.items(), key=lambda item: (item[1], item[0]))
    ranks = sorted(set(chosen.values()))
    return Extract(
        " ".join(units[u].sentence for u, _ in ordered), tuple(found.hits[r] for r in ranks), round(confidence, 4)
    )


def _ranked(index: KnowledgeIndex, reading: Reading, candidates: list[tuple[int, int]]) -> list[tuple[float, int, int]]:
    """(score, rank of its passage, unit) for every candidate, best first."""
    scored = [(_score(index, reading, u), rank, u) for rank, u in candidates]
    return sorted(scored, key=lambda c: (-c[0], c[1], c[2]))


def _confidence(index: KnowledgeIndex, reading: Reading, unit: int) -> float:
    return max(0.0, index.dense.similarity(reading.vector, unit) - reading.foreign)


def _score(index: KnowledgeIndex, reading: Reading, u: int) -> float:
    said, heading = index.sentence_stems(u)
    total = reading.lexical.total
    share = 0.0
    if total:
        for stem, weight in zip(reading.terms.stems, reading.lexical.weights, strict=True):
            if stem in said:
                share += weight
            elif stem in heading:
                share += HEADING_SHARE * weight
        share /= total
    return index.dense.similarity(reading.vector, u) + LEXICAL_WEIGHT * share
