"""Faults on PostgreSQL (issue 13, item 6), with real ``askhub serve`` processes:

- one of two processes is SIGKILLed while a client writes through both (calls, replies, posts)
  and started again: every write answered 2xx is in the database, the survivor answers no 5xx,
  and the killed one's requests fail as connection errors the client sees;
- one of two processes is SIGKILLed while both dispatch email over pooled SMTP sessions: the
  survivor delivers every nudge, with at most one resend (same Message-ID) for the kill;
- the database server restarts under load (a private, throwaway cluster: the shared server is
  never restarted): the app answers again without a restart of its own, loses no write it
  answered 2xx, half-writes nothing, and its scheduler goes on delivering.

The two processes of the first two tests are shared (each loads the embedding model at start);
the database is the module's own copy of the test organisation.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from askhub.app import create_app
from askhub.calls.service import CALL_SOURCE
from askhub.context import AppContext
from indexer.embedders import Embedder
from models import Call, Embedding, Match, Nudge, NudgeState, Post, PostKind, Reply
from models.db import create_engine, session_factory, upgrade
from tests.conftest import ON_POSTGRES, _fresh_pg, _import_org, _pg_name, _settings
from tests.pgcluster import PrivateCluster
from tests.served import people_with_tokens
from tests.sinks import SMTPSink, free_port
from tests.test_crash_safety import (
    KILL_JITTER,
    LEASE_SECONDS,
    SINK_DELAY,
    START_TIMEOUT,
    Server,
    all_healthy,
    seed,
    serving,
    wait_until,
)
from tests.test_web_support import sign_in, text_of, with_passwords

# The PostgreSQL run (-m db) selects these; the SQLite run would only repeat what SQLite shows.
on_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="PostgreSQL faults: run with ASKHUB_TEST_DB=postgres (-m db)"
)

WORKERS = 6
# Enough answered writes on each side of a fault that a loss would show, few enough to be quick.
BEFORE = 12
AFTER = 12
DEADLINE = 120.0
# Emails in the dispatch kill test; at SINK_DELAY each, several seconds of sending.
NUDGES = 200


def app_env(database_url: str, data_dir: Path, sink: SMTPSink, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ASKHUB_DATABASE_URL": database_url,
        "ASKHUB_DATA_DIR": str(data_dir),
        "ASKHUB_LANG": "en",
        "ASKHUB_SCHEDULER": "true",
        "ASKHUB_TICK_SECONDS": "1",
        "ASKHUB_DISPATCH_LEASE_SECONDS": str(LEASE_SECONDS),
        "ASKHUB_SMTP_HOST": sink.host,
        "ASKHUB_SMTP_PORT": str(sink.port),
        "ASKHUB_EMBED_THREADS": "1",
        "ASKHUB_BASE_URL": "http://askhub.test",
        **extra,
    }


# -- the load: a steady mix of writes, round-robin over the servers ------------------------------


@dataclass
class Outcome:
    slot: int  # which server (index into Load.targets) the request went to
    op: str  # "call", "reply" or "post"
    status: int | None  # None: no answer (a connection error)
    error: str = ""
    id: int | None = None
    body: dict[str, Any] = field(default_factory=dict)
    retry_after: str | None = None
    at: float = field(default_factory=time.monotonic)


class Load:
    """``WORKERS`` clients, each with its own person's token, sending calls, replies (to
    others' calls) and posts in turn, each request to the next server in ``targets`` (a list
    of base URLs the test may change while the load runs). httpx never resends a request, so
    every request has exactly one outcome here."""

    def __init__(self, targets: list[str], tokens: list[dict[str, str]]) -> None:
        self.targets = targets
        self.tokens = tokens
        self.outcomes: list[Outcome] = []
        self._turn = itertools.count()
        self._calls: list[tuple[int, int]] = []  # (call id, asking worker)
        self._answered: defaultdict[int, set[int]] = defaultdict(set)  # worker: call ids
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def ok(self, slot: int | None = None, since: float = 0.0) -> int:
        return sum(
            1
            for o in self.outcomes
            if o.status is not None
            and o.status < 300
            and (slot is None or o.slot == slot)
            and o.at >= since
        )

    def errors(self, slot: int | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is None and (slot is None or o.slot == slot)]

    def _body(self, worker: int, op: str, n: int) -> tuple[str, str, dict[str, Any]]:
        """What ``worker`` sends as its ``n``th request: (op, path, JSON body). A reply goes to
        the newest call of someone else it has not answered yet (a call if there is none)."""
        if op == "reply":
            others = sorted({c for c, w in self._calls if w != worker} - self._answered[worker])
            if others:
                self._answered[worker].add(others[-1])
                answer = f"Answer {worker}-{n}: inspect every two years."
                return op, f"/api/calls/{others[-1]}/replies", {"kind": "answer", "body": answer}
            op = "call"
        if op == "call":
            return (
                op,
                "/api/calls",
                {
                    "kind": "question",
                    "title": f"Load {worker}-{n}: how do we inspect steel antenna masts for rust?",
                    "body": "We have twelve masts and no inspection plan yet.",
                    "tags": ["steel"],
                },
            )
        return (
            op,
            "/api/posts",
            {
                "title": f"Note {worker}-{n} on steel frames",
                "body": f"Prefabricated beams saved us weeks on site (note {worker}-{n}).",
                "tags": ["steel"],
            },
        )

    async def _request(self, client: httpx.AsyncClient, worker: int, op: str, n: int) -> None:
        slot = next(self._turn) % len(self.targets)
        op, path, body = self._body(worker, op, n)
        url, headers = self.targets[slot] + path, self.tokens[worker]
        try:
            response = await client.post(url, json=body, headers=headers)
        except httpx.TransportError as exc:
            self.outcomes.append(Outcome(slot, op, None, f"{type(exc).__name__}: {exc}"))
            return
        payload = response.json() if response.content else {}
        self.outcomes.append(
            Outcome(
                slot,
                op,
                response.status_code,
                "",
                payload.get("id"),
                payload,
                response.headers.get("Retry-After"),
            )
        )
        if op == "call" and response.is_success:
            self._calls.append((int(payload["id"]), worker))

    async def _worker(self, worker: int) -> None:
        limits = httpx.Limits(max_keepalive_connections=4)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            for n in itertools.count():
                if self._stop.is_set():
                    return
                await self._request(client, worker, ("call", "reply", "post")[n % 3], n)
                # Connection refused comes back at once: do not spin on a dead server.
                if self.outcomes and self.outcomes[-1].status is None:
                    await asyncio.sleep(0.05)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker(w)) for w in range(len(self.tokens))]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def failed_tasks(self) -> list[BaseException]:
        return [t.exception() for t in self._tasks if t.done() and t.exception() is not None]  # type: ignore[misc]


async def until(load: Load, done: Any, what: str, servers: list[Server], seconds: float) -> None:
    """``wait_until`` that also fails at once if a load worker crashed (a bug in the test)."""

    def check() -> bool:
        if failed := load.failed_tasks():
            raise failed[0]
        return bool(done())

    await wait_until(check, seconds, what, servers, poll=0.05)


# -- what the database must hold afterwards -------------------------------------------------------


async def check_stored(ctx: AppContext, outcomes: list[Outcome]) -> None:
    """Every write answered 2xx is in the database, whole; and nothing anywhere is half-written."""
    answered = [o for o in outcomes if o.status is not None and o.status < 300]
    ids = {op: {o.id for o in answered if o.op == op} for op in ("call", "reply", "post")}
    async with ctx.sessions() as session:
        calls = set(await session.scalars(select(Call.id).where(Call.id.in_(ids["call"]))))
        replies = set(await session.scalars(select(Reply.id).where(Reply.id.in_(ids["reply"]))))
        posts = set(await session.scalars(select(Post.id).where(Post.id.in_(ids["post"]))))
        assert calls == ids["call"], f"calls answered 2xx but lost: {ids['call'] - calls}"
        assert replies == ids["reply"], f"replies answered 2xx but lost: {ids['reply'] - replies}"
        assert posts == ids["post"], f"posts answered 2xx but lost: {ids['post'] - posts}"
        # Each answered call has the matches its answer listed.
        matches = dict(
            (
                await session.execute(
                    select(Match.call_id, func.count())
                    .where(Match.call_id.in_(ids["call"]))
                    .group_by(Match.call_id)
                )
            ).all()
        )
        listed = {o.id: len(o.body["matches"]) for o in answered if o.op == "call"}
        assert {c: matches.get(c, 0) for c in listed} == listed
        # Half-writes anywhere, answered or not: a call without its post in the index, a post
        # without vectors.
        call_posts = set(
            await session.scalars(select(Post.external_id).where(Post.source == CALL_SOURCE))
        )
        all_calls = {str(c) for c in await session.scalars(select(Call.id))}
        assert all_calls <= call_posts, f"calls without their post: {all_calls - call_posts}"
        bare = (
            await session.scalars(
                select(Post.id)
                .where(Post.kind.in_([PostKind.POST, PostKind.CALL]))
                .where(~select(Embedding.id).where(Embedding.post_id == Post.id).exists())
            )
        ).all()
        assert not bare, f"posts stored without their vectors: {bare}"


def only_2xx(outcomes: list[Outcome], allowed: frozenset[int] = frozenset()) -> None:
    """Every answer was a success (or one of ``allowed``): no 5xx, and no 4xx either, since
    every request the load sends is valid."""
    bad = [o for o in outcomes if o.status is not None and o.status >= 300]
    bad = [o for o in bad if o.status not in allowed]
    assert not bad, "\n".join(f"{o.op} -> {o.status}: {o.body}" for o in bad[:10])


# -- two processes on one database --------------------------------------------------------------


@dataclass
class Pair:
    ctx: AppContext
    sink: SMTPSink
    env: dict[str, str]
    logs: Path
    tokens: list[dict[str, str]]
    stack: ExitStack
    servers: list[Server]

    def start(self, name: str) -> Server:
        # Each process signs its mail with its own sender, so the sink can tell who sent what.
        env = {**self.env, "ASKHUB_SMTP_FROM": f"AskHub {name} <{name}@askhub.test>"}
        return self.stack.enter_context(serving(env, self.logs / f"serve-{name}.log"))


@pytest.fixture(scope="module")
async def pair(templates: dict[str, str], embedder: Embedder) -> AsyncIterator[Pair]:
    url = await _fresh_pg(_pg_name("faults"), templates["org"])
    root = Path(tempfile.mkdtemp(prefix="askhub-faults-"))
    ctx = AppContext.create(_settings(url, root / "var"), embedder)
    tokens = await people_with_tokens(ctx, "load", WORKERS)
    with ExitStack() as stack:
        sink = stack.enter_context(SMTPSink(delay=SINK_DELAY))
        env = app_env(url, root / "var", sink)
        pair = Pair(ctx, sink, env, root, tokens, stack, [])
        pair.servers = [pair.start("one"), pair.start("two")]
        await wait_until(all_healthy(pair.servers), START_TIMEOUT, "both apps", pair.servers, 0.2)
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        try:
            yield pair
        finally:
            await ctx.close()


@pytest.mark.db
@on_postgres
async def test_sigkill_one_of_two_under_load_loses_no_answered_write(pair: Pair) -> None:
    servers = pair.servers
    targets = [f"http://127.0.0.1:{s.port}" for s in servers]
    load = Load(targets, pair.tokens)
    load.start()
    try:
        await until(
            load,
            lambda: load.ok(0) >= BEFORE and load.ok(1) >= BEFORE,
            "writes through both processes",
            servers,
            DEADLINE,
        )
        killed_at = time.monotonic()
        servers[1].kill()
        await until(
            load,
            lambda: load.ok(0, killed_at) >= AFTER and len(load.errors(1)) >= 3,
            "writes through the survivor, and refused ones to the killed process",
            servers[:1],
            DEADLINE,
        )
        # Started again, it takes its share once it answers.
        servers[1] = pair.start("two-again")
        await wait_until(all_healthy(servers), START_TIMEOUT, "the restarted app", servers, 0.2)
        back_at = time.monotonic()
        targets[1] = f"http://127.0.0.1:{servers[1].port}"
        await until(
            load,
            lambda: load.ok(1, back_at) >= 3,
            "writes through the restarted process",
            servers,
            DEADLINE,
        )
    finally:
        await load.stop()

    outcomes = load.outcomes
    only_2xx(outcomes)
    errors = load.errors()
    assert errors and all(o.slot == 1 and killed_at <= o.at for o in errors), [
        (o.slot, o.error) for o in errors
    ]
    await check_stored(pair.ctx, outcomes)
    print(
        f"\nkill under load: {len(outcomes)} requests, {load.ok()} answered 2xx, "
        f"{len(errors)} connection errors from the killed process; "
        f"{dict(Counter(o.op for o in outcomes))}"
    )


async def nudges_settled(ctx: AppContext) -> bool:
    """Nothing due is left undelivered: no row pending or in flight whose time has come."""
    async with ctx.sessions() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(Nudge)
            .where(Nudge.state.in_([NudgeState.PENDING, NudgeState.SENDING, NudgeState.FAILED]))
            .where(Nudge.next_attempt_at <= func.now())
        )
    return left == 0


@pytest.mark.db
@on_postgres
async def test_sigkill_one_of_two_mid_dispatch_loses_no_nudge(pair: Pair) -> None:
    servers, sink = pair.servers, pair.sink
    expected = await seed(pair.ctx, NUDGES, "faults")

    def delivered(sender: str | None = None) -> int:
        return sum(
            1
            for m in sink.messages
            if str(m["Message-ID"]) in expected
            and sender in (None, m["From"].addresses[0].username)
        )

    # 30 emails in all, some of them from the process about to be killed ("one"): it is sending.
    await wait_until(
        lambda: delivered() >= 30 and delivered("one") > 0,
        DEADLINE,
        "30 emails before the kill, some from each process",
        servers,
    )
    # Both processes hold claimed batches now; the survivor takes the killed one's over once
    # their lease (LEASE_SECONDS) runs out.
    await asyncio.sleep(random.uniform(0, KILL_JITTER))
    at_kill = delivered()
    servers[0].kill()
    assert at_kill < NUDGES, "the kill came after the whole batch; nothing to test"
    await wait_until(
        lambda: delivered() >= NUDGES and set(sink.by_message_id()) >= expected,
        DEADLINE,
        f"all {NUDGES} emails from the survivor",
        servers[1:],
        0.2,
    )
    await wait_until(lambda: nudges_settled(pair.ctx), DEADLINE, "no nudge due", servers[1:], 0.2)

    counts = {mid: n for mid, n in sink.by_message_id().items() if mid in expected}
    assert set(counts) == expected
    twice = {mid: n for mid, n in counts.items() if n > 1}
    # One row may have been in flight at the kill: sent again after its lease, same Message-ID.
    assert len(twice) <= 1 and all(n == 2 for n in twice.values()), twice
    async with pair.ctx.sessions() as session:
        rows = Counter(
            (
                await session.scalars(
                    select(Nudge.state).where(Nudge.idempotency_key.like("faults:%"))
                )
            ).all()
        )
    assert rows == {NudgeState.SENT: NUDGES}
    print(f"\nkill mid-dispatch: at {at_kill} of {NUDGES}; resent: {len(twice)}")


# -- the database server restarts ----------------------------------------------------------------


async def scheduler_rounds(server: Server) -> Counter[str]:
    async with httpx.AsyncClient(timeout=5) as client:
        health = await client.get(f"http://127.0.0.1:{server.port}/api/health")
    return Counter(health.json()["scheduler"])


@pytest.mark.db
@on_postgres
async def test_database_restart_under_load_loses_nothing(
    embedder: Embedder, tmp_path: Path
) -> None:
    try:
        cluster = PrivateCluster().start()
    except RuntimeError as exc:  # no server binaries here: say so, never skip in CI
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot start a private PostgreSQL cluster: {exc}")
        pytest.skip(f"cannot start a private PostgreSQL cluster: {exc}")
    async with AsyncExitStack() as stack:
        stack.callback(cluster.stop)
        url = cluster.create_database("askhub")
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        await _import_org(url, tmp_path / "var", embedder)
        ctx = AppContext.create(_settings(url, tmp_path / "var"), embedder)
        stack.push_async_callback(ctx.close)
        tokens = await people_with_tokens(ctx, "load", WORKERS // 2)
        sink = stack.enter_context(SMTPSink())
        env = app_env(url, tmp_path / "var", sink)
        server = stack.enter_context(serving(env, tmp_path / "serve.log"))
        await wait_until(all_healthy([server]), START_TIMEOUT, "the app", [server], 0.2)

        load = Load([f"http://127.0.0.1:{server.port}"], tokens)
        load.start()
        try:
            await until(load, lambda: load.ok() >= BEFORE, "writes", [server], DEADLINE)
            before = load.ok()
            cluster.restart()  # as a crash: every connection cut, crash recovery at the start
            restarted_at = time.monotonic()
            rounds_at_restart = await scheduler_rounds(server)
            await until(
                load,
                lambda: load.ok(since=restarted_at) >= AFTER,
                "writes answered after the database restart",
                [server],
                DEADLINE,
            )
        finally:
            await load.stop()
        # The clock goes on: dispatch rounds finish after the restart, and nudges due after it
        # go out.
        await wait_until(
            lambda: rounds_past(server, rounds_at_restart, 2),
            DEADLINE,
            "two dispatch rounds after the restart",
            [server],
            0.2,
        )
        expected = await seed(ctx, 20, "after-restart")
        await wait_until(
            lambda: set(sink.by_message_id()) >= expected,
            DEADLINE,
            "the emails enqueued after the restart",
            [server],
            0.2,
        )
        await wait_until(lambda: nudges_settled(ctx), DEADLINE, "no nudge due", [server], 0.2)
        outcomes = load.outcomes
        failed = [o for o in outcomes if o.status is None or o.status >= 300]
        print(
            f"\ndatabase restart: {len(outcomes)} requests, {before} answered before it, "
            f"{load.ok(since=restarted_at)} after; refused meanwhile: "
            f"{dict(Counter((o.status, o.error[:60]) for o in failed))}"
        )
        # While the database is away the app says so (503: try again); never a 500, and it
        # never stops answering.
        only_2xx(outcomes, allowed=frozenset({503}))
        assert all(o.retry_after for o in outcomes if o.status == 503)
        assert not [o for o in outcomes if o.status is None], "the app stopped answering"
        await check_stored(ctx, outcomes)


async def rounds_past(server: Server, start: Counter[str], more: int) -> bool:
    return (await scheduler_rounds(server))["dispatch"] >= start["dispatch"] + more


@pytest.mark.sqlite_only
async def test_a_request_while_the_database_is_away_answers_503_with_retry_after(
    org: AppContext,
) -> None:
    """What a client sees while the database restarts: 503 and when to try again, in its
    language (JSON for the API, a page for a browser), and ``/api/health`` saying the database
    is the trouble; never a 500."""
    await with_passwords(org, ["asker"])
    app = create_app(context=org)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        assert (await client.get("/api/health")).status_code == 200
        await sign_in(client, "asker")
        # Nothing listens there: every connection is refused, as while a server restarts.
        away = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/askhub")
        org.sessions = session_factory(away)
        try:
            calls = await client.get(
                "/api/calls", headers={"Authorization": "Bearer x", "Accept-Language": "nl"}
            )
            health = await client.get("/api/health")
            page = await client.get("/", headers={"Accept-Language": "nl"})
        finally:
            await away.dispose()
    assert calls.status_code == 503, calls.text
    assert calls.headers["Retry-After"] == "2"
    assert calls.json()["detail"] == "De database is even niet bereikbaar; probeer het zo opnieuw."
    assert health.status_code == 503, health.text
    assert health.json()["database"]["ok"] is False
    assert page.status_code == 503, page.text[:500]
    assert page.headers["Retry-After"] == "2"
    assert page.headers["content-type"].startswith("text/html")
    assert "De database is even niet bereikbaar" in text_of(page.text)
