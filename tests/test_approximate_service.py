"""Above ASKHUB_APPROXIMATE_ABOVE the running service switches to the approximate (IVF) index:
built in the background while exact search keeps answering, swapped in with every change made
meanwhile, and its recall against exact shown in /api/health.

The build is held at a gate just after it copied the vectors, so the test can route, write and
delete while it is "running", then let it finish.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from litestar.testing import AsyncTestClient
from numpy.typing import NDArray
from sqlalchemy import func, select

from askhub.app import create_app
from askhub.context import AppContext
from askhub.people.schemas import PostCreate
from askhub.people.service import create_post, get_by_handle
from askhub.routing.service import RoutingService
from indexer.dense import DenseIndex
from models import Embedding
from tests.test_api import token_for

KEPT_WORDS = "Zeppelinhangar dakbedekking"
GONE_WORDS = "Kwartelfokkerij ventilatie"
NEW_WORDS = "Hovercraft rokken vervangen"
DEADLINE = 120.0


class Gate:
    """Holds the background build after its copy of the vectors until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def wrap(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = DenseIndex.build.__func__  # type: ignore[attr-defined]

        def build(
            cls: type[DenseIndex],
            /,
            model_id: str,
            ids: NDArray[np.int64],
            vectors: NDArray[np.float32],
            **options: Any,
        ) -> DenseIndex:
            if threading.current_thread().name == "askhub-approximate-index":
                self.reached.set()
                assert self.release.wait(DEADLINE), "the test never released the build"
            built: DenseIndex = original(cls, model_id, ids, vectors, **options)
            return built

        monkeypatch.setattr(DenseIndex, "build", classmethod(build))


async def _wait_for(event: threading.Event) -> None:
    deadline = time.monotonic() + DEADLINE
    while not event.is_set():
        assert time.monotonic() < deadline, "the background build never started"
        await asyncio.sleep(0.05)


async def _search_state(client: AsyncTestClient[Any]) -> dict[str, Any]:
    response = await client.get("/api/health")
    assert response.status_code == 200, response.text
    search: dict[str, Any] = response.json()["index"]["search"]
    return search


async def _asked_for(
    client: AsyncTestClient[Any], auth: dict[str, str], words: str
) -> dict[int, float]:
    """The posts a new question with ``words`` cites as evidence, over everyone matched, with
    their similarity in meaning (0 when only the words matched: not in the dense index)."""
    response = await client.post(
        "/api/calls", json={"kind": "question", "title": words, "body": words}, headers=auth
    )
    assert response.status_code == 201, response.text
    return {r["post_id"]: r["similarity"] for m in response.json()["matches"] for r in m["reasons"]}


@pytest.fixture
async def gated(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[AsyncTestClient[Any], AppContext, Gate, dict[str, int]]]:
    """The server with a tiny threshold, two posts written before it starts (so they are in
    the build's copy), and the build held at the gate."""
    posts = {}
    async with org.sessions() as session, session.begin():
        tom = await get_by_handle(session, "tom.bakker")
        assert tom
        for words in (KEPT_WORDS, GONE_WORDS):
            post = await create_post(
                session, org.routing, tom, PostCreate(title=words, body=f"Ik ken {words} goed.")
            )
            posts[words] = post.id
    gate = Gate()
    gate.wrap(monkeypatch)
    # About 35 vectors in 23 lists: probing 16 of them finds nearly every neighbour.
    settings = replace(org.settings, approximate_above=10, nprobe=16)
    app = create_app(settings=settings, embedder=org.routing.embedder)
    try:
        async with AsyncTestClient(app=app) as client:
            yield client, app.state.context, gate, posts
    finally:
        gate.release.set()


async def test_the_service_switches_to_ivf_in_the_background_without_losing_a_change(
    gated: tuple[AsyncTestClient[Any], AppContext, Gate, dict[str, int]], org: AppContext
) -> None:
    client, running, gate, posts = gated
    # The app runs its own database engine on the test client's loop: the test reads and
    # writes the same database through ``org``'s.
    tom, asker = await token_for(org, "tom.bakker"), await token_for(org, "asker")
    await _wait_for(gate.reached)

    # While it builds, exact search answers and says so.
    building = await _search_state(client)
    assert building["kind"] == "exact" and building["building_since"] is not None
    assert building["approximate_above"] == 10 and building["recall"] is None
    assert posts[KEPT_WORDS] in await _asked_for(client, asker, KEPT_WORDS)

    # A post written and a post deleted during the build; a call routes them into the index.
    written = await client.post(
        "/api/posts", json={"title": NEW_WORDS, "body": f"Ik kan {NEW_WORDS}."}, headers=tom
    )
    assert written.status_code == 201, written.text
    new_post = written.json()["id"]
    deleted = await client.delete(f"/api/posts/{posts[GONE_WORDS]}", headers=tom)
    assert deleted.status_code == 204
    assert new_post in await _asked_for(client, asker, NEW_WORDS)
    assert posts[GONE_WORDS] not in await _asked_for(client, asker, GONE_WORDS)
    routing = running.routing
    index = routing._index
    assert index is not None

    gate.release.set()
    deadline = time.monotonic() + DEADLINE
    while (state := await _search_state(client))["kind"] != "ivf":
        assert time.monotonic() < deadline, f"never swapped in: {state}"
        await asyncio.sleep(0.05)

    # The recall against exact is shown, and on this small index nearly everything is probed.
    recall = state["recall"]
    assert state["building_since"] is None and state["built_at"] is not None
    assert state["nprobe"] == 16 and state["nlist"] > 16
    assert recall["queries"] > 10
    figures = [v for key, v in recall.items() if key.startswith("recall_at_")]
    assert figures and all(0.0 <= v <= 1.0 for v in figures)
    assert recall["recall_at_10"] >= 0.9 and recall["people_top10_kept"] >= 0.8

    # The swap replayed the changes onto the new index instead of rebuilding the whole one:
    # the written post is found, the deleted one is not back, and the index matches the table.
    assert (await _asked_for(client, asker, NEW_WORDS)).get(new_post, 0.0) > 0.5
    assert posts[GONE_WORDS] not in await _asked_for(client, asker, GONE_WORDS)
    assert (await _asked_for(client, asker, KEPT_WORDS)).get(posts[KEPT_WORDS], 0.0) > 0.5
    # (Each call is stored as a post of its asker: a preview, which stores nothing, takes in
    # the last one.)
    preview = await client.post(
        "/api/calls/preview", json={"kind": "question", "title": KEPT_WORDS}, headers=asker
    )
    assert preview.status_code == 200, preview.text
    assert routing._index is index and index.dense.kind == "ivf"
    async with org.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(Embedding))
    assert len(index.dense) == stored


