"""``Authorization: Bearer <token>`` on every API route except health and the schema."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from askhub.auth.service import person_for_token
from askhub.context import AppContext


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(
                "missing bearer token: send 'Authorization: Bearer <token>'"
            )
        context: AppContext = connection.app.state.context
        async with context.sessions() as session, session.begin():
            person = await person_for_token(session, token.strip())
        if person is None:
            raise NotAuthorizedException("invalid or revoked token")
        return AuthenticationResult(user=person, auth=token)
