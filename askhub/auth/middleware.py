"""``Authorization: Bearer <token>`` on every API route except health and the schema."""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware._utils import should_bypass_middleware
from litestar.types import Receive, Scope, Send
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.auth.service import token_owner
from askhub.context import AppContext
from models import Person
from models.db import read_without_transaction

# Where the request's database session waits for ``askhub.dependencies.provide_session``.
REQUEST_SESSION = "askhub.session"
# The token's person as the session loaded it: a strong reference, so the session's identity
# map (which holds objects weakly) still has them when the handler asks for ``me``.
REQUEST_PERSON = "askhub.person"
# Route option: the handler only reads in the request's session (anything it writes, it writes
# in a short transaction of its own). See ``BearerTokenMiddleware.__call__``.
READS_ONLY = "askhub_reads_only"


def request_session(scope: Scope) -> AsyncSession | None:
    """The session the token was checked in, if this request was authenticated by token."""
    found: AsyncSession | None = cast(dict[str, Any], scope).get(REQUEST_SESSION)
    return found


def detached_copy(person: Person) -> Person:
    """``request.user``: the person's columns as loaded, in no session. The session's own
    instance is the handler's (``me``), and a rollback there expires it, while the error
    handlers still read the person's language from ``request.user``."""
    return Person(**{column.key: getattr(person, column.key) for column in _COLUMNS})


_COLUMNS = inspect(Person).column_attrs


def _reads_only(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    return bool(handler is not None and handler.opt.get(READS_ONLY))


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """Checks the token in the session (and transaction) the handler then uses: one database
    connection and one transaction per request instead of two, and the person is already in
    the session when the handler asks for them. A plain read was about 15 round trips to the
    database, each a wait for the CPU on a busy machine; this saves four."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if should_bypass_middleware(
            exclude_http_methods=self.exclude_http_methods,
            exclude_opt_key=self.exclude_opt_key,
            exclude_path_pattern=self.exclude,
            scope=scope,
            scopes=self.scopes,
        ):
            await self.app(scope, receive, send)
            return
        context: AppContext = scope["app"].state.context
        async with context.sessions() as session:
            if _reads_only(scope):
                # The token's "last used" stamp commits at once either way.
                await read_without_transaction(session)
            shared = cast(dict[str, Any], scope)
            shared[REQUEST_SESSION] = session
            try:
                result = await self.authenticate_request(ASGIConnection(scope))
                scope["user"] = result.user
                scope["auth"] = result.auth
                await self.app(scope, receive, send)
                # provide_session commits what the handler did; a handler that used no session
                # leaves only the token's "last used" stamp to keep.
                if session.in_transaction():
                    await session.commit()
            finally:
                shared.pop(REQUEST_SESSION, None)
                shared.pop(REQUEST_PERSON, None)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(
                "missing bearer token: send 'Authorization: Bearer <token>'"
            )
        session = request_session(connection.scope)
        assert session is not None  # __call__ opened it
        found = await token_owner(session, token.strip())
        if found is None:
            raise NotAuthorizedException("invalid or revoked token")
        person, touched = found
        cast(dict[str, Any], connection.scope)[REQUEST_PERSON] = person
        if touched:
            # The stamp commits now, not with the handler's work: a write lock held through the
            # request would block any short transaction of its own (seen, on SQLite), and a
            # failed request would lose it.
            await session.commit()
        return AuthenticationResult(user=detached_copy(person), auth=token)
