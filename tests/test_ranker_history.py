"""With a fitted ranker, a change to the index (every new call is indexed as a post) does not
make the next routing call rebuild the ranker's history (seconds at 100k posts): the last history
built keeps serving while a fresh one is built in the background, one at a time, and once it is
in place the change counts in the features. (Behaviour observed, not timed.)"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.context import AppContext
from askhub.people.schemas import PostCreate
from askhub.people.service import create_post, get_by_handle
from askhub.routing import learning, service
from indexer.expertise import Document, ExpertiseIndex
from indexer.ranker import FEATURES, FittedRanker, History
from models import Post, RoutingModel

QUERY = "hydrogen fuel cells for backup power"
# Generous: the machine is shared and busy; nothing waits this long when all is well.
DEADLINE = 120.0


def _ranker() -> FittedRanker:
    """Chance to answer from how active a person has been, nothing else: what the history
    says, so any change in a person's chance is the history's."""
    weights = {"activity": 0.3}
    return FittedRanker(
        features=FEATURES,
        mean=tuple(0.0 for _ in FEATURES),
        scale=tuple(1.0 for _ in FEATURES),
        coef=tuple(weights.get(f, 0.0) for f in FEATURES),
        intercept=0.0,
        platt_a=1.0,
        platt_b=0.0,
        questions=100,
        positives=100,
        fitted_at=time.time(),
    )


async def _fitted(org: AppContext) -> None:
    async with org.sessions() as session, session.begin():
        ranker = _ranker()
        session.add(RoutingModel(questions=100, positives=100, model=ranker.to_json()))


async def _tom_writes(org: AppContext, title: str) -> None:
    """tom.bakker writes about hydrogen, dated a day before the organisation's newest activity
    (activity counts back from there, so the post counts as soon as the history has it)."""
    async with org.sessions() as session, session.begin():
        newest = await session.scalar(select(func.max(Post.created_at)))
        tom = await get_by_handle(session, "tom.bakker")
        assert tom is not None and newest is not None
        post = await create_post(
            session,
            org.routing,
            tom,
            PostCreate(title=title, body=f"{title}: I led the pilot for our exchanges."),
        )
        post.created_at = newest - timedelta(days=1)


async def _tom_p(org: AppContext) -> float:
    """tom.bakker's chance to answer the hydrogen question (the call must not wait)."""
    async with org.sessions() as session:
        routed = await asyncio.wait_for(
            org.routing.route(session, QUERY, k=100, floor=False), DEADLINE
        )
    [tom] = [r for r in routed if r.person.handle == "tom.bakker"]
    assert tom.p_answer is not None
    return tom.p_answer


def _history_state(org: AppContext) -> dict[str, object]:
    ranker = org.routing.state()["ranker"]
    assert isinstance(ranker, dict) and ranker["kind"] == "fitted"
    history = ranker["history"]
    assert isinstance(history, dict)
    return history


Build = Callable[[AsyncSession, ExpertiseIndex, Sequence[Document] | None], Awaitable[History]]


