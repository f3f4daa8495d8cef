"""Lexical BM25 over documents: where rare words, names and product codes are found.

Embeddings blur "staalbouw" or "Nova1 Connect" into their neighbours; BM25 matches them
exactly. bm25s builds a sparse matrix, so it is rebuilt (lazily, on the next search) after
documents change rather than updated in place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import bm25s
import bm25s.stopwords as _bm25_stopwords
import numpy as np
from numpy.typing import NDArray

# Words that carry no expertise, in the two languages users write: Snowball's maintained
# English and Dutch lists (as bm25s ships them), plus the glue of a call ("wie weet", "gezocht",
# "twee weken") that says what the asker wants, not what the topic is. BM25's idf already
# discounts common words; the list exists so such words are never shown as *why you*.
_CALL_GLUE = """about any anyone someone somebody know knows knew please thanks thank hi hello
    would could might must shall may also just like want wants need needs needed looking look
    help helping question questions experience knowledge colleague colleagues new get got
    one two three four five six seven eight nine ten day days week weeks month months year years
    today tomorrow soon asap
    weet weten wist iemand iets graag gezocht zoek zoeken zoeken gevraagd vraag vragen ervaring
    kennis hulp helpen nodig collega collega's nieuw nieuwe willen wil wilt kunnen kun
    een twee drie vier vijf zes zeven acht negen tien dag dagen week weken maand maanden jaar
    jaren vandaag morgen snel bedankt alvast hoi hallo mensen""".split()
STOPWORDS = frozenset(
    {*_bm25_stopwords.STOPWORDS_EN_PLUS, *_bm25_stopwords.STOPWORDS_DUTCH, *_CALL_GLUE}
)
_TOKEN = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords; keeps codes like ``nova1`` and ``5g``."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS and len(t) > 1]


class LexicalIndex:
    """BM25 over a mutable set of documents keyed by int ids."""

    def __init__(self) -> None:
        self._tokens: dict[int, list[str]] = {}
        self._ids: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._bm25: bm25s.BM25 | None = None
        self._dirty = False

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, items: Iterable[tuple[int, str]]) -> None:
        for doc_id, text in items:
            self._tokens[doc_id] = tokenize(text)
        self._dirty = True

    def remove(self, doc_ids: Iterable[int]) -> None:
        for doc_id in doc_ids:
            self._tokens.pop(doc_id, None)
        self._dirty = True

    def matching(self, doc_id: int, terms: Iterable[str]) -> tuple[str, ...]:
        """Which of ``terms`` (tokens, as ``search`` returns them) occur in the document."""
        tokens = self._tokens.get(doc_id)
        if not tokens:
            return ()
        present = set(tokens)
        return tuple(t for t in terms if t in present)

    def _build(self) -> None:
        self._ids = np.fromiter(self._tokens.keys(), dtype=np.int64, count=len(self._tokens))
        # An empty token list would make bm25s drop the row; a placeholder keeps rows aligned.
        corpus = [toks or ["\x00"] for toks in self._tokens.values()]
        self._bm25 = bm25s.BM25(method="lucene") if corpus else None
        if self._bm25 is not None:
            self._bm25.index(corpus, show_progress=False)
        self._dirty = False

    def search(
        self, query: str, k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32], list[str]]:
        """Top ``k`` document ids with BM25 scores scaled to (0, 1], and the query terms the
        index knows.

        Scores are divided by the query's best score, so the best lexical match weighs 1 like a
        perfect cosine does and the two can be fused by a convex combination (per-query max
        normalisation; BM25's theoretical minimum is 0). Dividing by the query's own maximum
        possible score instead would shrink every match of a long query (a question with a
        body) towards 0, where no document holds all its words, and silence BM25 exactly when
        rare words in the body are what identifies the topic.
        """
        if self._dirty:
            self._build()
        empty: tuple[NDArray[np.int64], NDArray[np.float32], list[str]] = (
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.float32),
            [],
        )
        if self._bm25 is None:
            return empty
        vocab = self._bm25.vocab_dict
        terms = [t for t in dict.fromkeys(tokenize(query)) if t in vocab]
        if not terms:
            return empty
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
        # Only documents holding a query term score above 0: rank those, not the whole corpus
        # (a few hundred of a million rows).
        hits = np.flatnonzero(scores > 0)
        k = min(k, len(hits))
        if k <= 0:
            return empty
        hit_scores = scores[hits]
        top = np.argpartition(-hit_scores, k - 1)[:k]
        top = top[np.argsort(-hit_scores[top], kind="stable")]
        best = hit_scores[top[0]]
        return self._ids[hits[top]], hit_scores[top] / best, terms
