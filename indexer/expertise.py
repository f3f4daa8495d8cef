"""The expertise index: documents in, ranked people with their evidence out.

Routing follows the document model of expert finding (Balog et al., 2006): every post is
evidence of its author's expertise; a query is matched against posts, not against one profile
per person, and the evidence is aggregated per person. Dense (FAISS) and lexical (BM25)
retrieval are fused per document, then per person, then multiplied by priors measured from the
data (such as answers given), so people without matching evidence are never ranked.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from indexer.chunking import chunk_text
from indexer.dense import DenseIndex
from indexer.embedders import Embedder
from indexer.lexical import LexicalIndex


@dataclass(frozen=True)
class Document:
    """One piece of a person's history: a profile, a post, an answer."""

    doc_id: int
    person: str
    title: str
    body: str
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None

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
class RankingWeights:
    """Knobs of the person scorer; tuned on development data, never on evaluation data."""

    dense_candidates: int = 400
    lexical_candidates: int = 400
    # Share of a document's relevance that comes from BM25 (the rest from the embedding).
    lexical_weight: float = 0.35
    # Cosine similarity below which a passage is no evidence at all (for the default model,
    # unrelated texts score about 0.0-0.2). Lets a call with no expert get an honest "nobody".
    min_similarity: float = 0.2
    # How many of a person's documents count, and how fast later ones fade.
    docs_per_person: int = 5
    doc_decay: float = 0.6
    # Strength of the per-person prior (0..1 values, e.g. answers given, reply rate).
    prior_weight: float = 0.5
    evidence_per_person: int = 3


@dataclass
class _DocState:
    document: Document
    vector_ids: list[int] = field(default_factory=list)


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
        for document in documents:
            self._docs[document.doc_id] = _DocState(document)
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

    def add_without_vectors(
        self, documents: Sequence[Document], passages: Sequence[Passage]
    ) -> None:
        """Register documents whose vectors are already in an attached dense index."""
        for document in documents:
            self._docs[document.doc_id] = _DocState(document)
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
        for vector_id in vector_ids:
            self._passages.pop(vector_id, None)
        if vector_ids:
            self.dense.remove(np.asarray(vector_ids, dtype=np.int64))
        if removed:
            self.lexical.remove(removed)

    def set_priors(self, priors: Mapping[str, float]) -> None:
        """Per-person priors in [0, 1]; people without one get 0."""
        self._priors = {person: min(max(value, 0.0), 1.0) for person, value in priors.items()}

    def save(self, path: Path, watermark: int) -> None:
        self.dense.save(path, watermark)

    # -- searching --------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        exclude: Set[str] = frozenset(),
        only: Set[str] | None = None,
        query_vector: NDArray[np.float32] | None = None,
    ) -> list[PersonMatch]:
        """The ``k`` people whose documents best match ``query``, each with evidence.

        ``exclude`` (the asker, people who opted out) and ``only`` (an audience) are applied
        before ranking, so the list is filled from the next candidates rather than shortened.
        """
        w = self.weights
        if not query.strip() or not self._docs:
            return []
        qv = query_vector if query_vector is not None else self.embedder.encode([query])[0]
        vector_ids, similarities = self.dense.search(qv, w.dense_candidates)
        doc_similarity: dict[int, float] = {}
        best_passage: dict[int, int] = {}
        for vector_id, similarity in zip(vector_ids.tolist(), similarities.tolist(), strict=True):
            passage = self._passages.get(vector_id)
            if passage is None or similarity <= doc_similarity.get(passage.doc_id, -2.0):
                continue
            doc_similarity[passage.doc_id] = similarity
            best_passage[passage.doc_id] = vector_id
        lex_ids, lex_scores, terms = self.lexical.search(query, w.lexical_candidates)
        doc_lexical = {
            doc_id: min(score, 1.0)
            for doc_id, score in zip(lex_ids.tolist(), lex_scores.tolist(), strict=True)
        }

        per_person: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for doc_id in doc_similarity.keys() | doc_lexical.keys():
            state = self._docs.get(doc_id)
            if state is None:
                continue
            person = state.document.person
            if person in exclude or (only is not None and person not in only):
                continue
            similarity = doc_similarity.get(doc_id, 0.0)
            dense_part = max(0.0, similarity - w.min_similarity) / (1 - w.min_similarity)
            relevance = (1 - w.lexical_weight) * dense_part + w.lexical_weight * doc_lexical.get(
                doc_id, 0.0
            )
            if relevance <= 0:
                continue
            per_person[person].append((relevance, doc_id))

        scored: list[tuple[float, str, list[tuple[float, int]]]] = []
        for person, docs in per_person.items():
            docs.sort(reverse=True)
            evidence_score = sum(
                relevance * w.doc_decay**i
                for i, (relevance, _) in enumerate(docs[: w.docs_per_person])
            )
            score = evidence_score * (1 + w.prior_weight * self._priors.get(person, 0.0))
            scored.append((score, person, docs))
        scored.sort(key=lambda item: (-item[0], item[1]))

        return [
            PersonMatch(
                person=person,
                score=round(score, 6),
                evidence=tuple(
                    self._evidence(doc_id, relevance, doc_similarity, best_passage, terms)
                    for relevance, doc_id in docs[: w.evidence_per_person]
                ),
            )
            for score, person, docs in scored[:k]
        ]

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
        haystack = document.text.lower()
        matched = tuple(t for t in terms if t in haystack)
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
    flat = re.sub(r"\s+", " ", text).strip()
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
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    return f"{prefix}{flat[start:end].strip()}{suffix}"
