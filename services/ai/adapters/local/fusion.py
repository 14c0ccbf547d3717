"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009): rankings from different retrievers are
merged by rank alone, each item scoring the sum of 1 / (K + rank) over the rankings it appears in. Ranks, not
scores, so that BM25 scores and cosines need no common scale."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = 60  # the paper's constant: the top ranks of each list count, but no single list decides alone

T = TypeVar("T", bound=Hashable)


def fuse(rankings: Sequence[Sequence[T]], k: int = K) -> list[tuple[T, float]]:
    """The items of all rankings (each best first), best fused first; ties keep the order of first appearance."""
    scores: dict[T, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
