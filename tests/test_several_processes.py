"""Several app processes, one truth (issue 13, item 1): each process's index is a replica that
follows the stored vectors through the change log, a routing call pays one cheap lookup to be
current, and on PostgreSQL a post written through one ``askhub serve`` process is routable
through another within moments, woken by NOTIFY, without being encoded again there.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, text

from askhub.context import AppContext
from askhub.people.schemas import PostCreate
from askhub.people.service import create_post, get_by_handle
from askhub.routing.follower import APPLICATION_NAME
from askhub.routing.service import RoutingService
from models import IndexChange
from tests.conftest import ON_POSTGRES
from tests.served import served
from tests.test_api import token_for
from tests.test_crash_safety import START_TIMEOUT, Server, all_healthy, serving, wait_until

UNIQUE = "Hovercraft rokken vervangen"
# Posts written through process A whose arrival in process B is timed.
POSTS = 20
# Generous: the target is 2 s, the machine is shared and busy.
FOLLOW_TIMEOUT = 10.0
EMBEDDING = re.compile(r"\bembedding\b", re.IGNORECASE)


@contextmanager
def statements_of(ctx: AppContext) -> Iterator[list[str]]:
    """The SQL statements run on ``ctx``'s engine inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))  # (conn, cursor, statement, parameters, context, many)

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", record)


async def _post(ctx: AppContext, handle: str, title: str, body: str) -> int:
    async with ctx.sessions() as session, session.begin():
        author = await get_by_handle(session, handle)
        assert author
        post = await create_post(session, ctx.routing, author, PostCreate(title=title, body=body))
        return post.id


async def test_a_warm_routing_call_reads_the_log_head_and_no_vectors(org: AppContext) -> None:
    """A warm routing call never scans ``embedding`` (no count, no read of vectors) and runs a
    handful of statements; after another writer's post it reads just that post's vectors."""
    other = RoutingService(org.settings, org.routing.embedder)  # another process's replica
    async with org.sessions() as session:
        await other.route(session, "Wie weet iets van staalbouw?", k=5)  # warm: built, loaded
        with statements_of(org) as warm:
            started = time.perf_counter()
            await other.route(session, "Who knows about steel bridges?", k=5)
            took = time.perf_counter() - started
    print(f"\nwarm routing call: {len(warm)} statements, {took * 1000:.1f} ms")
    assert not [s for s in warm if EMBEDDING.search(s)], warm
    assert not [s for s in warm if "count(" in s.lower()], warm
    assert len(warm) <= 6, warm

    post_id = await _post(org, "tom.bakker", UNIQUE, f"Ik heb {UNIQUE}, elke winter.")
    async with org.sessions() as session:
        with statements_of(org) as after_write:
            found = await other.route(session, UNIQUE, k=1)
    assert found and found[0].person.handle == "tom.bakker"
    assert found[0].reasons[0]["post_id"] == post_id
    reads = [s for s in after_write if EMBEDDING.search(s)]
    # The replay reads the changed post's vectors by post id, never the table.
    assert reads and all("post_id IN" in s for s in reads), reads
    assert not [s for s in after_write if "count(" in s.lower()], after_write
    assert other.counters["passages_encoded"] == 0 and other.counters["passages_replayed"] >= 1


async def test_an_audit_heals_a_replica_out_of_step_from_stored_vectors(org: AppContext) -> None:
    """A replica that lost a post without a logged change (a change log rewritten, a bug) is
    caught by the audit's count, off the request path, and rebuilt from the stored vectors:
    nothing is encoded again."""
    post_id = await _post(org, "tom.bakker", UNIQUE, f"Ik heb {UNIQUE}, elke winter.")
    replica = RoutingService(org.settings, org.routing.embedder)
    async with org.sessions() as session:
        index = await replica.sync(session)
        assert not await replica.audit(session)  # in step: nothing to do
        index.remove([post_id])  # behind the change log's back
        assert await replica.audit(session)
        found = await replica.route(session, UNIQUE, k=1)
    assert found and found[0].reasons[0]["post_id"] == post_id
    state = replica.state()
    assert state["out_of_step"] == 1 and state["rebuilds"] == 2
    assert state["passages"] == {
        "encoded": 0,
        "replayed": 0,
        "loaded": replica.counters["passages_loaded"],
    }


async def test_the_follower_replays_another_writer_without_a_routing_call(
    org: AppContext,
) -> None:
    """A running app's index takes in a post another process wrote, with no request to make it
    look: woken by NOTIFY on PostgreSQL, by its poll on SQLite."""
    async with served(org, index_poll_seconds=1) as client:
        before = (await client.get("/api/health")).json()
        assert before["follower"]["mode"] == ("listen" if ON_POSTGRES else "poll")
        post_id = await _post(org, "tom.bakker", UNIQUE, f"Ik heb {UNIQUE}, elke winter.")
        async with org.sessions() as session:
            head = int(await session.scalar(select(func.max(IndexChange.id))) or 0)

        async def replayed() -> bool:
            return int((await client.get("/api/health")).json()["index"]["watermark"]) >= head

        await wait_until(replayed, FOLLOW_TIMEOUT, "the follower's replay", [], poll=0.05)
        after = (await client.get("/api/health")).json()
    assert after["index"]["passages"]["encoded"] == 0
    assert after["index"]["passages"]["replayed"] > before["index"]["passages"]["replayed"]
    assert after["follower"]["rounds"] > before["follower"]["rounds"]
    assert post_id


