#!/usr/bin/env python
"""Where a plain read's CPU goes: ``GET /api/calls/{id}`` taken apart step by step, in one
process (no HTTP server, no client process), on a database ``scripts/bench_load.py`` filled.

    python scripts/profile_read.py --database-url postgresql+asyncpg://postgres@127.0.0.1/askhub_bench

Each step runs ``--reads`` times with everything before it, as bench_load's clients read
(a token user, a call); the CPU time per read (this process only: PostgreSQL's own work is not
in it) is printed with what the step added:

1. a session and its pooled connection;
2. the token and its person (``auth.service.token_owner``);
3. the call with its matches, people and replies (``calls.service.read_call``);
4. the response: ``call_out``, ``reach_out`` and its JSON;
5. the whole request through the app (Litestar's routing, the middleware, dependencies, the
   request log line, the security headers) over httpx's in-process ASGI transport;
6. for scale, the same client against a bare Litestar app with one JSON route.

``--cprofile FILE`` also writes a cProfile (CPU time) of step 5.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import msgspec
from bench_load import CALLS, MANAGERS, TOKEN_USERS, bare_app, token_of

from askhub.app import create_app
from askhub.auth.service import token_owner
from askhub.calls import service
from askhub.context import AppContext
from askhub.logs import configure
from askhub.settings import Settings
from models.db import read_without_transaction


def pick(r: random.Random) -> tuple[int, int]:
    return r.randint(MANAGERS + 1, TOKEN_USERS), r.randint(1, CALLS)


async def cpu_per_call(step: Callable[[], Awaitable[Any]], n: int) -> float:
    for _ in range(min(50, n)):  # warm: pool, prepared statements, caches
        await step()
    started = time.process_time()
    for _ in range(n):
        await step()
    return (time.process_time() - started) / n * 1000


async def run(url: str, n: int, profile_to: str | None, devnull: Any) -> None:
    os.environ["ASKHUB_DATABASE_URL"] = url
    ctx = AppContext.create(Settings())
    r = random.Random(13)

    async def through(depth: int) -> None:
        who, call_id = pick(r)
        async with ctx.sessions() as session:
            await read_without_transaction(session)
            if depth < 2:
                return
            found = await token_owner(session, token_of(who))
            assert found is not None
            if depth < 3:
                return
            call = await service.read_call(session, call_id)
            assert call is not None
            if depth < 4:
                return
            out = service.call_out(call, found[0])
            out.reach = await service.reach_out(session, ctx.settings, call, datetime.now(UTC))
            msgspec.json.encode(out)

    app = create_app(context=ctx)
    app.state.context = ctx
    bare = httpx.AsyncClient(transport=httpx.ASGITransport(app=bare_app()), base_url="http://x")
    # A line per request, formatted as `askhub serve` writes it (after the apps, which set up Litestar's logging), to
    # /dev/null.
    configure("info")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=cast(Any, app)), base_url="http://x"
    )

    async def request() -> None:
        who, call_id = pick(r)
        headers = {"Authorization": f"Bearer {token_of(who)}"}
        response = await client.get(f"/api/calls/{call_id}", headers=headers)
        assert response.status_code == 200, response.text

    async def bare_request() -> None:
        assert (await bare.get("/bare")).status_code == 200

    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("1 session + pooled connection", lambda: through(1)),
        ("2 + token and person", lambda: through(2)),
        ("3 + the call (read_call)", lambda: through(3)),
        ("4 + call_out, reach_out, JSON", lambda: through(4)),
        ("5 the whole request, in-process", request),
    ]
    print(f"CPU per read, {n} reads per step; load {os.getloadavg()[0]:.1f}")
    before = 0.0
    for label, step in steps:
        spent = await cpu_per_call(step, n)
        print(f"{label:34} {spent:6.2f} ms  (+{spent - before:5.2f})")
        before = spent
    ceiling = await cpu_per_call(bare_request, n)
    print(f"{'6 bare Litestar, same client':34} {ceiling:6.2f} ms")
    if profile_to:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(n):
            await request()
        profile.disable()
        profile.dump_stats(profile_to)
        print(f"cProfile of step 5 in {profile_to}")
    await client.aclose()
    await bare.aclose()
    await ctx.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "ASKHUB_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/askhub_bench"
        ),
        help="a database bench_load.py filled",
    )
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--cprofile", metavar="FILE")
    args = parser.parse_args(argv)
    with open(os.devnull, "w") as devnull:
        asyncio.run(run(args.database_url, args.reads, args.cprofile, devnull))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
