"""The rules of a call: who it is routed to, who may see what, and what a reply changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from askhub.calls.schemas import CallCreate, CallOut, MatchOut, Reason, ReplyCreate, ReplyOut
from askhub.people.service import person_brief
from askhub.routing.service import RoutingService
from models import (
    Call,
    CallKind,
    CallStatus,
    Match,
    MatchState,
    Person,
    Post,
    PostKind,
    Reply,
    ReplyKind,
    Role,
)


class CallError(ValueError):
    """A request that the call's state does not allow (becomes HTTP 409/400)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def query_text(title: str, body: str, tags: Sequence[str]) -> str:
    return "\n".join(part for part in (title, body, " ".join(tags)) if part)


def _validate(data: CallCreate) -> None:
    if data.deadline is not None:
        if data.deadline.tzinfo is None:
            raise CallError(
                "deadline must include a time zone, e.g. 2026-12-01T17:00:00+01:00", "deadline"
            )
        if data.deadline <= datetime.now(UTC):
            raise CallError("deadline must be in the future", "deadline")
    if data.kind == "volunteers" and data.needed is None:
        raise CallError("a volunteers call needs 'needed': how many people", "needed")
    if data.kind != "volunteers" and data.needed is not None:
        raise CallError("'needed' is only for volunteers calls", "needed")


async def create_call(
    session: AsyncSession, routing: RoutingService, asker: Person, data: CallCreate, k: int
) -> Call:
    """Store the call and its matches (wave 1) in one transaction."""
    _validate(data)
    audience = msgspec.to_builtins(data.audience) if data.audience else None
    call = Call(
        asker_id=asker.id,
        kind=CallKind(data.kind),
        title=data.title,
        body=data.body,
        tags=list(data.tags),
        needed=data.needed,
        deadline=data.deadline,
        audience=audience,
    )
    session.add(call)
    await session.flush()
    routed = await routing.route(
        session,
        query_text(data.title, data.body, data.tags),
        k=k,
        exclude={asker.id},
        audience=audience,
    )
    for match in routed:
        session.add(
            Match(
                call_id=call.id,
                person_id=match.person.id,
                rank=match.rank,
                score=match.score,
                evidence=match.reasons,
            )
        )
    await session.flush()
    return await get_call(session, call.id)  # type: ignore[return-value]


async def get_call(session: AsyncSession, call_id: int) -> Call | None:
    return await session.scalar(
        select(Call)
        .where(Call.id == call_id)
        .options(
            selectinload(Call.asker),
            selectinload(Call.matches).selectinload(Match.person),
            selectinload(Call.replies).selectinload(Reply.person),
        )
        .execution_options(populate_existing=True)
    )


async def list_calls(
    session: AsyncSession,
    viewer: Person,
    status: str | None = None,
    mine: bool = False,
    routed_to_me: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Call]:
    query = (
        select(Call)
        .options(
            selectinload(Call.asker),
            selectinload(Call.matches).selectinload(Match.person),
            selectinload(Call.replies).selectinload(Reply.person),
        )
        .order_by(Call.created_at.desc(), Call.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if status:
        query = query.where(Call.status == CallStatus(status))
    if mine:
        query = query.where(Call.asker_id == viewer.id)
    if routed_to_me:
        query = query.where(exists().where(Match.call_id == Call.id, Match.person_id == viewer.id))
    return (await session.scalars(query)).all()


def can_see_matches(call: Call, viewer: Person) -> bool:
    return call.asker_id == viewer.id or viewer.role in (Role.MANAGER, Role.ADMIN)


def call_out(call: Call, viewer: Person) -> CallOut:
    visible = [m for m in call.matches if can_see_matches(call, viewer) or m.person_id == viewer.id]
    return CallOut(
        id=call.id,
        kind=str(call.kind),
        title=call.title,
        body=call.body,
        tags=list(call.tags or []),
        needed=call.needed,
        deadline=call.deadline,
        status=str(call.status),
        asker=person_brief(call.asker),
        created_at=call.created_at,
        replies=[
            ReplyOut(
                id=r.id,
                person=person_brief(r.person),
                kind=str(r.kind),
                body=r.body,
                accepted=r.accepted,
                created_at=r.created_at,
            )
            for r in call.replies
        ],
        matches=[
            MatchOut(
                person=person_brief(m.person),
                score=m.score,
                rank=m.rank,
                wave=m.wave,
                state=str(m.state),
                reasons=[msgspec.convert(r, Reason) for r in m.evidence],
            )
            for m in visible
        ],
        volunteers=sum(1 for r in call.replies if r.kind == ReplyKind.VOLUNTEER),
    )


async def add_reply(
    session: AsyncSession, routing: RoutingService, call: Call, person: Person, data: ReplyCreate
) -> Reply:
    """Record a reply. An answer becomes part of the answerer's history (and so of routing)."""
    if call.status in (CallStatus.CLOSED, CallStatus.EXPIRED):
        raise CallError(f"call {call.id} is {call.status}; it takes no more replies")
    if data.kind == "answer" and not data.body.strip():
        raise CallError("an answer needs a body", "body")
    if data.kind == "volunteer":
        if call.kind != CallKind.VOLUNTEERS:
            raise CallError("only volunteers calls take volunteers", "kind")
        if call.status == CallStatus.FILLED:
            raise CallError(f"call {call.id} is already filled")
        if any(r.person_id == person.id and r.kind == ReplyKind.VOLUNTEER for r in call.replies):
            raise CallError("you have already volunteered for this call", "kind")
    reply = Reply(call_id=call.id, person_id=person.id, kind=ReplyKind(data.kind), body=data.body)
    session.add(reply)
    match = next((m for m in call.matches if m.person_id == person.id), None)
    if match is not None:
        match.state = MatchState.DECLINED if data.kind == "decline" else MatchState.REPLIED
    if data.kind == "answer" and person.id != call.asker_id:
        if call.status == CallStatus.OPEN and call.kind == CallKind.QUESTION:
            call.status = CallStatus.ANSWERED
        post = Post(
            author_id=person.id,
            kind=PostKind.ANSWER,
            title=call.title,
            body=data.body,
            tags=list(call.tags or []),
            source="reply",
        )
        session.add(post)
        await session.flush()
        post.external_id = str(reply.id)
        await routing.embed_posts(session, [post])
    if data.kind == "volunteer" and call.needed is not None:
        volunteers = 1 + sum(1 for r in call.replies if r.kind == ReplyKind.VOLUNTEER)
        if volunteers >= call.needed:
            call.status = CallStatus.FILLED
    await session.flush()
    return reply
