"""Baseline rankers: the figures AskHub has to beat."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from askhub.imports.stackexchange import read_dump, split_for_evaluation
from indexer.baselines import (
    BM25PostsBaseline,
    BM25ProfileBaseline,
    PopularityBaseline,
    RandomBaseline,
)
from indexer.metrics import summarise

CARDANO = Path(__file__).resolve().parents[2] / "shared/data/cardano.stackexchange.com"

DOCS = [
    ("ann", "How do I delegate my stake to a pool from Daedalus?"),
    ("ann", "Delegation rewards arrive after two epochs."),
    ("bob", "Writing a Plutus validator for a time-locked script."),
    ("bob", "The stake pool pledge is checked at the epoch boundary."),
    ("cid", "My Yoroi wallet shows the wrong balance after delegation."),
    ("dee", "Minting an NFT with cardano-cli needs a policy script and the hieroglyph metadata."),
]
PEOPLE = ["ann", "bob", "cid", "dee"]


@pytest.mark.parametrize("make", [BM25PostsBaseline, BM25ProfileBaseline])
def test_bm25_finds_the_author_of_a_rare_word(
    make: type[BM25PostsBaseline | BM25ProfileBaseline],
) -> None:
    ranker = make(DOCS)
    assert ranker.rank("Which metadata standard uses hieroglyph fields?", set())[0] == "dee"
    # Stemming matches "validators" to "validator".
    assert ranker.rank("plutus validators", set()) == ["bob"]


@pytest.mark.parametrize("make", [BM25PostsBaseline, BM25ProfileBaseline])
def test_bm25_excludes_and_limits(make: type[BM25PostsBaseline | BM25ProfileBaseline]) -> None:
    ranker = make(DOCS)
    full = ranker.rank("delegation stake pool epoch", set())
    assert set(full) == {"ann", "bob", "cid"}
    assert ranker.rank("delegation stake pool epoch", {full[0]}) == full[1:]
    assert ranker.rank("delegation stake pool epoch", set(), k=1) == full[:1]


@pytest.mark.parametrize("make", [BM25PostsBaseline, BM25ProfileBaseline])
def test_bm25_without_query_terms_falls_back_to_popularity(
    make: type[BM25PostsBaseline | BM25ProfileBaseline],
) -> None:
    ranker = make(DOCS)
    # ann and bob have two documents each (tie broken by id), cid and dee one.
    assert ranker.rank("", set()) == ["ann", "bob", "cid", "dee"]
    assert ranker.rank("is the of it", {"ann"}, k=2) == ["bob", "cid"]
    assert make([]).rank("stake", set()) == []


def test_popularity_orders_by_answers_then_id() -> None:
    ranker = PopularityBaseline({"bob": 3, "cid": 3, "ann": 1, "zed": 9}, PEOPLE)
    assert ranker.rank("ignored", set()) == ["bob", "cid", "ann", "dee"]
    assert ranker.rank("ignored", {"bob"}, k=2) == ["cid", "ann"]


def test_random_is_seeded_and_excludes() -> None:
    first = RandomBaseline(PEOPLE, seed=7)
    again = RandomBaseline(PEOPLE, seed=7)
    orders = [first.rank("q", {"ann"}) for _ in range(5)]
    assert orders == [again.rank("q", {"ann"}) for _ in range(5)]
    assert all(sorted(order) == ["bob", "cid", "dee"] for order in orders)
    assert len({tuple(order) for order in orders}) > 1  # a fresh permutation per call
    assert len(first.rank("q", set(), k=2)) == 2


def test_on_cardano_text_beats_chance() -> None:
    if not CARDANO.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"development dump missing in CI: {CARDANO}")
        pytest.skip(f"development dump not present at {CARDANO}")
    dump = read_dump(CARDANO)
    split = split_for_evaluation(dump)
    titles = {p.id: p.title for p in dump.posts if p.post_type == 1}
    docs = [
        (
            str(p.owner_id),
            f"{titles.get(p.parent_id or '', '') if p.post_type == 2 else p.title} {p.body}",
        )
        for p in split.history
    ]
    answers = Counter(str(p.owner_id) for p in split.history if p.post_type == 2)
    rankers: dict[
        str, RandomBaseline | PopularityBaseline | BM25PostsBaseline | BM25ProfileBaseline
    ]
    rankers = {
        "random": RandomBaseline(sorted(split.candidates)),
        "popularity": PopularityBaseline(answers, split.candidates),
        "posts": BM25PostsBaseline(docs),
        "profile": BM25ProfileBaseline(docs),
    }
    relevant = [q.relevant for q in split.test_questions]
    mrr = {}
    for name, ranker in rankers.items():
        rankings = [
            ranker.rank(f"{q.post.title} {q.post.body}", {q.asker_id}) for q in split.test_questions
        ]
        assert all(q.asker_id not in r for q, r in zip(split.test_questions, rankings, strict=True))
        mrr[name] = summarise(rankings, relevant)["mrr"]
    assert mrr["random"] < 0.05
    assert min(mrr["popularity"], mrr["posts"], mrr["profile"]) > 2 * mrr["random"]
