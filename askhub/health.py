"""``GET /api/health``: is the database reachable, and what does the index hold."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from weakref import WeakKeyDictionary

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from askhub.context import AppContext
from askhub.recent import Recent
from models import Person
from models.db import read_without_transaction

_people: Recent[int] = Recent(10.0)


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Person)) or 0)


async def _check(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    database: dict[str, Any] = {}
    try:
        async with sessions() as session:
            await read_without_transaction(session)
            await session.execute(text("SELECT 1"))
            # A count over every person: the load balancer asks every few seconds.
            database["people"] = await _people.get(session, "people", lambda: _count(session))
        database["ok"] = True
    # A refused or cut connection may come from the driver unwrapped (asyncpg's connect).
    except (SQLAlchemyError, ConnectionError) as exc:
        database.update(ok=False, error=type(exc).__name__)
    return database


class SharedCheck:
    """At most one database check in flight per database: a request that arrives while one
    runs takes its answer, which is then at most one round trip old. Under many probes at
    once the database sees one ``SELECT 1`` per round trip instead of one per request; a
    database that goes away is still seen by the next check that starts."""

    def __init__(self) -> None:
        self._running: WeakKeyDictionary[Any, asyncio.Future[dict[str, Any]]] = WeakKeyDictionary()

    async def run(self, key: Any, check: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        running = self._running.get(key)
        if (
            running is None
            or running.done()
            or running.get_loop() is not asyncio.get_running_loop()
        ):
            running = self._running[key] = asyncio.ensure_future(check())
        # Shielded: one waiter cancelled (its client went away) does not cancel the others'.
        return dict(await asyncio.shield(running))


_shared = SharedCheck()


@get(
    "/api/health",
    tags=["system"],
    exclude_from_auth=True,
    responses={
        503: ResponseSpec(
            data_container=dict[str, Any],
            description="The database is not reachable; the body says what failed.",
            generate_examples=False,
        )
    },
)
async def health(context: AppContext) -> Response[dict[str, Any]]:
    sessions = context.sessions
    found = await _shared.run(sessions, lambda: _check(sessions))
    database: dict[str, Any] = {"dialect": context.engine.dialect.name, **found}
    ok = bool(database["ok"])
    return Response(
        {
            "status": "ok" if ok else "degraded",
            "database": database,
            "index": context.routing.state(),
            # What keeps the index in step with other processes' writes (None: no app running).
            "follower": context.follower.state() if context.follower else None,
            # Rounds of each scheduler job this process has finished (empty: no scheduler).
            "scheduler": dict(context.rounds),
        },
        status_code=200 if ok else 503,
    )
