"""HTTP endpoints for calls and replies; the rules (and who may do what) live in
``calls.service`` and ``calls.control``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.params import HeaderParameter, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.auth.middleware import READS_ONLY
from askhub.calls import control, service, similar
from askhub.calls.schemas import (
    AcceptIn,
    CallCreate,
    CallEdit,
    CallOut,
    CallPreview,
    DeadlineIn,
    DeflectIn,
    DeflectionOut,
    MessageIn,
    MessageOut,
    ReopenIn,
    ReplyCreate,
    ReplyOut,
    SimilarOut,
    VolunteerOut,
)
from askhub.context import AppContext
from askhub.i18n import reader_language, translator
from askhub.openapi import BEARER, REPLAYED, TOTAL, Id, Limit, Offset, errors
from askhub.people.service import person_brief
from askhub.validation import NotFound
from models import Call, Person, Reply

Status = Literal["open", "answered", "filled", "closed", "expired", "withdrawn"]
Kind = Literal["question", "volunteers", "referral"]
Text = Annotated[str, Parameter(max_length=200)]


async def _call(db: AsyncSession, call_id: int) -> Call:
    call = await service.get_call(db, call_id)
    if call is None:
        raise NotFound("no call with id {id}", id=call_id)
    return call


class CallsController(Controller):
    path = "/api/calls"
    tags = ("calls",)
    security = BEARER

    @post(
        "/",
        responses=errors(413),
        response_headers=[
            ResponseHeader(
                name=REPLAYED,
                description="'true' when the call was posted before under this Idempotency-Key: "
                "the response is that call as it is now, and nobody was asked again",
                documentation_only=True,
            )
        ],
    )
    async def create_call(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        data: CallCreate,
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                description="Your name for this request (1 to 100 visible ASCII characters, "
                "e.g. a UUID): send the same key when you retry a post whose answer you did "
                "not get (a timeout, a 503), and the call is posted once.",
            ),
        ] = None,
    ) -> Response[CallOut]:
        """Post a call; the response lists the people it is routed to, with the reasons."""
        headers = {}
        try:
            call = await service.create_call(
                db, context.routing, context.settings, me, data, request_key=idempotency_key
            )
        except service.AlreadyPosted as posted:
            call = await _call(db, posted.call_id)
            headers[REPLAYED] = "true"
        out = service.call_out(call, me)
        out.reach = await service.reach_out(db, context.settings, call)
        return Response(out, status_code=201, headers=headers)

    @post("/preview", status_code=200, responses=errors(413))
    async def preview_call(
        self, db: AsyncSession, context: AppContext, me: Person, data: CallCreate
    ) -> CallPreview:
        """What posting this call would do, without posting it: how many people it would ask
        at once and in all, how many replies or volunteers to expect by the deadline, and
        warnings when its audience cannot plausibly give what it needs. Refused (422) where
        posting it would be."""
        found = await service.preview_call(db, context.routing, context.settings, me, data)
        return CallPreview(forecast=service.forecast_out(found, translator(reader_language(me))))

    @post("/similar", status_code=200, responses=errors(413))
    async def similar(
        self, db: AsyncSession, context: AppContext, me: Person, data: CallCreate
    ) -> list[SimilarOut]:
        """Asked before? Earlier calls like this one (same body as posting it) that have an
        accepted answer or filled their list, best first, with those answers. Nothing is
        stored and nobody is asked."""
        found = await similar.similar_calls(
            db, context.routing, data.title, data.body, list(data.tags)
        )
        return [
            SimilarOut(
                id=s.call.id,
                kind=str(s.call.kind),
                title=s.call.title,
                status=str(s.call.status),
                asker=person_brief(s.call.asker),
                created_at=s.call.created_at,
                score=s.score,
                answers=[service.reply_out(r, r.person) for r in s.answers],
            )
            for s in found
        ]

    @post("/{call_id:int}/deflections", status_code=201, responses=errors(404, 409))
    async def deflect(
        self, db: AsyncSession, me: Person, call_id: Id, data: DeflectIn | None = None
    ) -> DeflectionOut:
        """Take this earlier call's answers instead of asking (``query``: what you were about
        to ask); it counts as a deflection on the call."""
        call = await _call(db, call_id)
        count = await similar.take(db, call, me, data.query if data else "")
        return DeflectionOut(call_id=call.id, deflections=count)

    @get(
        "/",
        responses=errors(),
        response_headers=[
            ResponseHeader(
                name=TOTAL,
                description="calls matching the filters, all pages",
                documentation_only=True,
            )
        ],
    )
    async def list_calls(
        self,
        db: AsyncSession,
        me: Person,
        status: Status | None = None,
        kind: Kind | None = None,
        q: Text | None = None,
        mine: bool = False,
        routed_to_me: Annotated[bool, QueryParameter(name="routed-to-me")] = False,
        open_to_me: Annotated[bool, QueryParameter(name="open-to-me")] = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response[list[CallOut]]:
        """The board: calls newest first. ``q`` searches titles and details; ``open-to-me``
        keeps calls whose audience includes you (you may answer or volunteer on them without
        being asked). Withdrawn calls are listed only by ``status`` or ``mine``. The total
        over all pages is in the X-Total-Count header."""
        wanted = service.CallFilter(status, kind, q, mine, routed_to_me, open_to_me)
        calls, total = await service.board(db, me, wanted, limit, offset)
        return Response([service.call_out(c, me) for c in calls], headers={TOTAL: str(total)})

    # Reads only: "seen" is written in a transaction of its own (service.mark_seen).
    @get("/{call_id:int}", responses=errors(404), opt={READS_ONLY: True})
    async def get_call(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id
    ) -> CallOut:
        """The call, with ``reach``: people asked so far, planned, and useful replies expected
        by the deadline."""
        call = await service.read_call(db, call_id)
        if call is None:
            raise NotFound("no call with id {id}", id=call_id)
        await service.mark_seen(context.sessions, call, me, datetime.now(UTC))
        out = service.call_out(call, me)
        out.reach = await service.reach_out(db, context.settings, call)
        return out

    @patch("/{call_id:int}", responses=errors(403, 404, 409, 413))
    async def edit_call(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id, data: CallEdit
    ) -> CallOut:
        """The asker changes the title, details or tags; routing matches the new words."""
        call = await control.edit(db, context.routing, await _call(db, call_id), me, data)
        return service.call_out(call, me)

    @post("/{call_id:int}/close", status_code=200, responses=errors(403, 404, 409))
    async def close_call(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id
    ) -> CallOut:
        """Close now (the asker or a manager): the people still asked hear they are no longer
        needed; no more replies, waves or reminders."""
        call = await control.close(db, context.settings, await _call(db, call_id), me)
        return service.call_out(call, me)

    @post("/{call_id:int}/reopen", status_code=200, responses=errors(403, 404, 409))
    async def reopen_call(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        call_id: Id,
        data: ReopenIn | None = None,
    ) -> CallOut:
        """Open a closed or expired call again; give a new deadline when the old one passed."""
        deadline = data.deadline if data else None
        call = await control.reopen(db, context.settings, await _call(db, call_id), me, deadline)
        return service.call_out(call, me)

    @post("/{call_id:int}/extend", status_code=200, responses=errors(403, 404, 409))
    async def extend_call(
        self, db: AsyncSession, me: Person, call_id: Id, data: DeadlineIn
    ) -> CallOut:
        """Give an open call a new deadline."""
        call = await control.extend(db, await _call(db, call_id), me, data.deadline)
        return service.call_out(call, me)

    @post("/{call_id:int}/withdraw", status_code=200, responses=errors(403, 404, 409))
    async def withdraw_call(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id
    ) -> CallOut:
        """Take the call back: the people asked and the volunteers hear it is off."""
        call = await control.withdraw(
            db, context.settings, context.routing, await _call(db, call_id), me
        )
        return service.call_out(call, me)

    @post("/{call_id:int}/replies", responses=errors(403, 404, 409, 413))
    async def reply(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id, data: ReplyCreate
    ) -> ReplyOut:
        """Answer, volunteer, decline, or forward to a colleague. Anyone in the call's
        audience may answer or volunteer without being asked (403 outside it); forwarding is
        for the asker, the people asked and managers."""
        reply = await service.add_reply(db, context.settings, await _call(db, call_id), me, data)
        return service.reply_out(reply, me)

    @delete("/{call_id:int}/volunteering", status_code=200, responses=errors(404, 409))
    async def withdraw_volunteering(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id
    ) -> CallOut:
        """Take back your own volunteering; a filled call that drops below its count opens
        again, and its asker hears when it fills again."""
        call = await _call(db, call_id)
        await service.withdraw_volunteer(db, context.settings, call, me)
        return service.call_out(await _call(db, call_id), me)

    @post(
        "/{call_id:int}/replies/{reply_id:int}/accept",
        status_code=200,
        responses=errors(403, 404, 409),
    )
    async def accept(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        call_id: Id,
        reply_id: Id,
        data: AcceptIn | None = None,
    ) -> ReplyOut:
        """The asker accepts an answer; it becomes part of the answerer's expertise. A
        question closes with it unless ``keep_open``."""
        call = await _call(db, call_id)
        reply = await control.accept(
            db,
            context.settings,
            context.routing,
            call,
            reply_id,
            me,
            keep_open=bool(data and data.keep_open),
        )
        return service.reply_out(reply, reply.person)

    @get("/{call_id:int}/volunteers", responses=errors(403, 404))
    async def volunteers(self, db: AsyncSession, me: Person, call_id: Id) -> list[VolunteerOut]:
        """Who volunteered, in order (the asker and managers)."""
        return [
            VolunteerOut(
                person=person_brief(v.person),
                email=v.person.email,
                note=v.reply.body,
                volunteered_at=v.reply.created_at,
                reply_id=v.reply.id,
            )
            for v in control.volunteers(await _call(db, call_id), me)
        ]

    @get("/{call_id:int}/volunteers.csv", responses=errors(403, 404), media_type="text/csv")
    async def volunteers_csv(self, db: AsyncSession, me: Person, call_id: Id) -> Response[str]:
        """The volunteers as CSV (the asker and managers)."""
        call = await _call(db, call_id)
        return Response(
            control.volunteers_csv(call, me),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="call-{call.id}-volunteers.csv"'
            },
        )

    @post("/{call_id:int}/message", status_code=200, responses=errors(403, 404, 409, 413))
    async def message(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id, data: MessageIn
    ) -> MessageOut:
        """One message to every volunteer, through their own channels."""
        sent = await control.message_volunteers(
            db, context.settings, await _call(db, call_id), me, data.body
        )
        return MessageOut(sent_to=sent)


class RepliesController(Controller):
    path = "/api/replies"
    tags = ("calls",)
    security = BEARER

    @post("/{reply_id:int}/thank", status_code=200, responses=errors(403, 404, 409))
    async def thank(
        self, db: AsyncSession, context: AppContext, me: Person, reply_id: Id
    ) -> ReplyOut:
        """The asker thanks someone for their reply; they are told once."""
        call = await service.call_of_reply(db, reply_id)
        if call is None:
            raise NotFound("no reply with id {id}", id=reply_id)
        reply: Reply = await control.thank(db, context.settings, call, reply_id, me)
        return service.reply_out(reply, reply.person)
