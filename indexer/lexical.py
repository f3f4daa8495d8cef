"""Lexical BM25 over documents: where rare words, names and product codes are found.

Embeddings blur "staalbouw" or "Nova1 Connect" into their neighbours; BM25 matches them
exactly. bm25s builds a sparse matrix of precomputed scores, which cannot be updated in place
(every score depends on the corpus's idf and average length), and building it costs seconds per
10,000 documents (``scripts/bench_index_edit.py``: 1.7 s at 10k, 34 s at 100k on this machine).
So a change does not rebuild it: changed and new documents form a small *delta* scored at query
time with the same Lucene BM25 formula and the built corpus's statistics, and their old rows are
masked out. The matrix is rebuilt once the delta holds ``DELTA_MAX`` documents.
"""

from __future__ import annotations

import math
import re
from collections import Counter
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


# The delta is folded into a rebuilt matrix once this many documents changed: scoring it by
# hand costs each query about 45 ms per 1,000 documents (scripts/bench_index_edit.py).
DELTA_MAX = 500
# bm25s's defaults, which the delta scoring must repeat.
K1 = 1.5
B = 0.75


class LexicalIndex:
    """BM25 over a mutable set of documents keyed by int ids."""

    def __init__(self) -> None:
        self._tokens: dict[int, list[str]] = {}
        self._ids: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._bm25: bm25s.BM25 | None = None
        # Since the last build: the row of each built document, which rows still hold their
        # document's current text, the documents scored by hand, and the built statistics.
        self._row: dict[int, int] = {}
        self._live: NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._delta: set[int] = set()
        self._df: Counter[str] = Counter()
        self._avgdl = 1.0

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, items: Iterable[tuple[int, str]]) -> None:
        for doc_id, text in items:
            self._tokens[doc_id] = tokenize(text)
            self._retire(doc_id)
            self._delta.add(doc_id)

    def remove(self, doc_ids: Iterable[int]) -> None:
        for doc_id in doc_ids:
            self._tokens.pop(doc_id, None)
            self._retire(doc_id)
            self._delta.discard(doc_id)

    def _retire(self, doc_id: int) -> None:
        row = self._row.pop(doc_id, None)
        if row is not None:
            self._live[row] = False

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
        self._bm25 = bm25s.BM25(method="lucene", k1=K1, b=B) if corpus else None
        if self._bm25 is not None:
            self._bm25.index(corpus, show_progress=False)
        self._row = {int(doc_id): row for row, doc_id in enumerate(self._ids.tolist())}
        self._live = np.ones(len(self._ids), dtype=bool)
        self._delta = set()
        self._df = Counter(t for toks in corpus for t in set(toks))
        self._avgdl = sum(len(toks) for toks in corpus) / len(corpus) if corpus else 1.0

    def _stale(self) -> bool:
        """Rebuild when never built, when the delta costs queries too much, or when so many
        built rows are dead that the built statistics (idf, average length) drift."""
        dead = int(len(self._live) - self._live.sum())
        return (
            (self._bm25 is None and bool(self._tokens))
            or len(self._delta) > DELTA_MAX
            or dead > max(DELTA_MAX, len(self._live) // 10)
        )

    def _delta_scores(self, terms: list[str]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Lucene BM25 of the delta documents, with the built corpus's statistics (a word
        only the delta has counts its delta documents as its document frequency)."""
        n = max(len(self._ids), 1)
        wanted = set(terms)
        delta_df: Counter[str] = Counter()
        counts: dict[int, Counter[str]] = {}
        for doc_id in self._delta:
            tokens = self._tokens.get(doc_id, [])
            found = Counter(t for t in tokens if t in wanted)
            if found:
                counts[doc_id] = found
                delta_df.update(t for t in found if t not in self._df)
        ids, scores = [], []
        for doc_id, found in counts.items():
            norm = K1 * (1 - B + B * len(self._tokens[doc_id]) / self._avgdl)
            total = 0.0
            for term, tf in found.items():
                df = self._df.get(term) or delta_df[term]
                total += math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf / (norm + tf)
            ids.append(doc_id)
            scores.append(total)
        return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32)

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
        if self._stale():
            self._build()
        empty: tuple[NDArray[np.int64], NDArray[np.float32], list[str]] = (
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.float32),
            [],
        )
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        delta_words = {t for d in self._delta for t in self._tokens.get(d, ())}
        terms = [t for t in dict.fromkeys(tokenize(query)) if t in vocab or t in delta_words]
        if not terms:
            return empty
        ids_parts, score_parts = [], []
        built_terms = [t for t in terms if t in vocab]
        if self._bm25 is not None and built_terms:
            scores = np.asarray(self._bm25.get_scores(built_terms), dtype=np.float32)
            # Only documents holding a query term score above 0 (a few hundred of a million
            # rows), and only rows whose document has not changed since.
            hits = np.flatnonzero((scores > 0) & self._live)
            ids_parts.append(self._ids[hits])
            score_parts.append(scores[hits])
        if self._delta:
            delta_ids, delta_scores = self._delta_scores(terms)
            ids_parts.append(delta_ids)
            score_parts.append(delta_scores)
        all_ids = np.concatenate(ids_parts) if ids_parts else empty[0]
        hit_scores = np.concatenate(score_parts) if score_parts else empty[1]
        keep = hit_scores > 0
        all_ids, hit_scores = all_ids[keep], hit_scores[keep]
        k = min(k, len(hit_scores))
        if k <= 0:
            return empty
        top = np.argpartition(-hit_scores, k - 1)[:k]
        top = top[np.argsort(-hit_scores[top], kind="stable")]
        best = hit_scores[top[0]]
        return all_ids[top], hit_scores[top] / best, terms
