"""The rules of a call: who it is routed to, who may see what, and what a reply changes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from askhub.calls import notify
from askhub.calls.scheduled import start_next_wave
from askhub.calls.schemas import CallCreate, CallOut, MatchOut, Reason, ReplyCreate, ReplyOut
from askhub.people.availability import asks_in_window, is_available
from askhub.people.service import get_by_handle, person_brief
from askhub.routing.service import RoutingService
from askhub.settings import Settings
from askhub.validation import VISIBLE, InputError
from models import (
    Call,
    CallKind,
    CallStatus,
    Match,
    MatchState,
    NudgeKind,
    Person,
    Post,
    PostKind,
    Reply,
    ReplyKind,
    Role,
)


class CallError(InputError):
    """A request that the call's state does not allow (HTTP 409, or 422 naming a field)."""


def _no_nul(value: str, field: str) -> str:
    if "\x00" in value:
        raise CallError("must not contain NUL characters", field)
    return value


def query_text(title: str, body: str, tags: Sequence[str]) -> str:
    return "\n".join(part for part in (title, body, " ".join(tags)) if part)


def _validate(data: CallCreate) -> None:
    # The schema says so too; this holds for callers that build a CallCreate themselves.
    if not re.search(VISIBLE, _no_nul(data.title, "title")):
        raise CallError("a title needs words, not only spaces", "title")
    _no_nul(data.body, "body")
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
    session: AsyncSession,
    routing: RoutingService,
    settings: Settings,
    asker: Person,
    data: CallCreate,
) -> Call:
    """Store the call and its matches, and ask the first wave, in one transaction."""
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
        k=max(settings.matches_per_call, settings.wave_size * settings.max_waves),
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
    stored = await get_call(session, call.id)
    assert stored is not None
    if stored.deadline is None or stored.deadline > datetime.now(UTC):
        await start_next_wave(session, settings, stored, datetime.now(UTC))
    return stored


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
        wave=call.wave,
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
    session: AsyncSession,
    settings: Settings,
    call: Call,
    person: Person,
    data: ReplyCreate,
    now: datetime | None = None,
) -> Reply:
    """Record a reply and tell whoever needs to know (the asker; on a full call, the others)."""
    now = now or datetime.now(UTC)
    if call.status in (CallStatus.CLOSED, CallStatus.EXPIRED):
        raise CallError(f"call {call.id} is {call.status}; it takes no more replies")
    _no_nul(data.body, "body")
    _no_nul(data.forward_to or "", "forward_to")
    if data.kind == "answer" and not data.body.strip():
        raise CallError("an answer needs a body", "body")
    forward_to: Person | None = None
    if data.kind == "forward":
        forward_to = await _forward_target(session, call, person, data.forward_to)
    if data.kind == "volunteer":
        if call.kind != CallKind.VOLUNTEERS:
            raise CallError("only volunteers calls take volunteers", "kind")
        if call.status == CallStatus.FILLED:
            raise CallError(f"call {call.id} is already filled")
        if any(r.person_id == person.id and r.kind == ReplyKind.VOLUNTEER for r in call.replies):
            raise CallError("you have already volunteered for this call", "kind")
    reply = Reply(
        call_id=call.id,
        person_id=person.id,
        kind=ReplyKind(data.kind),
        body=data.body,
        forward_to_id=forward_to.id if forward_to else None,
        created_at=now,
    )
    session.add(reply)
    await session.flush()
    match = next((m for m in call.matches if m.person_id == person.id), None)
    if match is not None:
        match.replied_at = now
        match.state = {
            "decline": MatchState.DECLINED,
            "forward": MatchState.FORWARDED,
        }.get(data.kind, MatchState.REPLIED)
    if forward_to is not None:
        await _forward(session, settings, call, person, forward_to, data.body, now)
    if data.kind == "answer" and person.id != call.asker_id:
        if call.status == CallStatus.OPEN and call.kind != CallKind.VOLUNTEERS:
            call.status = CallStatus.ANSWERED
        await notify.tell_asker(
            session,
            settings,
            call,
            call.asker,
            f"reply:{reply.id}",
            f"{person.name} answered: {call.title}",
            f"{person.name} answered your call “{call.title}”.",
            now,
            items=[data.body],
        )
    if data.kind == "volunteer":
        volunteers = 1 + sum(1 for r in call.replies if r.kind == ReplyKind.VOLUNTEER)
        if call.needed is not None and volunteers >= call.needed:
            call.status = CallStatus.FILLED
            await _tell_full(session, settings, call, person, volunteers, now)
    await session.flush()
    return reply


async def _forward_target(
    session: AsyncSession, call: Call, person: Person, handle: str | None
) -> Person:
    if not handle:
        raise CallError("say who to forward to: 'forward_to' is a colleague's handle", "forward_to")
    target = await get_by_handle(session, handle)
    if target is None:
        raise CallError(f"no colleague with handle {handle!r}", "forward_to")
    if target.id in (person.id, call.asker_id):
        raise CallError("forward to someone other than yourself or the asker", "forward_to")
    return target


