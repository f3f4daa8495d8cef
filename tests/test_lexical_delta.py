"""BM25 after edits: the delta ranks like a freshly built index and forgets old words."""

from __future__ import annotations

import random
import threading

from indexer import lexical
from indexer.lexical import LexicalIndex

WORDS = [f"woord{i}" for i in range(300)]


def _docs(n: int, seed: int) -> dict[int, str]:
    r = random.Random(seed)
    return {i: " ".join(r.choices(WORDS, k=40)) for i in range(1, n + 1)}


def test_edited_and_removed_documents_rank_as_in_a_fresh_index() -> None:
    docs = _docs(400, 1)
    live = LexicalIndex()
    live.add(docs.items())
    live.search("woord1", 5)  # built
    edits = _docs(30, 2)
    for doc_id, text in edits.items():
        docs[doc_id * 7] = text + " hovercraft"
    live.add((doc_id * 7, docs[doc_id * 7]) for doc_id in edits)
    for gone in (3, 5, 11):
        docs.pop(gone)
    live.remove([3, 5, 11])
    fresh = LexicalIndex()
    fresh.add(docs.items())

    for query in ("hovercraft", "woord1 woord2", "woord17 hovercraft woord250"):
        got_ids, got_scores, got_terms = live.search(query, 10)
        want_ids, _, want_terms = fresh.search(query, 10)
        assert got_terms == want_terms
        assert set(got_ids[:5].tolist()) & set(want_ids[:5].tolist())
        assert not {3, 5, 11} & set(got_ids.tolist())
        assert got_scores[0] == 1.0
    # Only edited documents hold the new word, and every one of them is found.
    ids, _, _ = live.search("hovercraft", 100)
    assert set(ids.tolist()) == {doc_id * 7 for doc_id in edits}


def test_an_old_word_of_an_edited_document_is_no_longer_found() -> None:
    live = LexicalIndex()
    live.add([(1, "zeppelinhangar daken"), (2, "staalbouw liggers"), (3, "modem firmware")])
    assert live.search("zeppelinhangar", 3)[0].tolist() == [1]
    live.add([(1, "hovercraft rokken")])
    assert live.search("zeppelinhangar", 3)[0].tolist() == []
    assert live.search("hovercraft", 3)[0].tolist() == [1]


def test_a_large_delta_is_folded_into_a_rebuilt_matrix(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(lexical, "DELTA_MAX", 5)
    live = LexicalIndex()
    live.add(_docs(50, 3).items())
    live.search("woord1", 5)
    built = live._bm25
    live.add((i, "hovercraft") for i in range(1, 4))
    live.search("hovercraft", 5)
    assert live._bm25 is built  # three changes: scored as a delta
    live.add((i, "hovercraft") for i in range(4, 10))
    assert live.search("hovercraft", 20)[0].size == 9
    assert live._bm25 is not built


def test_a_background_rebuild_answers_meanwhile_and_keeps_the_changes_made_during_it(
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(lexical, "DELTA_MAX", 5)
    docs = _docs(200, 4)
    live = LexicalIndex()
    live.background = True
    live.add(docs.items())
    live.search("woord1", 5)  # the first build: on the call
    built = live._bm25
    release = threading.Event()
    real_build = lexical._build

    def held_build(documents):  # type: ignore[no-untyped-def]
        release.wait(30)
        return real_build(documents)

    monkeypatch.setattr(lexical, "_build", held_build)
    edits = {doc_id: text + " hovercraft" for doc_id, text in _docs(10, 5).items()}
    live.add(edits.items())
    docs.update(edits)
    ids, scores, _ = live.search("hovercraft", 50)  # starts the rebuild; the delta answers
    assert live._bm25 is built
    assert set(ids.tolist()) == set(edits) and scores[0] == 1.0
    # Changes while the rebuild runs are not lost when it takes the old matrix's place.
    live.remove([1])
    docs.pop(1)
    live.add([(500, "hovercraft zeppelinhangar")])
    docs[500] = "hovercraft zeppelinhangar"
    release.set()
    live.wait_build()
    assert live._bm25 is not built

    fresh = LexicalIndex()
    fresh.add(docs.items())
    ids, _, _ = live.search("hovercraft", 50)
    assert set(ids.tolist()) == set(edits) - {1} | {500}
    assert live.search("zeppelinhangar", 5)[0].tolist() == [500]
    for query in ("woord1 woord2", "woord17 hovercraft woord250"):
        got_ids, _, got_terms = live.search(query, 10)
        want_ids, _, want_terms = fresh.search(query, 10)
        assert got_terms == want_terms
        assert set(got_ids[:5].tolist()) & set(want_ids[:5].tolist())
        assert 1 not in got_ids.tolist()
