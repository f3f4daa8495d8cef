"""A colleague's page: the public profile, their posts, and the calls they answered; for
managers and admins also the introduce form and the ambassador switch."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.introductions import introductions_left
from askhub.calls.service import answers_by
from askhub.context import AppContext
from askhub.people.ambassadors import ambassador_of, may_facilitate
from askhub.people.expertise import visible_skills
from askhub.people.service import get_by_handle, posts_of
from askhub.web.core import page
from models import Person


async def person_page_for(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    handle: str,
    *,
    status: int = 200,
    errors: dict[str, str | Exception] | None = None,
    note: str = "",
) -> Response[Any]:
    person = await get_by_handle(db, handle)
    if person is None:
        raise NotFoundException(f"nobody with handle {handle!r}")
    answered = await answers_by(db, person)
    facilitator = may_facilitate(viewer) and viewer.id != person.id
    return page(
        request,
        viewer,
        "person.html",
        status=status,
        errors=errors or {},
        person=person,
        skills=visible_skills(person),
        posts=list(await posts_of(db, person, limit=20)),
        answered=[(r, c) for r, c in answered],
        may_introduce=facilitator,
        introductions_left=await introductions_left(db, context.settings, viewer)
        if facilitator
        else 0,
        introduce_note=note,
        is_ambassador=facilitator and await ambassador_of(db, person) is not None,
    )


@get("/people/{handle:str}")
async def person_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    handle: str,
) -> Response[Any]:
    return await person_page_for(request, db, context, viewer, handle)
