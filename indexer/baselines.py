"""Baseline expert rankers that any competitor could ship; the targets AskHub must beat.

Every ranker has ``rank(query, exclude, k) -> list[str]``: at most k person ids, best first,
never one in ``exclude``. The BM25 rankers return people in popularity order (most indexed
documents first, ties by id) when the query has no indexed term, e.g. empty or stopwords
only: that is what a shipped product would show rather than nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import bm25s  # type: ignore[import-untyped, unused-ignore]
import numpy as np
import Stemmer  # type: ignore[import-not-found, unused-ignore]
from numpy.typing import NDArray

POST_DEPTH = 1000
_STOPWORDS = "en"


def _take(ordered: Iterable[str], exclude: AbstractSet[str], k: int) -> list[str]:
    ranked: list[str] = []
    if k < 1:
        return ranked
    for person in ordered:
        if person not in exclude:
            ranked.append(person)
            if len(ranked) == k:
                break
    return ranked


def _by_count(counts: Mapping[str, int], people: Iterable[str]) -> list[str]:
    return sorted(people, key=lambda person: (-counts.get(person, 0), person))


class _BM25Index:
    """bm25s (Lucene BM25, English stopwords, Snowball English stemmer) over a fixed corpus."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._retriever: Any = None
        tokens = bm25s.tokenize(
            list(texts), stopwords=_STOPWORDS, stemmer=self._stemmer, show_progress=False
        )
        # bm25s cannot index a corpus without a single term; such an index matches nothing.
        if tokens.vocab:
            self._retriever = bm25s.BM25(method="lucene")
            self._retriever.index(tokens, show_progress=False)

    def scores(self, query: str) -> NDArray[np.float64] | None:
        """Score of every document, or None when the query has no term in the index."""
        if self._retriever is None:
            return None
        terms = bm25s.tokenize(
            query,
            stopwords=_STOPWORDS,
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=False,
        )[0]
        term_ids: list[int] = self._retriever.get_tokens_ids(terms)
        if not term_ids:
            return None
        return np.asarray(self._retriever.get_scores_from_ids(term_ids), dtype=np.float64)


class RandomBaseline:
    """Uniformly random order; each call draws a fresh permutation from one seeded generator."""

    def __init__(self, candidates: Sequence[str], seed: int = 0) -> None:
        self._candidates = list(dict.fromkeys(candidates))
        self._rng = np.random.default_rng(seed)

    def rank(self, query: str, exclude: AbstractSet[str], k: int = 100) -> list[str]:
        order = self._rng.permutation(len(self._candidates))
        return _take((self._candidates[int(i)] for i in order), exclude, k)


class PopularityBaseline:
    """Most history answers first, ties by id; the query is ignored."""

    def __init__(self, answer_counts: Mapping[str, int], candidates: Iterable[str]) -> None:
        self._order = _by_count(answer_counts, set(candidates))

    def rank(self, query: str, exclude: AbstractSet[str], k: int = 100) -> list[str]:
        return _take(self._order, exclude, k)


class BM25PostsBaseline:
    """BM25 over individual posts; a person scores as their best post among the top 1000.

    Max over a person's documents is the usual "document model lite" expert-finding baseline:
    one strongly matching post is the evidence, without summing over prolific authors.
    """

    def __init__(self, docs: Sequence[tuple[str, str]]) -> None:
        self._owners = [owner for owner, _ in docs]
        self._index = _BM25Index([text for _, text in docs])
        self._popular = _by_count(Counter(self._owners), set(self._owners))

    def rank(self, query: str, exclude: AbstractSet[str], k: int = 100) -> list[str]:
        scores = self._index.scores(query)
        if scores is None:
            return _take(self._popular, exclude, k)
        # Stable sort keeps document order among equal scores, so results are deterministic.
        top = np.argsort(-scores, kind="stable")[:POST_DEPTH]
        best: dict[str, float] = {}
        for doc in top:
            score = float(scores[doc])
            if score <= 0.0:
                break
            owner = self._owners[int(doc)]
            best[owner] = max(best.get(owner, 0.0), score)
        return _take(sorted(best, key=lambda person: (-best[person], person)), exclude, k)


class BM25ProfileBaseline:
    """BM25 over one profile document per person: all their texts concatenated."""

    def __init__(self, docs: Sequence[tuple[str, str]]) -> None:
        texts: dict[str, list[str]] = {}
        for owner, text in docs:
            texts.setdefault(owner, []).append(text)
        self._people = list(texts)
        self._index = _BM25Index(["\n".join(parts) for parts in texts.values()])
        self._popular = _by_count({p: len(t) for p, t in texts.items()}, self._people)

    def rank(self, query: str, exclude: AbstractSet[str], k: int = 100) -> list[str]:
        scores = self._index.scores(query)
        if scores is None:
            return _take(self._popular, exclude, k)
        matched = [(float(scores[i]), person) for i, person in enumerate(self._people)]
        ordered = sorted((item for item in matched if item[0] > 0.0), key=lambda x: (-x[0], x[1]))
        return _take((person for _, person in ordered), exclude, k)
