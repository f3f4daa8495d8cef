"""Ranking metrics on hand-computed examples."""

from __future__ import annotations

import math

import pytest

from indexer.metrics import hit_at, ndcg_at, reciprocal_rank, summarise


def test_relevant_in_second_place() -> None:
    ranking, relevant = ["a", "b", "c"], {"b"}
    assert hit_at(ranking, relevant, 1) == 0.0
    assert hit_at(ranking, relevant, 2) == 1.0
    assert reciprocal_rank(ranking, relevant) == 0.5
    assert ndcg_at(ranking, relevant) == pytest.approx(1 / math.log2(3))


def test_nothing_relevant_found() -> None:
    assert hit_at(["a", "b"], {"z"}, 10) == 0.0
    assert reciprocal_rank(["a", "b"], {"z"}) == 0.0
    assert ndcg_at([], {"z"}) == 0.0
    assert ndcg_at(["a"], set()) == 0.0


def test_reciprocal_rank_stops_at_cutoff() -> None:
    ranking = [str(i) for i in range(200)]
    assert reciprocal_rank(ranking, {"99"}) == pytest.approx(1 / 100)
    assert reciprocal_rank(ranking, {"100"}) == 0.0
    assert reciprocal_rank(ranking, {"100"}, cutoff=101) == pytest.approx(1 / 101)


def test_ndcg_ideal_is_capped_at_k() -> None:
    relevant = {"a", "b", "c"}
    assert ndcg_at(["a", "b", "c", "x"], relevant) == pytest.approx(1.0)
    assert ndcg_at(["a", "x"], relevant, k=1) == pytest.approx(1.0)
    # Gains at ranks 1 and 3 over an ideal of three hits at ranks 1..3.
    dcg = 1 + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(["a", "x", "b"], relevant) == pytest.approx(dcg / ideal)


def test_ndcg_counts_a_repeated_id_once() -> None:
    assert ndcg_at(["a", "a"], {"a", "b"}) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        hit_at(["a"], {"a"}, 0)


def test_summarise_means_over_questions() -> None:
    summary = summarise([["a", "b", "c"], ["x", "y"]], [{"b"}, {"x"}])
    assert summary == {
        "hit@1": 0.5,
        "hit@5": 1.0,
        "hit@10": 1.0,
        "mrr": 0.75,
        "ndcg@10": pytest.approx((1 / math.log2(3) + 1) / 2),
        "questions": 2.0,
    }


def test_summarise_rejects_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="2 rankings but 1 relevant sets"):
        summarise([["a"], ["b"]], [{"a"}])
    with pytest.raises(ValueError, match="no questions"):
        summarise([], [])
