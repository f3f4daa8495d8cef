"""Per-request dependencies shared by the controllers."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.context import AppContext
from models import Person


def provide_context(state: State) -> AppContext:
    context: AppContext = state.context
    return context


async def provide_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed when the handler succeeds, rolled back if not."""
    context: AppContext = state.context
    async with context.sessions() as session, session.begin():
        yield session


async def provide_me(request: Request, db: AsyncSession) -> Person:  # type: ignore[type-arg]
    """The authenticated person, loaded in this request's session so it can be changed."""
    person = await db.get(Person, request.user.id)
    assert person is not None  # the middleware just found it
    return person