async def _forward(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    forwarder: Person,
    target: Person,
    note: str,
    now: datetime,
) -> None:
    """A forward makes the colleague a match with the forwarder as the reason, asked at once
    when the rules allow (otherwise first in line for the next wave)."""
    match = next((m for m in call.matches if m.person_id == target.id), None)
    if match is None:
        match = Match(
            call_id=call.id,
            person_id=target.id,
            rank=max((m.rank for m in call.matches), default=0) + 1,
            score=0.0,
            wave=call.wave,
            forwarded_by_id=forwarder.id,
            evidence=[
                {
                    "post_id": 0,
                    "kind": "forward",
                    "title": f"{forwarder.name} forwarded this to you",
                    "snippet": note or f"{forwarder.name} thinks you know about this.",
                    "matched_terms": [],
                    "similarity": 0.0,
                }
            ],
        )
        session.add(match)
        await session.flush()
        match.person = target
        call.matches.append(match)
    if match.state != MatchState.PROPOSED:
        return
    budget = await asks_in_window(session, [target.id], now)
    if is_available(target, now) and budget.get(target.id, 0) < target.nudge_budget_per_week:
        match.state = MatchState.NUDGED
        match.nudged_at = now
        await notify.ask(session, settings, call, match, target, call.asker, now)


async def _tell_full(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    last: Person,
    volunteers: int,
    now: datetime,
) -> None:
    volunteered = {r.person_id for r in call.replies if r.kind == ReplyKind.VOLUNTEER} | {last.id}
    await notify.tell_asker(
        session,
        settings,
        call,
        call.asker,
        f"filled:{call.id}",
        f"Filled: {call.title}",
        f"Your call “{call.title}” has the {volunteers} volunteers it needed.",
        now,
    )
    for match in call.matches:
        if match.nudged_at is None or match.person_id in volunteered:
            continue
        if match.state in (MatchState.NUDGED, MatchState.SEEN):
            match.state = MatchState.EXPIRED
        await notify.send(
            session,
            settings,
            match.person,
            NudgeKind.NOTICE,
            f"full:{call.id}:{match.person_id}",
            {
                "subject": f"Full, thank you: {call.title}",
                "intro": f"“{call.title}” has all the volunteers it needed; no need to reply.",
                "body": "",
                "reasons": [],
                "links": [],
                "items": [],
            },
            now,
            call,
        )


async def accept_reply(
    session: AsyncSession, routing: RoutingService, call: Call, reply_id: int, viewer: Person
) -> Reply:
    """The asker accepts an answer: it becomes post history of the answerer (and so routing)."""
    if viewer.id != call.asker_id:
        raise PermissionError("only the asker accepts an answer")
    reply = next((r for r in call.replies if r.id == reply_id), None)
    if reply is None:
        raise LookupError(f"call {call.id} has no reply {reply_id}")
    if reply.kind != ReplyKind.ANSWER:
        raise CallError("only answers can be accepted")
    if reply.accepted:
        return reply
    reply.accepted = True
    if call.status == CallStatus.OPEN:
        call.status = CallStatus.ANSWERED
    post = Post(
        author_id=reply.person_id,
        kind=PostKind.ANSWER,
        title=call.title,
        body=reply.body,
        tags=list(call.tags or []),
        source="reply",
        external_id=str(reply.id),
    )
    session.add(post)
    await session.flush()
    await routing.embed_posts(session, [post])
    return reply


async def mark_seen(
    sessions: async_sessionmaker[AsyncSession], call: Call, person: Person, now: datetime
) -> None:
    """Opening a call counts as seen: no reminder for it.

    Recorded once, in a short transaction of its own: a view never turns the request's
    transaction into a write that holds the database's write lock (SQLite has one) until the
    request ends, and views after the first write nothing at all.
    """
    match = next((m for m in call.matches if m.person_id == person.id), None)
    if match is None or match.seen_at is not None:
        return
    async with sessions() as session, session.begin():
        await session.execute(
            update(Match).where(Match.id == match.id, Match.seen_at.is_(None)).values(seen_at=now)
        )
        await session.execute(
            update(Match)
            .where(Match.id == match.id, Match.state == MatchState.NUDGED)
            .values(state=MatchState.SEEN)
        )
    # The caller's copy shows it too, without becoming a change of the caller's transaction.
    set_committed_value(match, "seen_at", now)
    if match.state == MatchState.NUDGED:
        set_committed_value(match, "state", MatchState.SEEN)


def snooze(call: Call, person: Person, now: datetime, seconds: int) -> bool:
    match = next((m for m in call.matches if m.person_id == person.id), None)
    if match is None:
        return False
    match.snoozed_until = now + timedelta(seconds=seconds)
    match.reminded_at = None
    return True