async def _health(client: httpx.AsyncClient, server: Server) -> dict[str, Any]:
    response = await client.get(f"http://127.0.0.1:{server.port}/api/health")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _head(ctx: AppContext) -> int:
    async with ctx.sessions() as session:
        return int(await session.scalar(select(func.max(IndexChange.id))) or 0)


@pytest.mark.skipif(not ON_POSTGRES, reason="LISTEN/NOTIFY is PostgreSQL's; SQLite runs one app")
async def test_a_post_through_one_serve_process_is_routable_through_another(
    org: AppContext, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Two ``askhub serve`` processes on one PostgreSQL database. Posts written through A reach
    B's index by NOTIFY (B polls only once an hour here, and nothing is routed through B while
    waiting), B encodes none of them, and a call through B is routed to the last one. Then
    PostgreSQL drops both listening connections: B reconnects and hears the next post."""
    env = {
        **cli_env,
        "ASKHUB_SCHEDULER": "false",
        "ASKHUB_EMBED_THREADS": "1",
        "ASKHUB_INDEX_POLL_SECONDS": "3600",
        "ASKHUB_INDEX_AUDIT_SECONDS": "0",
    }
    tom, asker = await token_for(org, "tom.bakker"), await token_for(org, "asker")
    with ExitStack() as stack:
        a, b = (stack.enter_context(serving(env, tmp_path / f"serve-{name}.log")) for name in "ab")
        servers = [a, b]
        await wait_until(all_healthy(servers), START_TIMEOUT * 2, "both apps", servers, 0.2)
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await _health(client, b))["follower"]["listening"]

            async def b_has(head: int) -> bool:
                return int((await _health(client, b))["index"]["watermark"]) >= head

            lags = []
            post_id = 0
            for n in range(POSTS):
                words = UNIQUE if n == POSTS - 1 else f"Koffie zetten, ronde {n}"
                written = await client.post(
                    f"http://127.0.0.1:{a.port}/api/posts",
                    json={"title": words, "body": f"Ik heb {words} gedaan."},
                    headers=tom,
                )
                started = time.monotonic()
                assert written.status_code == 201, written.text
                post_id = written.json()["id"]
                head = await _head(org)
                await wait_until(lambda: b_has(head), FOLLOW_TIMEOUT, f"post {n} in B", servers)  # noqa: B023
                lags.append(time.monotonic() - started)
            state = await _health(client, b)
            # B took every post from the stored vectors; it encoded none.
            assert state["index"]["passages"]["encoded"] == 0
            assert state["index"]["passages"]["replayed"] >= POSTS
            assert state["follower"]["notifications"] >= 1

            routed = await client.post(
                f"http://127.0.0.1:{b.port}/api/calls",
                json={"kind": "question", "title": UNIQUE, "body": UNIQUE},
                headers=asker,
            )
            assert routed.status_code == 201, routed.text
            reasons = {
                m["person"]["handle"]: {r["post_id"] for r in m["reasons"]}
                for m in routed.json()["matches"]
            }
            assert post_id in reasons.get("tom.bakker", set()), reasons
            # The call itself is a post of the asker's, encoded where it was made: B.
            encoded = (await _health(client, b))["index"]["passages"]["encoded"]
            assert encoded >= 1
            ordered = sorted(lags)
            print(
                f"\nA->B replication lag over {POSTS} posts: "
                f"p50 {statistics.median(lags) * 1000:.0f} ms, "
                f"p90 {ordered[int(0.9 * len(ordered)) - 1] * 1000:.0f} ms, "
                f"max {ordered[-1] * 1000:.0f} ms"
            )

            # PostgreSQL drops the listening connections (as a restart would).
            async with org.sessions() as session:
                dropped = await session.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name AND datname = current_database()"
                    ),
                    {"name": APPLICATION_NAME},
                )
            assert dropped == 2

            async def b_listens_again() -> bool:
                follower = (await _health(client, b))["follower"]
                return bool(follower["listening"] and follower["connects"] >= 2)

            await wait_until(b_listens_again, FOLLOW_TIMEOUT, "B to listen again", servers)
            written = await client.post(
                f"http://127.0.0.1:{a.port}/api/posts",
                json={"title": "Na de herstart", "body": "Ik heb de zeppelinhangar geverfd."},
                headers=tom,
            )
            assert written.status_code == 201, written.text
            head = await _head(org)
            await wait_until(
                lambda: b_has(head), FOLLOW_TIMEOUT, "the post after the drop", servers
            )
            assert (await _health(client, b))["index"]["passages"]["encoded"] == encoded
