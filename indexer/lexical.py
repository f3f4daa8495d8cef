"""Lexical BM25 over documents: where rare words, names and product codes are found.

Embeddings blur "staalbouw" or "Nova1 Connect" into their neighbours; BM25 matches them
exactly. bm25s builds a sparse matrix of precomputed scores, which cannot be updated in place
(every score depends on the corpus's idf and average length), and building it costs seconds per
10,000 documents (``scripts/bench_index_edit.py``: 1.7 s at 10k, 34 s at 100k on this machine).
So a change does not rebuild it: changed and new documents form a small *delta* scored at query
time with the same Lucene BM25 formula and the built corpus's statistics, and their old rows are
masked out. The matrix is rebuilt once the delta holds ``DELTA_MAX`` documents.

A serving process (``background = True``) rebuilds in a thread from a snapshot of the
documents while the built matrix and the delta keep answering, and puts the new matrix in place
at its next call once complete: at 1M documents the rebuild takes most of a minute, which
would otherwise stall one request every ``DELTA_MAX`` changes. The delta keeps an inverted
list of its words, so a query scores only the delta documents holding its terms.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

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


# The delta is folded into a rebuilt matrix once this many documents changed, or this share
# of the built ones if more (1/50: 20,000 at 1M documents): a rebuild costs about 47 s of CPU at
# 1M documents, while a query scores only the delta documents that hold its terms.
DELTA_MAX = 500
DELTA_SHARE = 50
# bm25s's defaults, which the delta scoring must repeat.
K1 = 1.5
B = 0.75


@dataclass
class _Built:
    """A built matrix with the statistics and rows it was built with."""

    ids: NDArray[np.int64]
    bm25: bm25s.BM25 | None
    row: dict[int, int]
    df: Counter[str]
    avgdl: float


def _build(documents: list[tuple[int, list[str]]]) -> _Built:
    ids = np.fromiter((doc_id for doc_id, _ in documents), dtype=np.int64, count=len(documents))
    # An empty token list would make bm25s drop the row; a placeholder keeps rows aligned.
    corpus = [toks or ["\x00"] for _, toks in documents]
    bm25 = bm25s.BM25(method="lucene", k1=K1, b=B) if corpus else None
    if bm25 is not None:
        bm25.index(corpus, show_progress=False)
    return _Built(
        ids=ids,
        bm25=bm25,
        row={int(doc_id): row for row, doc_id in enumerate(ids.tolist())},
        df=Counter(t for toks in corpus for t in set(toks)),
        avgdl=sum(len(toks) for toks in corpus) / len(corpus) if corpus else 1.0,
    )


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
        # The delta's words: term -> {document: term frequency}, and each delta document's
        # term frequencies in the order its words first occur.
        self._postings: dict[str, dict[int, int]] = {}
        self._counts: dict[int, Counter[str]] = {}
        # Rebuild in a thread (a serving process) rather than on the call that finds the
        # delta too large. While one runs: the documents changed since its snapshot, and the
        # thread's result once done.
        self.background = False
        self._changed: set[int] | None = None
        self._ready: _Built | BaseException | None = None
        self._builder: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, items: Iterable[tuple[int, str]]) -> None:
        self._install()
        for doc_id, text in items:
            self._forget(doc_id)
            self._tokens[doc_id] = tokenize(text)
            self._to_delta(doc_id)

    def remove(self, doc_ids: Iterable[int]) -> None:
        self._install()
        for doc_id in doc_ids:
            self._forget(doc_id)
            self._tokens.pop(doc_id, None)

    def _forget(self, doc_id: int) -> None:
        """The document's built row and delta entry no longer count (it changes or goes)."""
        if self._changed is not None:
            self._changed.add(doc_id)
        row = self._row.pop(doc_id, None)
        if row is not None:
            self._live[row] = False
        self._delta.discard(doc_id)
        for term in self._counts.pop(doc_id, ()):
            postings = self._postings[term]
            del postings[doc_id]
            if not postings:
                del self._postings[term]

    def _to_delta(self, doc_id: int) -> None:
        self._delta.add(doc_id)
        counts = self._counts[doc_id] = Counter(self._tokens[doc_id])
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[doc_id] = tf

    def matching(self, doc_id: int, terms: Iterable[str]) -> tuple[str, ...]:
        """Which of ``terms`` (tokens, as ``search`` returns them) occur in the document."""
        tokens = self._tokens.get(doc_id)
        if not tokens:
            return ()
        present = set(tokens)
        return tuple(t for t in terms if t in present)

    def _build(self) -> None:
        self._put(_build(list(self._tokens.items())), ())

    def _put(self, built: _Built, changed: Iterable[int]) -> None:
        """Serve ``built``; the documents ``changed`` since its snapshot form the new delta."""
        self._ids, self._bm25, self._row = built.ids, built.bm25, built.row
        self._df, self._avgdl = built.df, built.avgdl
        self._live = np.ones(len(self._ids), dtype=bool)
        self._delta, self._postings, self._counts = set(), {}, {}
        for doc_id in changed:
            row = self._row.pop(doc_id, None)
            if row is not None:
                self._live[row] = False
            if doc_id in self._tokens:
                self._to_delta(doc_id)

    def _start_build(self) -> None:
        """Rebuild from a snapshot in a thread (token lists are replaced, never changed in
        place, so the snapshot stays as it was)."""
        snapshot = list(self._tokens.items())
        self._changed = set()

        def run() -> None:
            try:
                self._ready = _build(snapshot)
            except BaseException as exc:  # handed to the serving thread, which builds itself
                self._ready = exc

        self._builder = threading.Thread(target=run, name="askhub-bm25-build", daemon=True)
        self._builder.start()

    def _install(self) -> None:
        """Put a finished background build in place (on the thread that serves and edits)."""
        ready = self._ready
        if ready is None:
            return
        changed = self._changed or set()
        self._ready, self._builder, self._changed = None, None, None
        if isinstance(ready, BaseException):
            return  # the next search finds the delta too large again and tries again
        self._put(ready, changed)

    def wait_build(self) -> None:
        """Wait for a background rebuild, if one runs, and put it in place."""
        builder = self._builder
        if builder is not None:
            builder.join()
            self._install()

    def _stale(self) -> bool:
        """Rebuild when never built, when the delta costs queries too much, or when so many
        built rows are dead that the built statistics (idf, average length) drift."""
        dead = int(len(self._live) - self._live.sum())
        return (
            (self._bm25 is None and bool(self._tokens))
            or len(self._delta) > max(DELTA_MAX, len(self._ids) // DELTA_SHARE)
            or dead > max(DELTA_MAX, len(self._live) // 10)
        )

    def _delta_scores(self, terms: list[str]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Lucene BM25 of the delta documents, with the built corpus's statistics (a word
        only the delta has counts its delta documents as its document frequency). Only the
        documents holding a term are scored, each summing its terms in the order they occur
        in it, in the delta's order (as scoring every delta document did)."""
        n = max(len(self._ids), 1)
        wanted = {t: self._postings[t] for t in terms if t in self._postings}
        holding = {doc_id for postings in wanted.values() for doc_id in postings}
        ids, scores = [], []
        for doc_id in (d for d in self._delta if d in holding):
            norm = K1 * (1 - B + B * len(self._tokens[doc_id]) / self._avgdl)
            total = 0.0
            for term, tf in self._counts[doc_id].items():
                if term in wanted:
                    df = self._df.get(term) or len(wanted[term])
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
        self._install()
        if self._stale():
            if self.background and self._bm25 is not None:
                if self._builder is None:
                    self._start_build()
            else:
                self._build()
        empty: tuple[NDArray[np.int64], NDArray[np.float32], list[str]] = (
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.float32),
            [],
        )
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        terms = [t for t in dict.fromkeys(tokenize(query)) if t in vocab or t in self._postings]
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
