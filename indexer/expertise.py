"""The expertise index: documents in, ranked people with their evidence out.

Routing follows the document model of expert finding (Balog et al., 2006, "model 2"): every
post is evidence of its author's expertise; a query is matched against posts, not against one
profile per person, and the evidence is summed per person:

    score(person | query) = prior(person) * sum over the person's documents d of
                            weight(d) * relevance(query, d)

``relevance`` fuses dense (FAISS cosine) and lexical (BM25) retrieval per document as a convex
combination of per-query normalised scores (Bruch et al., 2023). ``weight`` is the document's
prior: how much it says about who answers *now*. It halves every ``recency_half_life_days``
before the newest document (people's interests and availability drift; on community Q&A,
who answered lately predicts who answers next far better than who answered most ever), and a
question someone asked counts less than an answer, post or profile: asking about a topic is
weaker evidence of knowing it than explaining it. Summing rather than taking the best document
makes sustained, recent activity on a topic count, which is what the answer history measures.
``prior`` is the per-person prior the service measures (answers given, reply rate). People
without matching evidence are never ranked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from indexer.chunking import chunk_text
from indexer.dense import DenseIndex
from indexer.embedders import Embedder
from indexer.lexical import LexicalIndex

# Document kinds in which the author asked rather than told (see RankingWeights.question_weight).
ASKED = frozenset({"question", "call"})


@dataclass(frozen=True)
class Document:
    """One piece of a person's history: a profile, a post, an answer."""

    doc_id: int
    person: str
    title: str
    body: str
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    # What the document is: "answer", "question", "post", "profile"... (see ``RankingWeights``).
    kind: str = "post"

    @property
    def text(self) -> str:
        tags = " ".join(self.tags)
        return "\n".join(part for part in (self.title, self.body, tags) if part)


@dataclass(frozen=True)
class Passage:
    """A chunk of a document as stored with its vector (``vector_id`` is the store's key)."""

    vector_id: int
    doc_id: int
    text: str


@dataclass(frozen=True)
class Evidence:
    """Why a person matched: one of their documents, the passage and the words that matched."""

    doc_id: int
    title: str
    snippet: str
    score: float
    similarity: float
    matched_terms: tuple[str, ...]


@dataclass(frozen=True)
class PersonMatch:
    person: str
    score: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class DocHit:
    """One document's match with a query (similarity above the floor, lexical in [0, 1])."""

    doc_id: int
    kind: str
    similarity: float
    lexical: float
    # Hand-set fusion of the two, and the document's prior weight (kind times recency).
    relevance: float
    weight: float


_NO_INTS: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
_NO_FLOATS: NDArray[np.float64] = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class _Groups:
    """A gathered query's people: their names (in code order) and place in that list, each
    entry's person as a place, and the entries ordered by person with each one's start."""

    names: list[str]
    at: dict[str, int]
    inverse: NDArray[np.intp]
    order: NDArray[np.intp]
    starts: NDArray[np.intp]


