"""The fitted ranker on a generated community: it learns who answers, without leakage."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from indexer.embedders import Embedder
from indexer.expertise import Document, ExpertiseIndex, Passage
from indexer.ranker import (
    FEATURES,
    FitSettings,
    FittedRanker,
    History,
    Query,
    TrainingQuestion,
    calibration_report,
    candidate_features,
    fit_ranker,
    training_set,
)

TOPICS = {
    "espresso": "espresso machine pressure portafilter crema extraction grind",
    "router": "router firmware wifi channel modem antenna signal",
    "steel": "steel beam welding corrosion girder bolt construction",
    "tax": "tax return invoice vat deduction accountant receipt",
}
START = datetime(2025, 1, 1, tzinfo=UTC)


class Community:
    """Four topics; per topic two experts answer almost everything, and a busy generalist
    answers a bit of each. Questions come one a day."""

    def __init__(self, embedder: Embedder, questions: int = 160, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.rng = rng
        self.experts = {t: [f"{t}-a", f"{t}-b"] for t in TOPICS}
        self.index = ExpertiseIndex(embedder)
        self.history = History()
        self.questions: list[TrainingQuestion] = []
        documents: list[Document] = []
        answers: list[tuple[str, str, datetime]] = []
        doc_id = 0
        for n in range(questions):
            topic = rng.choice(list(TOPICS))
            words = TOPICS[topic].split()
            at = START + timedelta(days=n)
            asker = f"asker-{rng.randrange(20)}"
            text = f"question about {' '.join(rng.sample(words, 3))}"
            doc_id += 1
            documents.append(Document(doc_id, asker, text, text, (topic,), at, "question"))
            answerer = rng.choice(self.experts[topic]) if rng.random() < 0.85 else "generalist"
            doc_id += 1
            answer_at = at + timedelta(hours=2)
            body = f"answer on {' '.join(rng.sample(words, 4))}"
            documents.append(Document(doc_id, answerer, text, body, (topic,), answer_at, "answer"))
            answers.append((asker, answerer, answer_at))
            self.questions.append(
                TrainingQuestion(
                    Query(text, None, (topic,), at.timestamp(), asker), frozenset({answerer})
                )
            )
        passages = [Passage(d.doc_id, d.doc_id, d.text) for d in documents]
        self.index.add(documents, passages, embedder.encode([p.text for p in passages]))
        for document in documents:
            assert document.created_at is not None
            self.history.add_document(
                document.person, document.kind, document.created_at.timestamp(), document.tags
            )
        for asker, answerer, at in answers:
            self.history.add_link(asker, answerer, at.timestamp())


@pytest.fixture(scope="module")
def community(embedder: Embedder) -> Community:
    return Community(embedder)


@pytest.fixture(scope="module")
def fitted(community: Community) -> FittedRanker:
    train = community.questions[:120]
    return fit_ranker(
        training_set(community.index, community.history, train), FitSettings(regularisation=0.1)
    )


def test_training_rows_see_nothing_from_the_question_onwards(community: Community) -> None:
    question = community.questions[50]
    at = question.query.at
    assert at is not None
    found = candidate_features(community.index, community.history, question.query, before=at)
    for hits in found.gathered.per_person.values():
        for hit in hits:
            document = community.index.document(hit.doc_id)
            assert document is not None and document.created_at is not None
            assert document.created_at.timestamp() < at
    # The answer given two hours later is not counted for its author.
    answerer = next(iter(question.answerers))
    row = found.features[found.people.index(answerer)] if answerer in found.people else None
    if row is not None:
        answers_before = sum(1 for q in community.questions[:50] if answerer in q.answerers)
        assert round(np.expm1(row[FEATURES.index("answers")])) == answers_before


def test_the_fitted_ranker_puts_the_topic_experts_first(
    community: Community, fitted: FittedRanker
) -> None:
    first_is_expert = 0
    later = community.questions[120:]
    for question in later:
        at = question.query.at
        found = candidate_features(community.index, community.history, question.query, before=at)
        p = fitted.probabilities(found.features)
        best = found.people[int(np.argmax(p))]
        topic = question.query.tags[0]
        first_is_expert += best in community.experts[topic]
    # A ranker that ignored the topic (the generalist, or the busiest expert) would be right
    # for at most a quarter of the questions.
    assert first_is_expert / len(later) > 0.7


def test_p_answer_is_calibrated_on_later_questions(
    community: Community, fitted: FittedRanker
) -> None:
    p_all: list[float] = []
    y_all: list[int] = []
    for question in community.questions[120:]:
        at = question.query.at
        found = candidate_features(community.index, community.history, question.query, before=at)
        p_all += fitted.probabilities(found.features).tolist()
        y_all += [person in question.answerers for person in found.people]
    report = calibration_report(np.array(p_all), np.array(y_all, dtype=np.int8))
    assert report["brier"] < report["brier_constant"]
    assert report["worst_decile_gap"] < 0.1


def test_a_stored_ranker_round_trips_as_json(fitted: FittedRanker) -> None:
    again = FittedRanker.from_json(fitted.to_json())
    x = np.random.default_rng(0).normal(size=(5, len(FEATURES)))
    assert np.allclose(again.probabilities(x), fitted.probabilities(x))
    stale = {**fitted.to_json(), "features": ["dense_max"]}
    with pytest.raises(ValueError, match="refit"):
        FittedRanker.from_json(stale)


def test_fitting_without_answers_says_so() -> None:
    from indexer.ranker import TrainingSet

    empty = TrainingSet(np.zeros((3, len(FEATURES))), np.zeros(3, np.int8), np.array([0, 1, 2]), 3)
    with pytest.raises(ValueError, match="too little history"):
        fit_ranker(empty)
