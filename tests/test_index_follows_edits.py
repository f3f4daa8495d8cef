"""The running server's index follows every edit and deletion of a post, in place.

The server is a separate app with its own routing service (as another process would be); the
posts change through its API and the calls routed afterwards must see the new words only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from askhub.app import create_app
from askhub.calls.schemas import CallCreate
from askhub.calls.service import call_post, create_call
from askhub.context import AppContext
from askhub.people.schemas import PostCreate
from askhub.people.service import create_post, get_by_handle, update_post
from askhub.routing.service import RoutingService
from askhub.scheduler import build_scheduler, prune_index_changes
from models import IndexChange, Post
from tests.test_api import token_for

OLD_WORDS = "Zeppelinhangar dakbedekking"
NEW_WORDS = "Hovercraft rokken vervangen"


@pytest.fixture
async def server(org: AppContext) -> AsyncIterator[tuple[AsyncTestClient[Any], AppContext]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as client:
        yield client, app.state.context


async def _asked_for(client: AsyncTestClient[Any], auth: dict[str, str], words: str) -> dict:
    """Who a new question with ``words`` reaches, and through which posts."""
    response = await client.post(
        "/api/calls", json={"kind": "question", "title": words, "body": words}, headers=auth
    )
    assert response.status_code == 201, response.text
    return {
        m["person"]["handle"]: {r["post_id"] for r in m["reasons"]}
        for m in response.json()["matches"]
    }


async def test_an_edit_through_the_api_moves_the_running_index_to_the_new_words(
    server: tuple[AsyncTestClient[Any], AppContext], org: AppContext
) -> None:
    client, running = server
    tom, asker = await token_for(org, "tom.bakker"), await token_for(org, "asker")
    written = await client.post(
        "/api/posts",
        json={"title": OLD_WORDS, "body": f"Ik heb {OLD_WORDS} gedaan, jaren lang."},
        headers=tom,
    )
    assert written.status_code == 201, written.text
    post_id = written.json()["id"]
    assert post_id in (await _asked_for(client, asker, OLD_WORDS)).get("tom.bakker", set())

    # The newest post's vectors are replaced: on SQLite their ids are reused and the count
    # stays the same, the case a watermark on ids and counts missed.
    edited = await client.patch(
        f"/api/posts/{post_id}",
        json={"title": NEW_WORDS, "body": f"Ik heb {NEW_WORDS}, elke winter."},
        headers=tom,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == NEW_WORDS and edited.json()["tags"] == []
    assert post_id in (await _asked_for(client, asker, NEW_WORDS)).get("tom.bakker", set())
    assert post_id not in (await _asked_for(client, asker, OLD_WORDS)).get("tom.bakker", set())
    index = running.routing._index
    assert index is not None
    replaced = index.document(post_id)
    assert replaced is not None and replaced.title == NEW_WORDS

    # Nobody else may change or delete it.
    other = await token_for(org, "eva.brown")
    assert (
        await client.patch(f"/api/posts/{post_id}", json={"body": "x"}, headers=other)
    ).status_code == 404
    assert (await client.delete(f"/api/posts/{post_id}", headers=other)).status_code == 404
    bad = await client.patch(f"/api/posts/{post_id}", json={"body": ""}, headers=tom)
    assert bad.status_code == 422 and "body" in bad.text

    deleted = await client.delete(f"/api/posts/{post_id}", headers=tom)
    assert deleted.status_code == 204
    assert post_id not in (await _asked_for(client, asker, NEW_WORDS)).get("tom.bakker", set())
    assert (await client.delete(f"/api/posts/{post_id}", headers=tom)).status_code == 404
    assert running.routing._index is not None and running.routing._index.document(post_id) is None


async def test_another_process_replays_edits_in_place_without_a_rebuild(org: AppContext) -> None:
    """A second routing service (another process) follows this one's edits by the change log
    and keeps its index object: only the changed post is replaced."""
    other = RoutingService(org.settings, org.routing.embedder)
    async with org.sessions() as session:
        first = await other.sync(session)
    async with org.sessions() as session, session.begin():
        tom = await get_by_handle(session, "tom.bakker")
        assert tom
        post = await create_post(
            session, org.routing, tom, PostCreate(title=OLD_WORDS, body=OLD_WORDS)
        )
    async with org.sessions() as session:
        assert (await other.route(session, OLD_WORDS, k=1))[0].person.handle == "tom.bakker"
    async with org.sessions() as session, session.begin():
        stored = await session.get(Post, post.id)
        assert stored
        await update_post(session, org.routing, stored, PostCreate(title=NEW_WORDS, body=NEW_WORDS))
        changes = await session.scalar(select(func.count()).select_from(IndexChange))
        assert changes and changes > 0
    async with org.sessions() as session:
        found = await other.route(session, NEW_WORDS, k=1)
        assert found[0].person.handle == "tom.bakker"
        assert found[0].reasons[0]["post_id"] == post.id
        old = await other.route(session, OLD_WORDS, k=3)
        assert all(post.id not in {r["post_id"] for r in m.reasons} for m in old)
        assert await other.sync(session) is first  # replayed in place, not rebuilt


async def test_the_export_is_reachable_through_the_api(
    server: tuple[AsyncTestClient[Any], AppContext], org: AppContext
) -> None:
    client, _ = server
    tom = await token_for(org, "tom.bakker")
    written = await client.post("/api/posts", json={"title": OLD_WORDS, "body": "x y"}, headers=tom)
    assert written.status_code == 201
    response = await client.get("/api/people/me/export", headers=tom)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    exported = response.json()
    assert exported["person"]["handle"] == "tom.bakker"
    assert OLD_WORDS in [p["title"] for p in exported["posts"]]
    assert "password" not in response.text and "token_hash" not in response.text
    assert (await client.get("/api/people/me/export")).status_code == 401


async def test_the_prune_tick_keeps_the_newest_changes_and_a_process_that_missed_some_rebuilds(
    org: AppContext,
) -> None:
    """The scheduler's prune round deletes all but the newest ``index_changes_kept`` rows of the
    change log. A process that had replayed them all goes on replaying in place; one whose
    watermark lies before the pruned rows cannot replay the edit it missed and must rebuild
    from the stored vectors: it finds the post's new words, never the old ones."""
    kept = 3
    pruning = AppContext(
        settings=replace(org.settings, index_changes_kept=kept),
        engine=org.engine,
        sessions=org.sessions,
        routing=RoutingService(
            replace(org.settings, index_changes_kept=kept), org.routing.embedder
        ),
    )
    assert build_scheduler(pruning, {}).get_job("askhub-prune") is not None
    async with org.sessions() as session, session.begin():
        tom = await get_by_handle(session, "tom.bakker")
        amy = await get_by_handle(session, "amy.chen")
        assert tom and amy
        edited = await create_post(
            session, org.routing, tom, PostCreate(title=OLD_WORDS, body=OLD_WORDS)
        )
        churned = await create_post(
            session, org.routing, amy, PostCreate(title="Koffie", body="Koffie zetten")
        )
    lagging = RoutingService(org.settings, org.routing.embedder)
    async with org.sessions() as session:
        await lagging.sync(session)  # sees the old words, then stops following for a while
    async with org.sessions() as session, session.begin():
        stored = await session.get(Post, edited.id)
        assert stored
        # Same length, so one passage before and after: the vector count does not change.
        await update_post(session, org.routing, stored, PostCreate(title=NEW_WORDS, body=NEW_WORDS))
    for round_ in range(kept + 1):  # more changes than the horizon keeps, on another post
        async with org.sessions() as session, session.begin():
            other = await session.get(Post, churned.id)
            assert other
            words = f"Koffie zetten, ronde {round_}"
            await update_post(session, org.routing, other, PostCreate(title="Koffie", body=words))
    async with org.sessions() as session:
        first = await pruning.routing.sync(session)  # a process that has replayed everything
        before = list(await session.scalars(select(IndexChange.id).order_by(IndexChange.id)))
    assert len(before) > kept + 1

    await prune_index_changes(pruning)

    async with org.sessions() as session:
        after = list(await session.scalars(select(IndexChange.post_id)))
        ids = sorted(row for row in await session.scalars(select(IndexChange.id)))
    # Ids are handed out one after another here (nothing rolled back), so the newest row and the
    # ``kept`` before it stay: the head never moves back.
    assert ids == before[-(kept + 1) :]
    assert edited.id not in set(after)  # the edit's own rows are gone
    async with org.sessions() as session:
        found = await lagging.route(session, NEW_WORDS, k=1)
        assert found and found[0].person.handle == "tom.bakker"
        assert found[0].reasons[0]["post_id"] == edited.id
        old = await lagging.route(session, OLD_WORDS, k=3)
        assert all(edited.id not in {r["post_id"] for r in m.reasons} for m in old)
        # The process that had replayed everything keeps its index object.
        assert await pruning.routing.sync(session) is first
    await prune_index_changes(pruning)  # nothing beyond the horizon any more: nothing goes
    async with org.sessions() as session:
        assert sorted(await session.scalars(select(IndexChange.id))) == ids


