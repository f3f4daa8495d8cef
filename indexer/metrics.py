"""Ranking metrics for routing evaluation: a ranking is a list of person ids, best first."""

from __future__ import annotations

import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet


def _check_depth(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def hit_at(ranking: Sequence[str], relevant: AbstractSet[str], k: int) -> float:
    """1.0 if any relevant id is in the top k, else 0.0."""
    _check_depth("k", k)
    return 1.0 if any(item in relevant for item in ranking[:k]) else 0.0


def reciprocal_rank(ranking: Sequence[str], relevant: AbstractSet[str], cutoff: int = 100) -> float:
    """1/rank of the first relevant id within the top ``cutoff``, else 0.0."""
    _check_depth("cutoff", cutoff)
    for rank, item in enumerate(ranking[:cutoff], start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranking: Sequence[str], relevant: AbstractSet[str], k: int = 10) -> float:
    """Binary-gain nDCG@k with a log2(rank + 1) discount; 0.0 when nothing is relevant."""
    _check_depth("k", k)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    if ideal == 0.0:
        return 0.0
    # A repeated id earns its gain once, so a ranking with duplicates cannot exceed 1.0.
    seen: set[str] = set()
    dcg = 0.0
    for rank, item in enumerate(ranking[:k], start=1):
        if item in relevant and item not in seen:
            seen.add(item)
            dcg += 1.0 / math.log2(rank + 1)
    return dcg / ideal


def summarise(
    rankings: Sequence[Sequence[str]], relevants: Sequence[AbstractSet[str]]
) -> dict[str, float]:
    """Mean hit@1/5/10, MRR (cutoff 100) and nDCG@10 over questions, plus the question count."""
    if len(rankings) != len(relevants):
        raise ValueError(f"{len(rankings)} rankings but {len(relevants)} relevant sets")
    if not rankings:
        raise ValueError("no questions to summarise")
    n = len(rankings)
    pairs = list(zip(rankings, relevants, strict=True))
    return {
        "hit@1": sum(hit_at(r, rel, 1) for r, rel in pairs) / n,
        "hit@5": sum(hit_at(r, rel, 5) for r, rel in pairs) / n,
        "hit@10": sum(hit_at(r, rel, 10) for r, rel in pairs) / n,
        "mrr": sum(reciprocal_rank(r, rel) for r, rel in pairs) / n,
        "ndcg@10": sum(ndcg_at(r, rel, 10) for r, rel in pairs) / n,
        "questions": float(n),
    }
