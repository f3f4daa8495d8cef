"""A colleague's page: the public profile, their posts, and the calls they answered."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.service import answers_by
from askhub.people.expertise import visible_skills
from askhub.people.service import get_by_handle, posts_of
from askhub.web.core import page
from models import Person


@get("/people/{handle:str}")
async def person_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, handle: str
) -> Response[Any]:
    person = await get_by_handle(db, handle)
    if person is None:
        raise NotFoundException(f"nobody with handle {handle!r}")
    answered = await answers_by(db, person)
    return page(
        request,
        viewer,
        "person.html",
        person=person,
        skills=visible_skills(person),
        posts=list(await posts_of(db, person, limit=20)),
        answered=[(r, c) for r, c in answered],
    )
