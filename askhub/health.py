"""``GET /api/health``: is the database reachable, and what does the index hold."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.context import AppContext
from askhub.recent import Recent
from models import Person

_people: Recent[int] = Recent(10.0)


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Person)) or 0)


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
    database: dict[str, Any] = {"dialect": context.engine.dialect.name}
    try:
        async with context.sessions() as session:
            await session.execute(text("SELECT 1"))
            # A count over every person: the load balancer asks every few seconds.
            database["people"] = await _people.get(session, "people", lambda: _count(session))
        database["ok"] = True
    # A refused or cut connection may come from the driver unwrapped (asyncpg's connect).
    except (SQLAlchemyError, ConnectionError) as exc:
        database.update(ok=False, error=type(exc).__name__)
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
