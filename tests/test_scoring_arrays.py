"""Routing scores a query's documents as arrays; they must say what the document model says,
document by document, also after documents are edited, removed and replayed from the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from indexer.embedders import Embedder
from indexer.expertise import Document, ExpertiseIndex, Passage

START = datetime(2025, 1, 1, tzinfo=UTC)
TEXTS = [
    "espresso machine pressure and crema",
    "grinding beans for espresso extraction",
    "router firmware and wifi channels",
    "steel beam welding and corrosion",
    "vat deduction on an invoice",
    "espresso portafilter cleaning",
]


def add(index: ExpertiseIndex, embedder: Embedder, documents: list[Document]) -> None:
    passages = [Passage(d.doc_id + 1000, d.doc_id, d.text) for d in documents]
    index.add(documents, passages, embedder.encode([p.text for p in passages]))


def reference(
    index: ExpertiseIndex, query: str, exclude: set[str], before: float | None = None
) -> dict[str, dict[int, tuple[float, float]]]:
    """Per person, per document (relevance, weight), worked out one document at a time."""
    w = index.weights
    vector = index.embedder.encode([query])[0]
    ids, scores = index.dense.search(vector, w.dense_candidates)
    similarity: dict[int, float] = {}
    for vector_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
        if score <= w.min_similarity:
            break
        doc_id = vector_id - 1000
        similarity.setdefault(doc_id, score)
    lex_ids, lex_scores, _ = index.lexical.search(query, w.lexical_candidates)
    lexical = {d: min(s, 1.0) for d, s in zip(lex_ids.tolist(), lex_scores.tolist(), strict=True)}

    def known(doc_id: int) -> bool:
        document = index.document(doc_id)
        assert document is not None and document.created_at is not None
        return (
            before is None or document.kind == "profile" or document.created_at.timestamp() < before
        )

    if before is not None:
        lexical = {d: v for d, v in lexical.items() if known(d)}
        best = max(lexical.values(), default=0.0)
        lexical = {d: v / best for d, v in lexical.items()} if best > 0 else lexical
    out: dict[str, dict[int, tuple[float, float]]] = {}
    share = (1 - w.lexical_weight) / (1 - w.min_similarity)
    for doc_id in similarity.keys() | lexical.keys():
        document = index.document(doc_id)
        if document is None or document.person in exclude or not known(doc_id):
            continue
        relevance = share * (similarity.get(doc_id, w.min_similarity) - w.min_similarity)
        relevance += w.lexical_weight * lexical.get(doc_id, 0.0)
        if relevance > 0:
            weight = index.document_weight(doc_id) if before is None else None
            out.setdefault(document.person, {})[doc_id] = (relevance, weight or 0.0)
    return out


@pytest.mark.parametrize("edited", [False, True])
def test_the_arrays_score_what_the_document_model_says(embedder: Embedder, edited: bool) -> None:
    index = ExpertiseIndex(embedder)
    documents = [
        Document(
            n,
            f"person-{n % 4}",
            text,
            text,
            created_at=START + timedelta(days=30 * n),
            kind="question" if n % 3 == 0 else "answer",
        )
        for n, text in enumerate(TEXTS * 2)
    ]
    add(index, embedder, documents)
    if edited:
        # An answer rewritten about espresso, one removed, one added by a new person.
        add(
            index,
            embedder,
            [Document(3, "person-3", "espresso", "espresso tamping", (), START, "answer")],
        )
        index.remove([4])
        add(
            index,
            embedder,
            [Document(40, "newcomer", "espresso", "espresso beans", (), START, "post")],
        )
    query = "espresso machine extraction"
    expected = reference(index, query, {"person-1"})
    gathered = index.gather(query, exclude={"person-1"})
    found = {
        person: {hit.doc_id: (hit.relevance, hit.weight) for hit in hits}
        for person, hits in gathered.per_person.items()
    }
    # The same documents with the same relevance and weight, to the bit.
    assert found == expected
    matches = index.search(query, k=10, exclude={"person-1"})
    assert [m.person for m in matches] == sorted(
        expected,
        key=lambda p: (-index.hand_score(p, gathered.per_person[p]), p),
    )
    assert "person-1" not in found
    # Replaying the past: only what existed before the fourth month counts.
    before = (START + timedelta(days=100)).timestamp()
    past = index.gather(query, before=before)
    assert {
        person: set(hits) for person, hits in reference(index, query, set(), before).items()
    } == {person: {h.doc_id for h in hits} for person, hits in past.per_person.items()}
