"""A colleague's page: the public profile, their posts, and the calls they answered."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.people.expertise import visible_skills
from askhub.people.service import get_by_handle, posts_of
from askhub.web.core import page
from models import Call, Person, Reply, ReplyKind


@get("/people/{handle:str}")
async def person_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, handle: str
) -> Response[Any]:
    person = await get_by_handle(db, handle)
    if person is None:
        raise NotFoundException(f"nobody with handle {handle!r}")
    answered = (
        await db.execute(
            select(Reply, Call)
            .join(Call, Call.id == Reply.call_id)
            .where(Reply.person_id == person.id, Reply.kind == ReplyKind.ANSWER)
            .order_by(Reply.created_at.desc(), Reply.id.desc())
            .limit(30)
        )
    ).all()
    return page(
        request,
        viewer,
        "person.html",
        person=person,
        skills=visible_skills(person),
        posts=list(await posts_of(db, person, limit=20)),
        answered=[(r, c) for r, c in answered],
    )
