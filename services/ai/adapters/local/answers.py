"""Extractive answers: the sentences of the best passages that say most about the question, quoted as they
stand, in the order the knowledge base has them.

Candidate passages are those scoring at least CANDIDATE_RATIO of the best; a sentence scores the weight of
the question's words it contains (the words of its passage's heading count half: a sentence under
"Rescheduling" is about rescheduling), scaled by its passage's score. Sentences about the document itself
("This page explains ...") and sentences that read as instructions to an assistant are never quoted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ai.adapters.local.index import Hit, PassageIndex, QueryTerms, content_text
from services.ai.domain.guardrails import looks_like_instruction

CANDIDATE_RATIO = 0.6
MAX_SENTENCES = 3
MAX_CHARS = 450
HEADING_SHARE = 0.5
SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9₹\"'(])")
ABBREVIATION = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|No|vs|etc|e\.g|i\.e|approx)\.$", re.IGNORECASE)


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*+> \t").strip()
        if not line:
            continue
        pending = ""
        for part in SPLIT.split(line):
            pending = f"{pending} {part}" if pending else part
            if ABBREVIATION.search(pending):
                continue  # "Ms. Kavita Menon": not the end of a sentence
            out.append(pending)
            pending = ""
        if pending:
            out.append(pending)
    return out


@dataclass(frozen=True)
class Extract:
    text: str
    sources: tuple[Hit, ...]  # the passages quoted, best first


def extract(index: PassageIndex, terms: QueryTerms, hits: list[Hit]) -> Extract:
    if not hits:
        return Extract("", ())
    best = hits[0].score
    weight = {s: index.weight(s) for s in terms.stems}
    candidates: list[tuple[float, int, int, str]] = []
    for rank, hit in enumerate(hits):
        if hit.score < CANDIDATE_RATIO * best:
            break
        heading = set(index.speech.terms(hit.entry.passage.heading))
        for position, sentence in enumerate(sentences(content_text(hit.entry.passage.text))):
            if looks_like_instruction(sentence):
                continue
            said = set(index.speech.terms(sentence))
            score = sum(w for s, w in weight.items() if s in said)
            score += HEADING_SHARE * sum(w for s, w in weight.items() if s in heading)
            candidates.append((score * hit.score / best, rank, position, sentence))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    chosen: list[tuple[int, int, str]] = []
    size = 0
    for _, rank, position, sentence in candidates:
        if chosen and size + len(sentence) > MAX_CHARS:
            continue
        chosen.append((rank, position, sentence))
        size += len(sentence)
        if len(chosen) == MAX_SENTENCES:
            break
    chosen.sort()
    used = sorted({rank for rank, _, _ in chosen})
    return Extract(" ".join(s for _, _, s in chosen), tuple(hits[r] for r in used))
