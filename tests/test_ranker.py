"""The fitted ranker on a generated community: it learns who answers, without leakage."""

from __future__ import annotations

import bisect
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from indexer.embedders import Embedder
from indexer.expertise import ASKED, Document, ExpertiseIndex, Passage
from indexer.lexical import tokenize
from indexer.ranker import (
    ACTIVE_DEPTH,
    DAY,
    FEATURES,
    RECENT_CANDIDATES,
    RECENT_WINDOW_DAYS,
    TOPICAL_CANDIDATES,
    FitSettings,
    FittedRanker,
    History,
    Query,
    TrainingQuestion,
    calibration_report,
    candidate_features,
    fit_ranker,
    query_language,
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
    # The answer given two hours later is not counted for its author (a topic expert, so
    # always a candidate: by topic or as one of the most active).
    answerer = next(iter(question.answerers))
    assert answerer in found.people
    row = found.features[found.people.index(answerer)]
    answers_before = sum(1 for q in community.questions[:50] if answerer in q.answerers)
    assert answers_before > 0
    assert round(np.expm1(row[FEATURES.index("answers")])) == answers_before


def test_the_regularisation_is_the_one_that_ranks_held_back_questions_best(
    community: Community,
) -> None:
    data = training_set(community.index, community.history, community.questions[:120])
    strengths = (1.0, 0.01, 0.001)  # not in order: the choice must not depend on it
    each = {
        c: fit_ranker(data, FitSettings(regularisation=c)).metrics["held_mrr_fitted"]
        for c in strengths
    }
    chosen = fit_ranker(data, FitSettings(regularisation=strengths))
    best = max(each.values())
    assert chosen.metrics["held_mrr_fitted"] == best
    # Of equally good strengths, the strongest penalty (smallest C) is kept.
    assert chosen.metrics["regularisation"] == min(c for c, mrr in each.items() if mrr == best)


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


def _reference_features(
    index: ExpertiseIndex,
    history: History,
    query: Query,
    exclude: frozenset[str] = frozenset(),
    before: float | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``candidate_features`` written plainly, a person and a feature at a time: what the
    optimised featurisation must equal."""

    def decayed(stamps: list[float], end: int, at: float, days: float) -> float:
        if end == 0:
            return 0.0
        recent = np.asarray(stamps[max(0, end - 500) : end], dtype=np.float64)
        return float(np.exp(-(at - recent) / (days * DAY)).sum())

    def popularity_place(person: str, at: float) -> int:
        log = sorted(history._answer_log)
        counts = Counter(p for _, p in log[: bisect.bisect_left(log, (at, ""))])
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        places = {p: i for i, (p, _) in enumerate(ranked)}
        return min(places.get(person, ACTIVE_DEPTH), ACTIVE_DEPTH)

    def recently_active(at: float, k: int, excluded: set[str]) -> list[str]:
        log = sorted(history._answer_log)
        lo = bisect.bisect_left(log, (at - RECENT_WINDOW_DAYS * DAY, ""))
        hi = bisect.bisect_left(log, (at, ""))
        chosen: list[str] = []
        for counts in (Counter(p for _, p in log[lo:hi]), Counter(p for _, p in log[:hi])):
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            chosen += [p for p, _ in ranked if p not in excluded and p not in chosen][:k]
        return chosen

    excluded = set(exclude) | ({query.asker} if query.asker else set())
    gathered = index.gather(query.text, excluded, None, query.vector, before=before)
    assert query.at is not None
    at = query.at
    people = sorted(
        gathered.per_person,
        key=lambda p: (-index.hand_score(p, gathered.per_person[p]), p),
    )[:TOPICAL_CANDIDATES]
    topical = set(people)
    people += [p for p in recently_active(at, RECENT_CANDIDATES, excluded) if p not in topical]
    query_tags = {t.lower() for t in query.tags}
    query_terms = set(tokenize(query.text)) | query_tags
    language = query_language(query.text)
    best_dense = max(
        (max((h.similarity for h in hits), default=0.0) for hits in gathered.per_person.values()),
        default=0.0,
    )
    rows = []
    for person in people:
        hits = gathered.per_person.get(person, [])
        dense = sorted((h.similarity for h in hits if h.similarity > 0), reverse=True)
        lexical = sorted((h.lexical for h in hits if h.lexical > 0), reverse=True)
        record = history.person(person)
        answers = activity = tag_answers = tags_known = skill_hits = 0
        asked = answered = declined = ignored = 0
        recent7 = recent30 = recent180 = tag_recent = 0.0
        idle_days, language_match = 3650.0, 0.5
        if record is not None:
            answers = bisect.bisect_left(record.answer_stamps, at)
            activity = bisect.bisect_left(record.activity_stamps, at)
            recent7 = decayed(record.answer_stamps, answers, at, 7)
            recent30 = decayed(record.answer_stamps, answers, at, 30)
            recent180 = decayed(record.answer_stamps, answers, at, 180)
            if activity:
                idle_days = max(at - record.activity_stamps[activity - 1], 0.0) / DAY
            for tag in query_tags:
                stamps = record.tag_stamps.get(tag)
                if stamps:
                    n = bisect.bisect_left(stamps, at)
                    tag_answers += n
                    tags_known += n > 0
                    tag_recent += decayed(stamps, n, at, 30)
            skill_hits = len(record.skills & query_terms)
            if language is not None and record.languages:
                language_match = 1.0 if language in record.languages else 0.0
            for stamp, outcome in record.responses:
                if stamp >= at:
                    break
                asked += 1
                answered += outcome == "answered"
                declined += outcome == "declined"
                ignored += outcome == "ignored"
        rows.append(
            [
                dense[0] if dense else 0.0,
                sum(dense[:3]),
                math.log1p(len(dense)),
                max((h.similarity for h in hits if h.kind not in ASKED), default=0.0),
                (dense[0] if dense else 0.0) - best_dense,
                lexical[0] if lexical else 0.0,
                sum(lexical[:3]),
                math.log1p(len(lexical)),
                math.log1p(100 * index.hand_score(person, hits)) if hits else 0.0,
                1.0 if hits else 0.0,
                math.log1p(tag_answers),
                tags_known / len(query_tags) if query_tags else 0.0,
                math.log1p(tag_recent),
                math.log1p(history.helped_before(query.asker, person, at)),
                math.log1p(answers),
                math.log1p(activity),
                math.log1p(recent7),
                math.log1p(recent30),
                math.log1p(recent180),
                math.log1p(idle_days),
                max((h.similarity for h in hits if h.kind == "profile"), default=0.0),
                math.log1p(skill_hits),
                language_match,
                math.log1p(asked),
                (answered + 1) / (asked + 2),
                declined / asked if asked else 0.0,
                ignored / asked if asked else 0.0,
                math.log1p(popularity_place(person, at)),
            ]
        )
    return (
        people,
        np.array(rows).reshape(len(people), len(FEATURES)),
        np.array([p in topical for p in people]),
    )


def test_the_featurisation_equals_a_plain_reference(community: Community) -> None:
    """The vectorised features (and the array-based "recently active" candidates) are the
    plain per-person definitions: on a history with profiles, links, outcomes of asks, tied
    activity counts and a person with more answers than a recency sum counts."""
    rng = random.Random(11)
    history = History()
    for document in community.index.documents():
        assert document.created_at is not None
        stamp = document.created_at.timestamp()
        history.add_document(document.person, document.kind, stamp, document.tags)
        if document.kind == "answer":
            history.add_response(
                document.person, stamp - 3600, rng.choice(["answered", "answered", "ignored"])
            )
        elif rng.random() < 0.3:
            outcome = rng.choice(["declined", "ignored", "answered"])
            for expert in community.experts[document.tags[0]]:
                history.add_response(expert, stamp + 60, outcome)
    for question in community.questions:
        for answerer in question.answerers:
            assert question.query.asker is not None and question.query.at is not None
            history.add_link(question.query.asker, answerer, question.query.at + 7200)
    for topic, experts in community.experts.items():
        history.set_profile(experts[0], [topic, "Excel"], ["en"])
        history.set_profile(experts[1], ["Ladder"], ["nl", "en"])
    start = START.timestamp()
    for i in range(620):  # more answers than a recency sum counts (500)
        history.add_document("veteran", "answer", start + i * 20_000.0, ("steel", "tax"))
    for n in range(12):  # equal counts: ranked by name
        history.add_document(f"tied-{n:02d}", "answer", start + 86_400.0 * 80, ("router",))
    # The same moment again with others excluded: "recently active" is ranked once a moment.
    busy = {"tied-03", "veteran", "tied-00", "generalist"}
    checked = 0
    for question in community.questions[60:160:4]:
        query = question.query
        assert query.at is not None
        for before, excluded in ((query.at, {"tied-03"}), (None, {"tied-03"}), (None, busy)):
            now = Query(query.text, query.vector, (*query.tags, "Steel"), query.at, query.asker)
            found = candidate_features(
                community.index, history, now, exclude=excluded, before=before
            )
            people, rows, topical = _reference_features(
                community.index, history, now, frozenset(excluded), before
            )
            assert found.people == people
            assert found.topical.tolist() == topical.tolist()
            # Equal but for the last bit of the recency sums (summed over all candidates at
            # once rather than window by window).
            np.testing.assert_allclose(found.features, rows, rtol=1e-12, atol=1e-12)
            # Routing with a model computes only the features it weighs; the rest stay 0.
            needed = frozenset(rng.sample(FEATURES, 6)) | {"hand_score"}
            some = candidate_features(
                community.index, history, now, exclude=excluded, before=before, needed=needed
            )
            columns = [f in needed for f in FEATURES]
            np.testing.assert_allclose(some.features[:, columns], rows[:, columns], 1e-12, 1e-12)
            assert not some.features[:, [not c for c in columns]].any()
            checked += len(people)
    assert checked > 500


def test_a_fit_replays_only_the_latest_questions_after_the_warm_up(community: Community) -> None:
    """A large history stays quick to fit on: the earliest share and all but the latest
    ``limit`` questions are not replayed (their answers still count in everyone's features)."""
    questions = community.questions[:100]
    data = training_set(community.index, community.history, questions, 0.3, limit=1_000)
    assert data.questions == 70
    latest = training_set(community.index, community.history, questions, 0.3, limit=20)
    assert latest.questions == 20
    # The same rows as the last 20 of the full replay: each computed as of its own question.
    tail = data.groups >= 50
    np.testing.assert_array_equal(latest.features, data.features[tail])
    np.testing.assert_array_equal(latest.labels, data.labels[tail])
