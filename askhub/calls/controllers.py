"""HTTP endpoints for calls and replies; the rules live in ``calls.service``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import service
from askhub.calls.schemas import CallCreate, CallOut, CallPreview, ReplyCreate, ReplyOut
from askhub.context import AppContext
from askhub.openapi import BEARER, Id, Limit, Offset, errors
from askhub.people.service import person_brief
from models import Call, Person, Reply

Status = Literal["open", "answered", "filled", "closed", "expired"]


async def _call(db: AsyncSession, call_id: int) -> Call:
    call = await service.get_call(db, call_id)
    if call is None:
        raise NotFoundException(f"no call with id {call_id}")
    return call


class CallsController(Controller):
    path = "/api/calls"
    tags = ("calls",)
    security = BEARER

    @post("/", responses=errors(413))
    async def create_call(
        self, db: AsyncSession, context: AppContext, me: Person, data: CallCreate
    ) -> CallOut:
        """Post a call; the response lists the people it is routed to, with the reasons."""
        call = await service.create_call(db, context.routing, context.settings, me, data)
        out = service.call_out(call, me)
        out.reach = await service.reach_out(db, context.settings, call)
        return out

    @post("/preview", status_code=200, responses=errors(413))
    async def preview_call(
        self, db: AsyncSession, context: AppContext, me: Person, data: CallCreate
    ) -> CallPreview:
        """What posting this call would do, without posting it: how many people it would ask
        at once and in all, how many replies or volunteers to expect by the deadline, and
        warnings when its audience cannot plausibly give what it needs. Refused (422) where
        posting it would be."""
        found = await service.preview_call(db, context.routing, context.settings, me, data)
        return CallPreview(forecast=service.forecast_out(found))

    @get("/", responses=errors())
    async def list_calls(
        self,
        db: AsyncSession,
        me: Person,
        status: Status | None = None,
        mine: bool = False,
        routed_to_me: Annotated[bool, QueryParameter(name="routed-to-me")] = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[CallOut]:
        calls = await service.list_calls(db, me, status, mine, routed_to_me, limit, offset)
        return [service.call_out(c, me) for c in calls]

    @get("/{call_id:int}", responses=errors(404))
    async def get_call(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id
    ) -> CallOut:
        """The call, with ``reach``: people asked so far, planned, and useful replies expected
        by the deadline."""
        call = await _call(db, call_id)
        await service.mark_seen(context.sessions, call, me, datetime.now(UTC))
        out = service.call_out(call, me)
        out.reach = await service.reach_out(db, context.settings, call)
        return out

    @post("/{call_id:int}/replies", responses=errors(403, 404, 409, 413))
    async def reply(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id, data: ReplyCreate
    ) -> ReplyOut:
        """Answer, volunteer, decline, or forward to a colleague (the asker, the people asked
        and managers only: 403 for others)."""
        try:
            reply = await service.add_reply(
                db, context.settings, await _call(db, call_id), me, data
            )
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from exc
        return _reply_out(reply, me)

    @post(
        "/{call_id:int}/replies/{reply_id:int}/accept",
        status_code=200,
        responses=errors(403, 404, 409),
    )
    async def accept(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id, reply_id: Id
    ) -> ReplyOut:
        """The asker accepts an answer; it becomes part of the answerer's expertise."""
        call = await _call(db, call_id)
        try:
            reply = await service.accept_reply(db, context.routing, call, reply_id, me)
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from exc
        except LookupError as exc:
            raise NotFoundException(str(exc)) from exc
        author = next(r.person for r in call.replies if r.id == reply.id)
        return _reply_out(reply, author)


def _reply_out(reply: Reply, person: Person) -> ReplyOut:
    return ReplyOut(
        id=reply.id,
        person=person_brief(person),
        kind=str(reply.kind),
        body=reply.body,
        accepted=reply.accepted,
        created_at=reply.created_at,
    )
