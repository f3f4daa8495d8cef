"""Per-request dependencies shared by the controllers."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.auth.middleware import request_session
from askhub.context import AppContext
from models import Person


def provide_context(state: State) -> AppContext:
    context: AppContext = state.context
    return context


async def provide_session(
    request: Request,  # type: ignore[type-arg]
    state: State,
) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed when the handler succeeds, rolled back if not.
    An API request brings the session its token was checked in (the middleware closes it)."""
    shared = request_session(request.scope)
    if shared is None:
        context: AppContext = state.context
        async with context.sessions() as session, session.begin():
            yield session
        return
    try:
        yield shared
    except BaseException:
        await shared.rollback()
        raise
    await shared.commit()


async def provide_me(request: Request, db: AsyncSession) -> Person:  # type: ignore[type-arg]
    """The authenticated person, in this request's session so it can be changed (for a token,
    already there: the middleware loaded it in the same session, so no second query)."""
    person = await db.get(Person, request.user.id)
    assert person is not None  # the middleware just found it
    return person
