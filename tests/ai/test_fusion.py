"""Reciprocal rank fusion (services/ai/adapters/local/fusion.py): the local provider's merge of its word and
meaning rankings."""

from __future__ import annotations

import pytest

from services.ai.adapters.local.fusion import K, fuse


def test_each_item_scores_the_sum_of_one_over_k_plus_its_rank_in_each_ranking():
    fused = dict(fuse([["a", "b", "c"], ["c", "a"]]))
    assert fused["a"] == pytest.approx(1 / (K + 1) + 1 / (K + 2))
    assert fused["b"] == pytest.approx(1 / (K + 2))
    assert fused["c"] == pytest.approx(1 / (K + 3) + 1 / (K + 1))


def test_agreement_beats_one_rankings_favourite():
    # "x" is first for one side only; "y" is second for both: both sides agreeing wins.
    assert [item for item, _ in fuse([["x", "y", "z"], ["w", "y", "v"]])][:1] == ["y"]


def test_a_smaller_k_lets_a_first_place_count_for_more():
    rankings = [["x", "m", "n"], ["p", "q", "r", "s", "t", "x"]]
    assert fuse(rankings, k=60)[0][0] == "x"  # at rank 1 and 6: agreement
    assert fuse(rankings, k=1)[0][0] == "x"
    assert fuse([["x"], ["p", "x"]], k=1)[0] == ("x", pytest.approx(1 / 2 + 1 / 3))


def test_ties_keep_the_order_of_first_appearance_and_empty_rankings_add_nothing():
    assert [item for item, _ in fuse([["a", "b"], ["b", "a"]])] == ["a", "b"]
    assert fuse([[], []]) == []
    assert fuse([["a"], []]) == [("a", pytest.approx(1 / (K + 1)))]
