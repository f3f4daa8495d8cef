"""``GET /api/people/me/export`` and erasure: the privacy routes, next to their rules."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, delete, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.context import AppContext
from askhub.openapi import errors
from askhub.people import controllers as people
from askhub.privacy import service as privacy
from askhub.privacy.export import export_of
from askhub.privacy.service import Erasure
from askhub.validation import NotFound
from models import Person, Role


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: the token's person is an admin."""
    if connection.user.role != Role.ADMIN:
        raise PermissionDeniedException("only admins may do this")


class PeopleController(people.PeopleController):
    """The people routes with export and erasure added: those need people and calls, so they
    live here, above both (a route may not be split over two controllers: each registers the
    path's OPTIONS). The app registers this one."""

    @get("/me/export", responses=errors())
    async def export_me(self, db: AsyncSession, me: Person) -> Response[dict[str, Any]]:
        """Everything AskHub keeps about you (GDPR art. 15 and 20), as the profile page's
        download: profile, posts, calls, replies, what you were asked, inbox, tokens (no
        secrets)."""
        return Response(
            await export_of(db, me),
            media_type=MediaType.JSON,
            headers={
                "Content-Disposition": f'attachment; filename="askhub-{me.handle}.json"',
                "Cache-Control": "no-store",
            },
        )

    @delete("/me", status_code=200, responses=errors())
    async def erase_me(self, request: Request[Any, Any, Any], context: AppContext) -> Erasure:
        """Erase yourself (GDPR art. 17): profile, posts and their vectors, the calls you asked,
        your tokens and web sessions. Your replies stay for the askers, without your name. This token stops
        working."""
        erased = await privacy.erase(context.sessions, context.routing, request.user.id)
        if erased is None:
            raise NotFoundException("already erased")
        return erased

    @delete("/{handle:str}", status_code=200, guards=[requires_admin], responses=errors(403, 404))
    async def erase_person(self, context: AppContext, handle: str) -> Erasure:
        """Admins: erase someone, as they could themselves."""
        erased = await privacy.erase_by_handle(context.sessions, context.routing, handle)
        if erased is None:
            raise NotFound("no person with handle '{handle}'", handle=handle)
        return erased