async def test_a_new_post_is_counted_by_a_history_built_beside_the_calls(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _fitted(org)
    await _tom_writes(org, "Hydrogen fuel cells as backup power")
    # The first history is built on the call that needs it (at a start: the warm-up).
    before = await _tom_p(org)
    assert _history_state(org)["builds"] == 1 and _history_state(org)["current"] is True

    gate = asyncio.Event()
    running: list[int] = []
    most = 0
    real: Build = learning.build_history

    async def held(
        session: AsyncSession, index: ExpertiseIndex, documents: Sequence[Document] | None = None
    ) -> History:
        nonlocal most
        running.append(1)
        most = max(most, len(running))
        try:
            await gate.wait()
            return await real(session, index, documents)
        finally:
            running.pop()

    monkeypatch.setattr(learning, "build_history", held)
    await _tom_writes(org, "Hydrogen storage on site")
    # The call after the change answers while the rebuild it started is held at the gate,
    # with the history built before the change: tom's new post is not counted yet.
    assert await _tom_p(org) == before
    state = _history_state(org)
    assert state["rebuilding"] is True and state["current"] is False and state["builds"] == 1
    # More changes while it is held: still no call waits, and no second build starts.
    await _tom_writes(org, "Hydrogen safety rules")
    assert await _tom_p(org) == before
    assert most == 1

    gate.set()
    await asyncio.wait_for(org.routing.wait_history(), DEADLINE)
    state = _history_state(org)
    # One build for the first change, one more for those that came during it (coalesced).
    assert state["current"] is True and state["rebuilding"] is False and state["builds"] == 3
    assert most == 1
    # Both new posts now count as tom's activity: his chance to answer rises.
    assert await _tom_p(org) > before
    assert _history_state(org)["builds"] == 3, "a call with a current history rebuilt it"


async def test_a_failed_rebuild_keeps_the_last_history_and_is_tried_again(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _fitted(org)
    await _tom_writes(org, "Hydrogen fuel cells as backup power")
    before = await _tom_p(org)
    real: Build = learning.build_history

    async def broken(
        session: AsyncSession, index: ExpertiseIndex, documents: Sequence[Document] | None = None
    ) -> History:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(learning, "build_history", broken)
    await _tom_writes(org, "Hydrogen storage on site")
    assert await _tom_p(org) == before
    await asyncio.wait_for(org.routing.wait_history(), DEADLINE)
    state = _history_state(org)
    assert state["last_error"] == "RuntimeError: the database went away"
    assert state["current"] is False and state["builds"] == 1
    # Not tried again at once (a rebuild that fails would fail at every call) ...
    monkeypatch.setattr(learning, "build_history", real)
    assert await _tom_p(org) == before
    assert _history_state(org)["rebuilding"] is False
    # ... but once the retry interval has passed.
    monkeypatch.setattr(service, "HISTORY_RETRY_SECONDS", 0.0)
    assert await _tom_p(org) == before  # this call still reads the last history
    await asyncio.wait_for(org.routing.wait_history(), DEADLINE)
    state = _history_state(org)
    assert state["current"] is True and state["builds"] == 2 and state["last_error"] is None
    assert await _tom_p(org) > before


async def test_a_rebuild_never_takes_the_index_half_way_through_a_sync(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync replays a change across awaits (the post out of the index, then back in): a
    rebuild that read the index in between would miss the post yet count as current."""
    await _fitted(org)
    await _tom_writes(org, "Hydrogen fuel cells as backup power")
    await _tom_p(org)
    real: Build = learning.build_history
    entered, gate = asyncio.Event(), asyncio.Event()

    async def held(
        session: AsyncSession, index: ExpertiseIndex, documents: Sequence[Document] | None = None
    ) -> History:
        entered.set()
        await gate.wait()
        return await real(session, index, documents)

    monkeypatch.setattr(learning, "build_history", held)
    await _tom_writes(org, "Hydrogen storage on site")
    await _tom_p(org)  # starts a rebuild, held at the gate
    await asyncio.wait_for(entered.wait(), DEADLINE)

    replay = service.RoutingService._add_posts
    replaying, resume = asyncio.Event(), asyncio.Event()

    async def slow_replay(
        self: service.RoutingService,
        session: AsyncSession,
        index: ExpertiseIndex,
        post_ids: Sequence[int],
    ) -> int:
        replaying.set()
        await resume.wait()
        return await replay(self, session, index, post_ids)

    monkeypatch.setattr(service.RoutingService, "_add_posts", slow_replay)
    await _tom_writes(org, "Hydrogen safety rules")
    call = asyncio.create_task(_tom_p(org))
    await asyncio.wait_for(replaying.wait(), DEADLINE)  # the new post is out of the index
    gate.set()
    # The held rebuild completes; the one for the newer change now wants the index.
    deadline = time.monotonic() + DEADLINE
    while _history_state(org)["builds"] != 2:
        assert time.monotonic() < deadline, "the held rebuild never completed"
        await asyncio.sleep(0.01)
    for _ in range(50):
        await asyncio.sleep(0)
    resume.set()
    await call
    await asyncio.wait_for(org.routing.wait_history(), DEADLINE)
    assert _history_state(org)["current"] is True
    # Exactly what a history built on the call (a fresh service) says.
    fresh = service.RoutingService(org.settings, org.routing.embedder)
    async with org.sessions() as session:
        routed = await fresh.route(session, QUERY, k=100, floor=False)
    [tom] = [r for r in routed if r.person.handle == "tom.bakker"]
    assert await _tom_p(org) == tom.p_answer


async def test_a_replaced_history_and_index_are_freed_without_the_cyclic_collector(
    org: AppContext,
) -> None:
    """``askhub serve`` hides what it loaded at its start from the cyclic collector
    (``gc.freeze``): the index and the history hold millions of objects at size, and a full
    collection walking them stopped every request for seconds. A frozen object is only ever
    freed by reference counting, so the history and the index, once replaced, must hold no
    reference cycles, or each replacement would leak all of it."""
    await _fitted(org)
    await _tom_p(org)  # the first history, as at a start
    old_history = weakref.ref(org.routing._history)  # type: ignore[arg-type]
    old_index = weakref.ref(org.routing._index)  # type: ignore[arg-type]
    gc.collect()
    gc.disable()
    try:
        await _tom_writes(org, "Hydrogen storage on site")
        await _tom_p(org)  # starts a fresh history beside the calls
        await asyncio.wait_for(org.routing.wait_history(), DEADLINE)
        org.routing._index = None  # as an audit that found the replica out of step
        async with org.sessions() as session:
            await org.routing.sync(session)  # a new index
        await _tom_p(org)
        await asyncio.wait_for(org.routing.wait_history(), DEADLINE)
        assert org.routing._history is not None and org.routing._index is not None
        assert old_history() is None, "the replaced history is only freed by the collector"
        assert old_index() is None, "the replaced index is only freed by the collector"
    finally:
        gc.enable()
