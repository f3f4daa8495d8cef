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


@dataclass
class Gathered:
    """What one query found: per person their matching documents, plus what explains them."""

    terms: list[str]
    reference: float | None
    per_person: defaultdict[str, list[DocHit]] = field(default_factory=lambda: defaultdict(list))
    doc_similarity: dict[int, float] = field(default_factory=dict)
    best_passage: dict[int, int] = field(default_factory=dict)


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
        # Answers per person among the documents, kept as documents come and go, so the
        # service's "answers given" prior needs no scan of every post after each change.
        self._answers: Counter[str] = Counter()
        # The newest activity date (epoch seconds) that recency counts back from; None when
        # unknown, recomputed only after that document itself is removed.
        self._newest: float | None = None
        self._newest_stale = False

    # -- building ---------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def __len__(self) -> int:
        return len(self._docs)

    @property
    def people(self) -> int:
        return len({state.document.person for state in self._docs.values()})

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
        self.lexical.add((d.doc_id, d.text) for d in documents)

    def remove(self, doc_ids: Iterable[int]) -> None:
        removed: list[int] = []
        vector_ids: list[int] = []
        for doc_id in doc_ids:
            state = self._docs.pop(doc_id, None)
            if state is not None:
                removed.append(doc_id)
                vector_ids.extend(state.vector_ids)
                if state.document.kind == "answer":
                    self._answers[state.document.person] -= 1
                if state.dates_activity and state.stamp is not None and state.stamp == self._newest:
                    self._newest_stale = True
        for vector_id in vector_ids:
            self._passages.pop(vector_id, None)
        if vector_ids:
            self.dense.remove(np.asarray(vector_ids, dtype=np.int64))
        if removed:
            self.lexical.remove(removed)

    def _register(self, documents: Sequence[Document]) -> None:
        for document in documents:
            state = _state(document)
            before = self._docs.get(document.doc_id)
            if before is not None and before.document.kind == "answer":
                self._answers[before.document.person] -= 1
            self._docs[document.doc_id] = state
            if document.kind == "answer":
                self._answers[document.person] += 1
            if state.dates_activity and state.stamp is not None:
                self._newest = (
                    state.stamp if self._newest is None else max(self._newest, state.stamp)
                )

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
    ) -> Gathered:
        """Every person with evidence for ``query``: their matching documents with the dense
        similarity, the lexical score and the document's prior weight.

        ``before`` (epoch seconds) replays the past: only documents created before it count
        and ages count back from it, so a ranker can be fitted on earlier questions without
        seeing their answers. Profiles (dated when saved, not when written) always count.
        """
        w = self.weights
        gathered = Gathered(terms=[], reference=before)
        if not query.strip() or not self._docs:
            return gathered
        qv = query_vector if query_vector is not None else self.embedder.encode([query])[0]
        vector_ids, similarities = self.dense.search(qv, w.dense_candidates)
        doc_similarity = gathered.doc_similarity
        best_passage = gathered.best_passage
        for vector_id, similarity in zip(vector_ids.tolist(), similarities.tolist(), strict=True):
            if similarity <= w.min_similarity:
                break  # best first: the rest are no evidence either
            passage = self._passages.get(vector_id)
            if passage is None or similarity <= doc_similarity.get(passage.doc_id, -2.0):
                continue
            doc_similarity[passage.doc_id] = similarity
            best_passage[passage.doc_id] = vector_id
        lex_ids, lex_scores, terms = self.lexical.search(query, w.lexical_candidates)
        gathered.terms = terms
        doc_lexical = {
            doc_id: min(score, 1.0)
            for doc_id, score in zip(lex_ids.tolist(), lex_scores.tolist(), strict=True)
        }
        if before is not None:
            # Replaying the past: the best lexical match is the best one known then, so a
            # replayed question's scores are scaled as a live one's are (else they shrink
            # whenever a later post matches better, and a fitted model learns the shrinkage).
            known = self._known_at
            doc_lexical = {d: v for d, v in doc_lexical.items() if known(d, before)}
            best = max(doc_lexical.values(), default=0.0)
            if best > 0:
                doc_lexical = {d: v / best for d, v in doc_lexical.items()}

        reference = self._reference_time() if before is None else before
        gathered.reference = reference
        dense_share = (1 - w.lexical_weight) / (1 - w.min_similarity)
        for doc_id in doc_similarity.keys() | doc_lexical.keys():
            state = self._docs.get(doc_id)
            if state is None:
                continue
            # Replaying the past: only what existed then (``_known_at``, inlined: a fit
            # replays a thousand questions of a thousand documents each).
            if (
                before is not None
                and state.dates_activity
                and (state.stamp is None or state.stamp >= before)
            ):
                continue
            person = state.document.person
            if person in exclude or (only is not None and person not in only):
                continue
            similarity = doc_similarity.get(doc_id, w.min_similarity)
            lexical = doc_lexical.get(doc_id, 0.0)
            relevance = dense_share * (similarity - w.min_similarity) + w.lexical_weight * lexical
            if relevance <= 0:
                continue
            gathered.per_person[person].append(
                DocHit(
                    doc_id=doc_id,
                    kind=state.document.kind,
                    similarity=max(similarity - w.min_similarity, 0.0),
                    lexical=lexical,
                    relevance=relevance,
                    weight=self._weight(state, reference),
                )
            )
        return gathered

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

    def _known_at(self, doc_id: int, moment: float) -> bool:
        """Whether the document existed before ``moment`` (profiles always count)."""
        state = self._docs.get(doc_id)
        if state is None:
            return False
        return not state.dates_activity or (state.stamp is not None and state.stamp < moment)

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
        scored = sorted(
            (
                (self.hand_score(person, hits), person)
                for person, hits in gathered.per_person.items()
            ),
            key=lambda item: (-item[0], item[1]),
        )
        return [
            PersonMatch(
                person=person, score=round(score, 6), evidence=self.explain(person, gathered)
            )
            for score, person in scored[:k]
        ]

    def explain(self, person: str, gathered: Gathered) -> tuple[Evidence, ...]:
        """The person's best documents for the gathered query, as evidence to show."""
        best = sorted(
            (
                (hit.relevance * hit.weight, hit.doc_id)
                for hit in gathered.per_person.get(person, ())
            ),
            reverse=True,
        )[: self.weights.evidence_per_person]
        return tuple(
            self._evidence(
                doc_id, weighted, gathered.doc_similarity, gathered.best_passage, gathered.terms
            )
            for weighted, doc_id in best
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