async def _post_call(org: AppContext, title: str) -> int:
    """Post a question through the service; the id of the call's own post."""
    async with org.sessions() as session, session.begin():
        asker = await get_by_handle(session, "asker")
        assert asker
        call = await create_call(
            session, org.routing, org.settings, asker, CallCreate(kind="question", title=title)
        )
        post = await call_post(session, call)
        assert post
        return post.id


async def test_a_call_this_process_posted_is_indexed_from_memory_unless_changed_since(
    org: AppContext,
) -> None:
    """The process that posts a call adds the call's post to its index as written (encoded
    once, nothing read back); when another process changed that post before the replay, or
    the posting rolled back, the database's version counts."""
    async with org.sessions() as session:
        await org.routing.sync(session)
    replayed = org.routing.counters["passages_replayed"]
    post_id = await _post_call(org, OLD_WORDS)
    async with org.sessions() as session:
        index = await org.routing.sync(session)
    document = index.document(post_id)
    assert document is not None and document.title == OLD_WORDS
    assert org.routing.counters["passages_replayed"] == replayed  # nothing read back
    async with org.sessions() as session:
        found = await org.routing.similar_posts(session, OLD_WORDS, {"call"})
    assert post_id in [pid for pid, _ in found]

    # Another process edits the call's post before this one replays its own write.
    other = RoutingService(org.settings, org.routing.embedder)
    post_id = await _post_call(org, "Wie weet iets van staalbouw voor het datacenter?")
    async with org.sessions() as session, session.begin():
        stored = await session.get(Post, post_id)
        assert stored
        await update_post(session, other, stored, PostCreate(title=NEW_WORDS, body=NEW_WORDS))
    async with org.sessions() as session:
        index = await org.routing.sync(session)
    document = index.document(post_id)
    assert document is not None and document.title == NEW_WORDS

    # A rolled-back posting leaves nothing to replay from memory.
    async with org.sessions() as session, session.begin():
        asker = await get_by_handle(session, "asker")
        assert asker
        await create_call(
            session,
            org.routing,
            org.settings,
            asker,
            CallCreate(kind="question", title="Hovercraft gezocht"),
        )
        await session.rollback()
    assert not org.routing._written
