"""HTTP endpoints for people and posts; the rules live in ``people.service``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.exceptions import PermissionDeniedException
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.context import AppContext
from askhub.openapi import BEARER, Limit, Offset, errors
from askhub.people import service
from askhub.people.schemas import (
    PersonIn,
    PersonOut,
    PostCreate,
    PostOut,
    PostUpdate,
    ProfileUpdate,
)
from askhub.validation import NO_NUL, NotFound, NotPermitted
from models import Person, Post, Role

# A filter or search term, as stored text: NUL never matches anything.
Term = Annotated[str, Parameter(max_length=200, pattern=NO_NUL)]


async def _person(db: AsyncSession, handle: str) -> Person:
    person = await service.get_by_handle(db, handle)
    if person is None:
        raise NotFound("no person with handle '{handle}'", handle=handle)
    return person


class PeopleController(Controller):
    path = "/api/people"
    tags = ("people",)
    security = BEARER

    @get("/", responses=errors())
    async def list_people(
        self,
        db: AsyncSession,
        department: Term | None = None,
        q: Term | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[PersonOut]:
        people = await service.list_people(db, department, q, limit, offset)
        return [service.person_out(p) for p in people]

    @get("/me", responses=errors())
    async def get_me(self, me: Person) -> PersonOut:
        return service.person_out(me, private=True)

    @put("/me", responses=errors(409, 413))
    async def update_me(
        self, db: AsyncSession, context: AppContext, me: Person, data: ProfileUpdate
    ) -> PersonOut:
        await service.update_profile(
            db,
            context.routing,
            me,
            data,
            email_is_identity=context.settings.auth_header_field == "email",
        )
        return service.person_out(me, private=True)

    @post("/", responses=errors(403, 409, 413))
    async def create_person(self, db: AsyncSession, me: Person, data: PersonIn) -> PersonOut:
        """Directory sync: admins create people (with optional history) like the importer."""
        if me.role != Role.ADMIN:
            raise PermissionDeniedException(
                "only admins create people; update yours at /api/people/me"
            )
        if await service.get_by_handle(db, data.handle) is not None:
            raise NotPermitted("handle '{handle}' is taken", handle=data.handle)
        await service.upsert_people(db, [data])
        return service.person_out(await _person(db, data.handle))

    @get("/{handle:str}", responses=errors(404))
    async def get_person(self, db: AsyncSession, handle: str) -> PersonOut:
        return service.person_out(await _person(db, handle))

    @get("/{handle:str}/posts", responses=errors(404))
    async def list_posts(
        self, db: AsyncSession, handle: str, limit: Limit = 50, offset: Offset = 0
    ) -> list[PostOut]:
        person = await _person(db, handle)
        return [
            service.post_out(p, person) for p in await service.posts_of(db, person, limit, offset)
        ]


class PostsController(Controller):
    path = "/api/posts"
    tags = ("posts",)
    security = BEARER

    @post("/", responses=errors(413))
    async def create_post(
        self, db: AsyncSession, context: AppContext, me: Person, data: PostCreate
    ) -> PostOut:
        """Write a post about something you know: it counts as expertise from the next call on."""
        created = await service.create_post(db, context.routing, me, data)
        return service.post_out(created, me)

    @patch("/{post_id:int}", responses=errors(404, 413))
    async def edit_post(
        self, db: AsyncSession, context: AppContext, me: Person, post_id: int, data: PostUpdate
    ) -> PostOut:
        """Change one of your posts; the next call finds the new words and not the old."""
        item = await _own_post(db, me, post_id)
        await service.update_post(db, context.routing, item, data)
        return service.post_out(item, me)

    @delete("/{post_id:int}", status_code=204, responses=errors(404))
    async def delete_post(self, db: AsyncSession, me: Person, post_id: int) -> None:
        """Delete one of your posts; it stops counting as your expertise."""
        await service.delete_post(db, await _own_post(db, me, post_id))


async def _own_post(db: AsyncSession, me: Person, post_id: int) -> Post:
    item = await service.own_post(db, me, post_id)
    if item is None:
        raise NotFound("no post {id} of yours to change", id=post_id)
    return item