async def test_the_saved_index_keeps_its_kind_and_recall_across_a_restart(
    org: AppContext,
) -> None:
    """`askhub index build` waits for the approximate index and saves it with its recall; the
    next process loads it as it is (no second build) and shows the same figures."""
    settings = replace(org.settings, approximate_above=10)
    first = RoutingService(settings, org.routing.embedder)
    first.build_threads = None
    async with org.sessions() as session:
        await first.sync(session)
    await first.wait_approximate()
    state = first.search_state()
    assert state["kind"] == "ivf" and state["recall"] is not None
    first.save()

    second = RoutingService(replace(settings, nprobe=4), org.routing.embedder)
    async with org.sessions() as session:
        await second.sync(session)
    again = second.search_state()
    assert again["kind"] == "ivf" and again["building_since"] is None
    assert again["recall"] == state["recall"] and again["nprobe"] == 4


def test_the_index_counts_answers_per_person_as_documents_come_and_go() -> None:
    """The "answers given" prior reads these counts instead of counting every post in the
    database after each change."""
    from indexer.expertise import Document, ExpertiseIndex

    class Flat:
        model_id, dim = "flat", 4

        def encode(self, texts: Any) -> NDArray[np.float32]:
            return np.full((len(texts), 4), 0.5, dtype=np.float32)

    index = ExpertiseIndex(Flat())
    docs = [
        Document(1, "ann", "a", "steel", kind="answer"),
        Document(2, "ann", "b", "steel", kind="answer"),
        Document(3, "bob", "c", "glass", kind="answer"),
        Document(4, "bob", "d", "glass", kind="question"),
    ]
    index.add(docs, [], np.zeros((0, 4), dtype=np.float32))
    assert index.answers() == {"ann": 2, "bob": 1}
    # An answer edited into a post, a deletion, and a re-add of the same document.
    index.add([Document(2, "ann", "b", "steel", kind="post")], [], np.zeros((0, 4), np.float32))
    index.remove([3])
    index.add([docs[0]], [], np.zeros((0, 4), dtype=np.float32))
    assert index.answers() == {"ann": 1}


async def test_a_failed_build_leaves_exact_search_answering_and_says_why(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> DenseIndex:
        raise MemoryError("no room for a second copy")

    monkeypatch.setattr("askhub.routing.service.approximate_copy", fail)
    routing = RoutingService(replace(org.settings, approximate_above=10), org.routing.embedder)
    async with org.sessions() as session:
        await routing.sync(session)
        await routing.wait_approximate()
        state = routing.search_state()
        assert state["kind"] == "exact" and state["building_since"] is None
        assert "no room for a second copy" in str(state["last_build_error"])
        found = await routing.route(session, "Wie weet iets van staalbouw?", k=5)
        assert "sanne.visser" in {m.person.handle for m in found}