@dataclass
class Gathered:
    """What one query found: every matching document as flat arrays (one entry a document, in
    the order the scorer sums them), grouped per person on demand, plus what explains them.

    ``person`` and ``kind`` are codes into ``names`` and ``kinds``; ``similarity``, ``lexical``,
    ``relevance`` and ``weight`` are as in ``DocHit``.
    """

    terms: list[str]
    reference: float | None
    doc_similarity: dict[int, float] = field(default_factory=dict)
    best_passage: dict[int, int] = field(default_factory=dict)
    doc_ids: NDArray[np.int64] = field(default_factory=lambda: _NO_INTS)
    person: NDArray[np.int64] = field(default_factory=lambda: _NO_INTS)
    kind: NDArray[np.int64] = field(default_factory=lambda: _NO_INTS)
    similarity: NDArray[np.float64] = field(default_factory=lambda: _NO_FLOATS)
    lexical: NDArray[np.float64] = field(default_factory=lambda: _NO_FLOATS)
    relevance: NDArray[np.float64] = field(default_factory=lambda: _NO_FLOATS)
    weight: NDArray[np.float64] = field(default_factory=lambda: _NO_FLOATS)
    names: Sequence[str] = ()
    kinds: Sequence[str] = ()
    _groups: _Groups | None = field(default=None, repr=False)
    _per_person: defaultdict[str, list[DocHit]] | None = field(default=None, repr=False)

    def people(self) -> tuple[list[str], NDArray[np.float64]]:
        """Everyone with evidence and their hand-set score without the prior: weighted
        relevance summed over their documents in document order (``np.bincount`` adds in
        order, so the sums equal ``ExpertiseIndex.hand_score``'s to the bit)."""
        groups = self._grouped()
        totals = np.bincount(
            groups.inverse, self.relevance * self.weight, minlength=len(groups.names)
        )
        return groups.names, np.asarray(totals, dtype=np.float64)

    def _grouped(self) -> _Groups:
        if self._groups is None:
            codes, inverse = np.unique(self.person, return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            starts = np.searchsorted(inverse[order], np.arange(len(codes) + 1))
            names = [self.names[c] for c in codes.tolist()]
            self._groups = _Groups(
                names, {name: i for i, name in enumerate(names)}, inverse, order, starts
            )
        return self._groups

    def rows_of(self, person: str) -> NDArray[np.int64]:
        """The entries of ``person``'s documents, in document order (none: empty)."""
        groups = self._grouped()
        at = groups.at.get(person)
        if at is None:
            return _NO_INTS
        return groups.order[groups.starts[at] : groups.starts[at + 1]]

    @property
    def per_person(self) -> defaultdict[str, list[DocHit]]:
        """Per person their matching documents (made on first use; routing reads the arrays)."""
        if self._per_person is None:
            grouped: defaultdict[str, list[DocHit]] = defaultdict(list)
            names, kinds = self.names, self.kinds
            for doc_id, person, kind, similarity, lexical, relevance, weight in zip(
                self.doc_ids.tolist(),
                self.person.tolist(),
                self.kind.tolist(),
                self.similarity.tolist(),
                self.lexical.tolist(),
                self.relevance.tolist(),
                self.weight.tolist(),
                strict=True,
            ):
                grouped[names[person]].append(
                    DocHit(doc_id, kinds[kind], similarity, lexical, relevance, weight)
                )
            self._per_person = grouped
        return self._per_person


@dataclass(frozen=True)
class RankingWeights:
    """Knobs of the person scorer; tuned on development data, never on evaluation data."""

    # Passages (dense) and documents (lexical) retrieved per query. Evidence is summed over
    # them, so they should cover a topic's neighbourhood, not just its best few documents.
    dense_candidates: int = 1000
    lexical_candidates: int = 1000
    # Share of a document's relevance that comes from BM25 (the rest from the embedding).
    lexical_weight: float = 0.35
    # Cosine similarity below which a passage is no evidence at all (for the default model,
    # unrelated texts score about 0.0-0.2). Lets a call with no expert get an honest "nobody".
    min_similarity: float = 0.2
    # A document's weight halves every this many days before the newest dated document.
    recency_half_life_days: float = 60.0
    # Weight of a question or call the person asked (answers, posts and profiles weigh 1).
    question_weight: float = 0.5
    # Strength of the per-person prior (0..1 values, e.g. answers given, reply rate).
    prior_weight: float = 0.5
    evidence_per_person: int = 3


@dataclass
class _DocState:
    document: Document
    vector_ids: list[int] = field(default_factory=list)
    # created_at as UTC epoch seconds, for the recency weight (None: undated).
    stamp: float | None = None
    # Whether the date says when its author was active (a profile's says when it was saved).
    dates_activity: bool = True
    # Its row in the index's ``_Columns`` (a replaced document gets a new one).
    row: int = -1


class _IdRows:
    """The row of each int id: an array indexed by the id while ids are below ``DIRECT``
    (database ids: posts and embeddings count up from 1), a dict for any other id."""

    DIRECT = 1 << 24

    def __init__(self) -> None:
        self.table = np.full(0, -1, dtype=np.int64)
        self.other: dict[int, int] = {}

    def set(self, ids: Sequence[int], rows: Sequence[int]) -> None:
        ids_a = np.asarray(ids, dtype=np.int64)
        rows_a = np.asarray(rows, dtype=np.int64)
        direct = (ids_a >= 0) & (ids_a < self.DIRECT)
        if direct.any():
            top = int(ids_a[direct].max()) + 1
            if top > len(self.table):
                grown = np.full(min(max(top, 2 * len(self.table)), self.DIRECT), -1, np.int64)
                grown[: len(self.table)] = self.table
                self.table = grown
            self.table[ids_a[direct]] = rows_a[direct]
        if not direct.all():
            self.other.update(zip(ids_a[~direct].tolist(), rows_a[~direct].tolist(), strict=True))

    def drop(self, ids: Sequence[int]) -> None:
        ids_a = np.asarray(ids, dtype=np.int64)
        direct = (ids_a >= 0) & (ids_a < len(self.table))
        self.table[ids_a[direct]] = -1
        for other in ids_a[~direct].tolist():
            self.other.pop(other, None)

    def get(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """The row of each id, -1 for none."""
        direct = (ids >= 0) & (ids < len(self.table))
        rows = np.full(len(ids), -1, dtype=np.int64)
        rows[direct] = self.table[ids[direct]]
        if self.other and not direct.all():
            rest = np.flatnonzero(~direct)
            rows[rest] = np.fromiter(
                map(self.other.get, ids[rest].tolist(), repeat(-1)), np.int64, len(rest)
            )
        return rows


class _Columns:
    """Every registered document as arrays, a row each (appended, never reused): its id, its
    author's code, its kind's code, whether it dates its author's activity, its stamp (NaN:
    undated); and the row of each live document and of each passage's vector id. ``gather``
    weighs and filters a query's documents with them at once (dict lookups by ``map``, no
    Python loop a document)."""

    def __init__(self) -> None:
        self.size = 0
        self.row_of = _IdRows()
        self.vector_row = _IdRows()
        self.doc = np.zeros(0, dtype=np.int64)
        self.person = np.zeros(0, dtype=np.int64)
        self.kind = np.zeros(0, dtype=np.int64)
        self.activity = np.zeros(0, dtype=bool)
        self.stamp = np.zeros(0, dtype=np.float64)
        self.names: list[str] = []
        self.kinds: list[str] = []
        self._person_codes: dict[str, int] = {}
        self._kind_codes: dict[str, int] = {}

    def append(self, states: Sequence[_DocState]) -> None:
        people, kinds = self._person_codes, self._kind_codes
        for state in states:
            for name, codes, names in (
                (state.document.person, people, self.names),
                (state.document.kind, kinds, self.kinds),
            ):
                if name not in codes:
                    codes[name] = len(names)
                    names.append(name)
        n, end = len(states), self.size + len(states)
        if end > len(self.person):
            room = max(end, 2 * len(self.person), 1024)
            for name in ("doc", "person", "kind", "activity", "stamp"):
                column = getattr(self, name)
                grown = np.zeros(room, dtype=column.dtype)
                grown[: self.size] = column[: self.size]
                setattr(self, name, grown)
        part = slice(self.size, end)
        self.doc[part] = np.fromiter((s.document.doc_id for s in states), np.int64, n)
        self.person[part] = np.fromiter((people[s.document.person] for s in states), np.int64, n)
        self.kind[part] = np.fromiter((kinds[s.document.kind] for s in states), np.int64, n)
        self.activity[part] = np.fromiter((s.dates_activity for s in states), bool, n)
        self.stamp[part] = np.fromiter(
            (np.nan if s.stamp is None else s.stamp for s in states), np.float64, n
        )
        for row, state in enumerate(states, self.size):
            state.row = row
        self.row_of.set(self.doc[part].tolist(), range(self.size, end))
        self.size = end

    def place(self, passages: Iterable[Passage], docs: Mapping[int, _DocState]) -> None:
        """Note the row of each passage's document under its vector id."""
        passages = list(passages)
        self.vector_row.set([p.vector_id for p in passages], [docs[p.doc_id].row for p in passages])

    def forget(self, doc_ids: Iterable[int], vector_ids: Iterable[int]) -> None:
        self.row_of.drop(list(doc_ids))
        self.vector_row.drop(list(vector_ids))


def _state(document: Document) -> _DocState:
    created = document.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return _DocState(
        document,
        stamp=None if created is None else created.timestamp(),
        dates_activity=document.kind != "profile",
    )


class ExpertiseIndex:
    """Dense + lexical index over documents, searched for people."""

    def __init__(self, embedder: Embedder, weights: RankingWeights | None = None) -> None:
        self.embedder = embedder
        self.weights = weights or RankingWeights()
        self.dense = DenseIndex(embedder.dim, embedder.model_id)
        self.lexical = LexicalIndex()
        self._docs: dict[int, _DocState] = {}
        self._passages: dict[int, Passage] = {}
        self._priors: dict[str, float] = {}
        # Documents per person, kept as documents come and go: ``people`` (in /api/health)
        # counted a set over every document, 0.1 s a call at a million.
        self._per_person: Counter[str] = Counter()
        # Answers per person among the documents, kept as documents come and go, so the
        # service's "answers given" prior needs no scan of every post after each change.
        self._answers: Counter[str] = Counter()
        # The newest activity date (epoch seconds) that recency counts back from; None when
        # unknown, recomputed only after that document itself is removed.
        self._newest: float | None = None
        self._newest_stale = False
        self._columns = _Columns()

    # -- building ---------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def __len__(self) -> int:
        return len(self._docs)

    @property
    def people(self) -> int:
        return len(self._per_person)

    def _forget_person(self, person: str) -> None:
        self._per_person[person] -= 1
        if self._per_person[person] <= 0:
            del self._per_person[person]

    @staticmethod
    def chunks(document: Document) -> list[str]:
        """The passages a document is embedded as (never empty for a document with text)."""
        return chunk_text(document.text) or [document.title or " "]

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.embedder.encode(texts)

    def add(
        self,
        documents: Sequence[Document],
        passages: Sequence[Passage],
        vectors: NDArray[np.float32],
    ) -> None:
        """Add (or replace) documents with their already-encoded passages."""
        if len(passages) != len(vectors):
            raise ValueError("one vector is needed per passage")
        self.remove(d.doc_id for d in documents)
        self._register(documents)
        for passage in passages:
            state = self._docs.get(passage.doc_id)
            if state is None:
                raise ValueError(
                    f"passage {passage.vector_id} names unknown document {passage.doc_id}"
                )
            state.vector_ids.append(passage.vector_id)
            self._passages[passage.vector_id] = passage
        self._columns.place(passages, self._docs)
        ids = np.fromiter((p.vector_id for p in passages), dtype=np.int64, count=len(passages))
        self.dense.add(ids, vectors)
        self.lexical.add((d.doc_id, d.text) for d in documents)

    def attach_dense(self, dense: DenseIndex) -> None:
        """Use a dense index loaded from disk instead of re-adding vectors one by one."""
        if dense.model_id != self.model_id:
            raise ValueError(f"index built by {dense.model_id}, embedder is {self.model_id}")
        self.dense = dense

    def answers(self) -> dict[str, int]:
        """How many documents of kind ``answer`` each person has in the index."""
        return {person: n for person, n in self._answers.items() if n > 0}

    def owner(self, vector_id: int) -> str | None:
        """The person whose passage ``vector_id`` is (None: not in the index any more)."""
        passage = self._passages.get(vector_id)
        state = self._docs.get(passage.doc_id) if passage is not None else None
        return None if state is None else state.document.person

    def add_without_vectors(
        self, documents: Sequence[Document], passages: Sequence[Passage]
    ) -> None:
        """Register documents whose vectors are already in an attached dense index."""
        self._register(documents)
        for passage in passages:
            self._docs[passage.doc_id].vector_ids.append(passage.vector_id)
            self._passages[passage.vector_id] = passage
        self._columns.place(passages, self._docs)
        self.lexical.add((d.doc_id, d.text) for d in documents)

    def remove(self, doc_ids: Iterable[int]) -> None:
        removed: list[int] = []
        vector_ids: list[int] = []
        for doc_id in doc_ids:
            state = self._docs.pop(doc_id, None)
            if state is not None:
                self._forget_person(state.document.person)
                removed.append(doc_id)
                vector_ids.extend(state.vector_ids)
                if state.document.kind == "answer":
                    self._answers[state.document.person] -= 1
                if state.dates_activity and state.stamp is not None and state.stamp == self._newest:
                    self._newest_stale = True
        for vector_id in vector_ids:
            self._passages.pop(vector_id, None)
        self._columns.forget(removed, vector_ids)
        if vector_ids:
            self.dense.remove(np.asarray(vector_ids, dtype=np.int64))
        if removed:
            self.lexical.remove(removed)

    def _register(self, documents: Sequence[Document]) -> None:
        states = []
        for document in documents:
            state = _state(document)
            states.append(state)
            before = self._docs.get(document.doc_id)
            if before is not None:
                self._forget_person(before.document.person)
                if before.document.kind == "answer":
                    self._answers[before.document.person] -= 1
            self._docs[document.doc_id] = state
            self._per_person[document.person] += 1
            if document.kind == "answer":
                self._answers[document.person] += 1
            if state.dates_activity and state.stamp is not None:
                self._newest = (
                    state.stamp if self._newest is None else max(self._newest, state.stamp)
                )
        self._columns.append(states)

    def reference_time(self) -> float | None:
        """The newest activity date in the index (epoch seconds), or None when undated."""
        return self._reference_time()

    def _reference_time(self) -> float | None:
        """The newest activity date in the index: where document ages count back from."""
        if self._newest_stale:
            stamps = [
                s.stamp for s in self._docs.values() if s.dates_activity and s.stamp is not None
            ]
            self._newest = max(stamps, default=None)
            self._newest_stale = False
        return self._newest

    def document_weight(self, doc_id: int) -> float:
        """A document's prior weight: its kind times its recency (see the module doc).

        Ages count back from the newest dated document that is not a profile (a profile is
        dated when it was last saved, which says nothing about when its owner was active), so
        an index of replayed history does not age against the wall clock, and nothing newer
        than the index's own documents is ever used. A document without a date, or newer than
        that reference (a profile), weighs fully.
        """
        return self._weight(self._docs[doc_id], self._reference_time())

    def _weight(self, state: _DocState, reference: float | None) -> float:
        w = self.weights
        weight = w.question_weight if state.document.kind in ASKED else 1.0
        if reference is not None and state.stamp is not None and w.recency_half_life_days > 0:
            age_days = max(reference - state.stamp, 0.0) / 86400.0
            weight *= 0.5 ** (age_days / w.recency_half_life_days)
        return weight

    def set_priors(self, priors: Mapping[str, float]) -> None:
        """Per-person priors in [0, 1]; people without one get 0."""
        self._priors = {person: min(max(value, 0.0), 1.0) for person, value in priors.items()}

    def save(self, path: Path, watermark: int) -> None:
        self.dense.save(path, watermark)

    # -- searching --------------------------------------------------------------------------

    def gather(
        self,
        query: str,
        exclude: Set[str] = frozenset(),
        only: Set[str] | None = None,
        query_vector: NDArray[np.float32] | None = None,
        before: float | None = None,
        dense_hits: tuple[NDArray[np.int64], NDArray[np.float32]] | None = None,
    ) -> Gathered:
        """Every person with evidence for ``query``: their matching documents with the dense
        similarity, the lexical score and the document's prior weight.

        ``before`` (epoch seconds) replays the past: only documents created before it count
        and ages count back from it, so a ranker can be fitted on earlier questions without
        seeing their answers. Profiles (dated when saved, not when written) always count.
        ``dense_hits`` is the dense search's answer when the caller searched already (a fit
        searches many questions at once).
        """
        w = self.weights
        columns = self._columns
        gathered = Gathered(terms=[], reference=before, names=columns.names, kinds=columns.kinds)
        if not query.strip() or not self._docs:
            return gathered
        if dense_hits is None:
            qv = query_vector if query_vector is not None else self.embedder.encode([query])[0]
            dense_hits = self.dense.search(qv, w.dense_candidates)
        vector_ids, similarities = dense_hits
        # Each document's best passage: passages come best first, and the first one below the
        # floor ends the evidence (the rest are no evidence either).
        scores = similarities.astype(np.float64)
        below = np.flatnonzero(scores <= w.min_similarity)
        cut = int(below[0]) if len(below) else len(scores)
        passage_rows = columns.vector_row.get(vector_ids[:cut])
        known_passage = np.flatnonzero(passage_rows >= 0)
        found = passage_rows[known_passage]
        # Per document its best similarity, the first passage reaching it, in the order the
        # documents first appear (as a dict filled passage by passage would hold them).
        order = np.lexsort((known_passage, -scores[known_passage], found))
        firsts = order[np.r_[True, found[order][1:] != found[order][:-1]]] if len(order) else order
        firsts = np.sort(firsts)
        dense_docs = columns.doc[found[firsts]].tolist()
        gathered.doc_similarity = doc_similarity = dict(
            zip(dense_docs, scores[known_passage[firsts]].tolist(), strict=True)
        )
        gathered.best_passage = dict(
            zip(dense_docs, vector_ids[known_passage[firsts]].tolist(), strict=True)
        )
        lex_ids, lex_scores, terms = self.lexical.search(query, w.lexical_candidates)
        gathered.terms = terms
        doc_lexical = dict(
            zip(
                lex_ids.tolist(),
                np.minimum(lex_scores.astype(np.float64), 1.0).tolist(),
                strict=True,
            )
        )
        if before is not None and doc_lexical:
            # Replaying the past: the best lexical match is the best one known then, so a
            # replayed question's scores are scaled as a live one's are (else they shrink
            # whenever a later post matches better, and a fitted model learns the shrinkage).
            rows = columns.row_of.get(np.fromiter(doc_lexical, np.int64, len(doc_lexical)))
            known = (rows >= 0) & self._known(rows, before)
            kept = np.fromiter(doc_lexical.values(), np.float64, len(doc_lexical))[known]
            ids = np.fromiter(doc_lexical.keys(), np.int64, len(doc_lexical))[known]
            best = float(kept.max(initial=0.0))
            if best > 0:
                kept = kept / best
            doc_lexical = dict(zip(ids.tolist(), kept.tolist(), strict=True))

        reference = self._reference_time() if before is None else before
        gathered.reference = reference
        # Every document either search found, in the order of the set the scorer used to
        # walk (sums per person add in this order).
        union = list(doc_similarity.keys() | doc_lexical.keys())
        ids = np.fromiter(union, np.int64, len(union))
        rows = columns.row_of.get(ids)
        keep = rows >= 0
        if before is not None:
            keep &= self._known(rows, before)  # replaying the past: only what existed then
        person = columns.person[rows]
        # Only the few people found are checked against ``exclude`` and ``only``.
        if exclude or only is not None:
            codes = np.unique(person[keep])
            names = columns.names
            out = [
                code
                for code in codes.tolist()
                if names[code] in exclude or (only is not None and names[code] not in only)
            ]
            if out:
                keep &= ~np.isin(person, out)
        similarity = np.fromiter(
            map(doc_similarity.get, union, repeat(w.min_similarity)), np.float64, len(union)
        )
        lexical = np.fromiter(map(doc_lexical.get, union, repeat(0.0)), np.float64, len(union))
        dense_share = (1 - w.lexical_weight) / (1 - w.min_similarity)
        relevance = dense_share * (similarity - w.min_similarity) + w.lexical_weight * lexical
        keep &= relevance > 0
        rows = rows[keep]
        gathered.doc_ids = ids[keep]
        gathered.person = person[keep]
        gathered.kind = columns.kind[rows]
        gathered.similarity = np.maximum(similarity[keep] - w.min_similarity, 0.0)
        gathered.lexical = lexical[keep]
        gathered.relevance = relevance[keep]
        gathered.weight = self._weights(rows, reference)
        return gathered

    def _known(self, rows: NDArray[np.int64], moment: float) -> NDArray[np.bool_]:
        """Whether each row's document existed before ``moment`` (profiles always count)."""
        columns = self._columns
        return ~columns.activity[rows] | (columns.stamp[rows] < moment)

    def _weights(self, rows: NDArray[np.int64], reference: float | None) -> NDArray[np.float64]:
        """``_weight`` of each row's document, computed as it does (the power is Python's, so
        every weight is the same to the bit: NumPy's vectorised power may round otherwise)."""
        w = self.weights
        columns = self._columns
        asked = np.isin(
            columns.kind[rows], [columns.kinds.index(k) for k in ASKED if k in columns.kinds]
        )
        weight = np.where(asked, w.question_weight, 1.0)
        if reference is not None and w.recency_half_life_days > 0:
            stamps = columns.stamp[rows]
            dated = np.flatnonzero(~np.isnan(stamps))
            exponents = (np.maximum(reference - stamps[dated], 0.0) / 86400.0) / (
                w.recency_half_life_days
            )
            decay = np.fromiter((0.5**e for e in exponents.tolist()), np.float64, len(dated))
            weight[dated] = weight[dated] * decay
        return weight

    def near(
        self, vector: NDArray[np.float32], floor: float, kinds: Set[str]
    ) -> dict[str, set[int]]:
        """Per person, their documents of ``kinds`` with a passage at least ``floor`` close
        (cosine) to the unit ``vector``: who has evidence on a topic's centre."""
        found: dict[str, set[int]] = {}
        if not self._docs:
            return found
        vector_ids, similarities = self.dense.search(vector, self.weights.dense_candidates)
        for vector_id, similarity in zip(vector_ids.tolist(), similarities.tolist(), strict=True):
            if similarity < floor:
                break  # best first
            passage = self._passages.get(vector_id)
            state = self._docs.get(passage.doc_id) if passage is not None else None
            if state is None or state.document.kind not in kinds:
                continue
            found.setdefault(state.document.person, set()).add(state.document.doc_id)
        return found

    def hand_score(self, person: str, hits: Sequence[DocHit], prior: bool = True) -> float:
        """The hand-set score: weighted relevance summed over documents, times the prior.

        ``prior=False`` leaves the per-person prior out: it counts answers up to now, which
        a question replayed from the past must not see.
        """
        total = sum(hit.relevance * hit.weight for hit in hits)
        if not prior:
            return total
        return total * (1 + self.weights.prior_weight * self._priors.get(person, 0.0))

    def search(
        self,
        query: str,
        k: int = 10,
        exclude: Set[str] = frozenset(),
        only: Set[str] | None = None,
        query_vector: NDArray[np.float32] | None = None,
    ) -> list[PersonMatch]:
        """The ``k`` people whose documents best match ``query`` by the hand-set score, each
        with evidence.

        ``exclude`` (the asker, people who opted out) and ``only`` (an audience) are applied
        before ranking, so the list is filled from the next candidates rather than shortened.
        """
        gathered = self.gather(query, exclude, only, query_vector)
        names, totals = gathered.people()
        priors = self._priors
        boost = np.fromiter((priors.get(name, 0.0) for name in names), np.float64, len(names))
        scores = totals * (1 + self.weights.prior_weight * boost)
        return [
            PersonMatch(
                person=names[i], score=round(score, 6), evidence=self.explain(names[i], gathered)
            )
            for score, i in best_first(scores, names, k)
        ]

    def explain(self, person: str, gathered: Gathered) -> tuple[Evidence, ...]:
        """The person's best documents for the gathered query, as evidence to show."""
        rows = gathered.rows_of(person)
        weighted = gathered.relevance[rows] * gathered.weight[rows]
        doc_ids = gathered.doc_ids[rows]
        # Best first, equal ones by the larger document id (as sorting (score, id) pairs).
        best = np.lexsort((-doc_ids, -weighted))[: self.weights.evidence_per_person]
        return tuple(
            self._evidence(
                doc_id, value, gathered.doc_similarity, gathered.best_passage, gathered.terms
            )
            for value, doc_id in zip(weighted[best].tolist(), doc_ids[best].tolist(), strict=True)
        )

    def documents(self) -> Iterator[Document]:
        return (state.document for state in self._docs.values())

    def document(self, doc_id: int) -> Document | None:
        state = self._docs.get(doc_id)
        return None if state is None else state.document

    def _evidence(
        self,
        doc_id: int,
        relevance: float,
        doc_similarity: Mapping[int, float],
        best_passage: Mapping[int, int],
        terms: Sequence[str],
    ) -> Evidence:
        state = self._docs[doc_id]
        document = state.document
        # The query words BM25 matched in this document, in query order.
        matched = self.lexical.matching(doc_id, terms)
        if doc_id in best_passage:
            # Passages start with the title (it is part of what is embedded); the evidence
            # shows the title separately.
            text = self._passages[best_passage[doc_id]].text.removeprefix(document.title)
        else:
            text = document.body
        return Evidence(
            doc_id=doc_id,
            title=document.title,
            snippet=snippet(text or document.title, matched),
            score=round(relevance, 6),
            similarity=round(doc_similarity.get(doc_id, 0.0), 6),
            matched_terms=matched,
        )


def best_first(
    scores: NDArray[np.float64], names: Sequence[str], k: int
) -> list[tuple[float, int]]:
    """The ``k`` best (score, index) pairs, larger scores first and equal ones by name: only
    the few at or above the k-th score are sorted."""
    if 0 < k < len(scores):
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        chosen = np.flatnonzero(scores >= kth).tolist()
    else:
        chosen = list(range(len(scores))) if k > 0 else []
    values = scores.tolist()
    chosen.sort(key=lambda i: (-values[i], names[i]))
    return [(values[i], i) for i in chosen[:k]]


def snippet(text: str, terms: Sequence[str], width: int = 220) -> str:
    """A short excerpt of ``text``, centred on the first matched term when there is one."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    start = 0
    lowered = flat.lower()
    for term in terms:
        at = lowered.find(term)
        if at >= 0:
            start = max(0, at - width // 3)
            break
    end = min(len(flat), start + width)
    start = max(0, end - width)
    # Cut at word boundaries: a snippet starting "…g adviseur" reads as a typo.
    if start > 0 and flat[start - 1] != " ":
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < end else start
    if end < len(flat) and flat[end] != " ":
        space = flat.rfind(" ", start, end)
        end = space if space > start else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    return f"{prefix}{flat[start:end].strip()}{suffix}"
