"""The asker in control of a call: close, reopen, edit, extend the deadline, withdraw; accept
and thank replies; the volunteers' list, its CSV and one message to all of them.

The API, the web pages and the CLI call these and nothing else. Who may act is decided here,
once (:func:`require_asker`, :func:`require_steward`): a refusal is a ``PermissionError``
that the API turns into 403 and the pages into their 403 page (``NotPermitted``). A change of state is decided
holding the call's row (``service.hold_call``), so simultaneous requests queue and each sees
what the one before left.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import closing, notify
from askhub.calls.schemas import CallEdit
from askhub.calls.service import (
    FINISHED,
    CallError,
    call_post,
    get_call,
    hold_call,
)
from askhub.i18n import N_
from askhub.people.schemas import PostCreate
from askhub.people.service import update_post
from askhub.routing.service import RoutingService
from askhub.settings import Settings
from askhub.validation import VISIBLE, NotFound, NotPermitted
from models import (
    Call,
    CallKind,
    CallStatus,
    MatchState,
    NudgeKind,
    Person,
    Post,
    PostKind,
    Reply,
    ReplyKind,
    Role,
)

# Messages people see; the web pages translate them (askhub/web/i18n.py).
ONLY_ASKER = "Only the asker may do this."
ONLY_ASKER_OR_MANAGER = "Only the asker or a manager may do this."
ALREADY_CLOSED = "This call is already closed."
NOT_CLOSED = "This call is not closed."
IS_WITHDRAWN = "This call was withdrawn."
CLOSED_NO_DEADLINE = "This call is closed: reopen it with a new deadline."
DEADLINE_PASSED = "The deadline has passed: give a new one to reopen the call."
DEADLINE_IN_PAST = "The deadline must be in the future."
DEADLINE_NEEDS_ZONE = "The deadline must include a time zone, e.g. 2026-12-01T17:00:00+01:00."
NO_SUCH_REPLY = "This call has no such reply."
ONLY_ANSWERS = "Only answers can be accepted."
ONLY_HELP = "Only answers, volunteers and forwards can be thanked."
TITLE_NEEDS_WORDS = "A title needs words, not only spaces."
MESSAGE_NEEDS_WORDS = "Write a message."
NO_VOLUNTEERS = "This call has no volunteers to message."

STEWARDS = (Role.MANAGER, Role.ADMIN)


def is_asker(call: Call, person: Person) -> bool:
    return person.id == call.asker_id


def may_steward(call: Call, person: Person) -> bool:
    """The asker, and managers and admins (who run the service and facilitate)."""
    return is_asker(call, person) or person.role in STEWARDS


def require_asker(call: Call, person: Person) -> None:
    """Guard for what only the asker decides: their words, accepting and thanking replies."""
    if not is_asker(call, person):
        raise NotPermitted(ONLY_ASKER)


def require_steward(call: Call, person: Person) -> None:
    """Guard for what a manager may also do: close, reopen, extend, withdraw, volunteers."""
    if not may_steward(call, person):
        raise NotPermitted(ONLY_ASKER_OR_MANAGER)


async def _held(session: AsyncSession, call: Call) -> Call:
    """``call`` as it is now that this transaction holds it (status, deadline, matches)."""
    await hold_call(session, call)
    fresh = await get_call(session, call.id)
    assert fresh is not None
    return fresh


def _check_deadline(deadline: datetime, now: datetime) -> None:
    if deadline.tzinfo is None:
        raise CallError(DEADLINE_NEEDS_ZONE, "deadline")
    if deadline <= now:
        raise CallError(DEADLINE_IN_PAST, "deadline")


# -- the call's life ----------------------------------------------------------------------------


async def close(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    by: Person,
    now: datetime | None = None,
) -> Call:
    """Close the call now: no more replies, waves or reminders; the people still asked hear
    they are no longer needed."""
    require_steward(call, by)
    now = now or datetime.now(UTC)
    call = await _held(session, call)
    if call.status in FINISHED:
        raise CallError(IS_WITHDRAWN if call.status == CallStatus.WITHDRAWN else ALREADY_CLOSED)
    await _finish(session, settings, call, CallStatus.CLOSED, now, CLOSED_WHY)
    return call


# Why the people still asked are no longer needed, translated for each of them.
CLOSED_WHY = N_("{name} closed “{title}”: thank you, no need to reply any more.")
WITHDRAWN_WHY = N_("{name} withdrew “{title}”: thank you, no need to reply any more.")
ANSWERED_WHY = N_("{name} has the answer to “{title}”: thank you, no need to reply any more.")


async def _finish(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    status: CallStatus,
    now: datetime,
    why: str,
) -> None:
    call.status = status
    call.closed_at = now
    await closing.release_asked(
        session,
        settings,
        call,
        now,
        lambda t: t(why, name=call.asker.name, title=call.title),
    )


async def reopen(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    by: Person,
    deadline: datetime | None = None,
    now: datetime | None = None,
) -> Call:
    """Open a closed or expired call again (with a new deadline when the old one passed).
    People it never asked become candidates for its next wave again; the people told they
    were no longer needed are not asked again."""
    require_steward(call, by)
    now = now or datetime.now(UTC)
    if deadline is not None:
        _check_deadline(deadline, now)
    call = await _held(session, call)
    if call.status == CallStatus.WITHDRAWN:
        raise CallError(IS_WITHDRAWN)
    if call.status not in FINISHED:
        raise CallError(NOT_CLOSED)
    if deadline is not None:
        call.deadline = deadline
    elif call.deadline is not None and call.deadline <= now:
        raise CallError(DEADLINE_PASSED, "deadline")
    call.status = _open_status(call)
    call.closed_at = None
    call.reopened_at = now
    waiting = False
    for match in call.matches:
        if match.state == MatchState.EXPIRED and match.nudged_at is None:
            match.state = MatchState.PROPOSED
            waiting = True
    if waiting:
        call.exhausted_at = None
    return call


def _open_status(call: Call) -> CallStatus:
    """What an open call with these replies is: filled, answered, or open."""
    volunteers = sum(1 for r in call.replies if r.kind == ReplyKind.VOLUNTEER)
    if call.kind == CallKind.VOLUNTEERS:
        return (
            CallStatus.FILLED
            if call.needed is not None and volunteers >= call.needed
            else CallStatus.OPEN
        )
    if any(r.kind == ReplyKind.ANSWER and r.person_id != call.asker_id for r in call.replies):
        return CallStatus.ANSWERED
    return CallStatus.OPEN


async def extend(
    session: AsyncSession,
    call: Call,
    by: Person,
    deadline: datetime,
    now: datetime | None = None,
) -> Call:
    """Give an open call a new deadline (a closed one is reopened with one instead)."""
    require_steward(call, by)
    now = now or datetime.now(UTC)
    _check_deadline(deadline, now)
    call = await _held(session, call)
    if call.status in FINISHED:
        raise CallError(IS_WITHDRAWN if call.status == CallStatus.WITHDRAWN else CLOSED_NO_DEADLINE)
    call.deadline = deadline
    return call


async def withdraw(
    session: AsyncSession,
    settings: Settings,
    routing: RoutingService,
    call: Call,
    by: Person,
    now: datetime | None = None,
) -> Call:
    """Take the call back: nobody is asked or reminded again, the people still asked and the
    volunteers hear it is off, and later askers no longer find it."""
    require_steward(call, by)
    now = now or datetime.now(UTC)
    call = await _held(session, call)
    if call.status == CallStatus.WITHDRAWN:
        raise CallError(IS_WITHDRAWN)
    await _finish(session, settings, call, CallStatus.WITHDRAWN, now, WITHDRAWN_WHY)
    for reply in call.replies:
        if reply.kind == ReplyKind.VOLUNTEER:
            t = notify.words(reply.person)
            await notify.send(
                session,
                settings,
                reply.person,
                NudgeKind.NOTICE,
                f"withdrawn:{call.id}:{reply.person_id}",
                notify.notice(
                    t,
                    t("Called off: {title}", title=call.title),
                    t(
                        "{name} withdrew “{title}”: thank you for volunteering; "
                        "there is nothing more to do.",
                        name=call.asker.name,
                        title=call.title,
                    ),
                ),
                now,
                call,
            )
    post = await call_post(session, call)
    if post is not None:
        await session.delete(post)
        await session.flush()
        await routing.forget([post.id])
    return call


async def edit(
    session: AsyncSession, routing: RoutingService, call: Call, by: Person, data: CallEdit
) -> Call:
    """Change the call's title, details or tags; the index matches the new words from now."""
    require_asker(call, by)
    if call.status == CallStatus.WITHDRAWN:
        raise CallError(IS_WITHDRAWN)
    if data.title is not None:
        if not re.search(VISIBLE, data.title):
            raise CallError(TITLE_NEEDS_WORDS, "title")
        call.title = data.title
    if data.body is not None:
        call.body = data.body
    if data.tags is not None:
        call.tags = list(data.tags)
    await session.flush()
    post = await call_post(session, call)
    if post is not None:
        await update_post(
            session, routing, post, PostCreate(title=call.title, body=call.body, tags=call.tags)
        )
        # This process drops the old passages at once; the next sync adds the new ones.
        await routing.forget([post.id])
    return call


# -- replies ---------------------------------------------------------------------------------


def _reply(call: Call, reply_id: int) -> Reply:
    reply = next((r for r in call.replies if r.id == reply_id), None)
    if reply is None:
        raise NotFound(NO_SUCH_REPLY)
    return reply


async def accept(
    session: AsyncSession,
    settings: Settings,
    routing: RoutingService,
    call: Call,
    reply_id: int,
    by: Person,
    keep_open: bool = False,
    now: datetime | None = None,
) -> Reply:
    """The asker accepts an answer: it becomes post history of the answerer (and so routing).
    A question closes with it (the people still asked are told) unless ``keep_open``."""
    require_asker(call, by)
    now = now or datetime.now(UTC)
    call = await _held(session, call)
    reply = _reply(call, reply_id)
    if reply.kind != ReplyKind.ANSWER:
        raise CallError(ONLY_ANSWERS)
    if not reply.accepted:
        reply.accepted = True
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
    if call.status == CallStatus.OPEN:
        call.status = CallStatus.ANSWERED
    if not keep_open and call.kind == CallKind.QUESTION and call.status not in FINISHED:
        await _finish(session, settings, call, CallStatus.CLOSED, now, ANSWERED_WHY)
    return reply


async def thank(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    reply_id: int,
    by: Person,
    now: datetime | None = None,
) -> Reply:
    """The asker thanks someone for a reply; they are told once."""
    require_asker(call, by)
    reply = _reply(call, reply_id)
    if reply.kind not in (ReplyKind.ANSWER, ReplyKind.VOLUNTEER, ReplyKind.FORWARD):
        raise CallError(ONLY_HELP)
    if not reply.helpful:
        reply.helpful = True
        t = notify.words(reply.person)
        await notify.send(
            session,
            settings,
            reply.person,
            NudgeKind.NOTICE,
            f"thanks:{reply.id}",
            notify.notice(
                t,
                t("{name} thanks you: {title}", name=by.name, title=call.title),
                t("{name} thanks you for your reply to “{title}”.", name=by.name, title=call.title),
                notify.call_link(settings, call),
            ),
            now or datetime.now(UTC),
            call,
        )
    return reply


# -- volunteers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Volunteer:
    person: Person
    reply: Reply


def volunteers(call: Call, by: Person) -> list[Volunteer]:
    """Who volunteered, first first, for the asker and managers."""
    require_steward(call, by)
    return [Volunteer(r.person, r) for r in call.replies if r.kind == ReplyKind.VOLUNTEER]


CSV_COLUMNS = ("handle", "name", "email", "department", "location", "volunteered_at", "note")


def volunteers_csv(call: Call, by: Person) -> str:
    """The volunteers as CSV (UTF-8, a header row), for a spreadsheet or a mail merge."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for v in volunteers(call, by):
        writer.writerow(
            [
                v.person.handle,
                v.person.name,
                v.person.email or "",
                v.person.department or "",
                v.person.location or "",
                v.reply.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                _cell(v.reply.body),
            ]
        )
    return out.getvalue()


def _cell(value: str) -> str:
    """A spreadsheet must not run a note as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def message_volunteers(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    by: Person,
    text: str,
    now: datetime | None = None,
) -> int:
    """One message from the asker to every volunteer, through each one's own channels.
    Returns how many people it goes to."""
    people: Sequence[Volunteer] = volunteers(call, by)
    if not re.search(VISIBLE, text) or "\x00" in text:
        raise CallError(MESSAGE_NEEDS_WORDS, "body")
    if not people:
        raise CallError(NO_VOLUNTEERS)
    now = now or datetime.now(UTC)
    stamp = now.isoformat()
    for v in people:
        t = notify.words(v.person)
        await notify.send(
            session,
            settings,
            v.person,
            NudgeKind.NOTICE,
            f"message:{call.id}:{v.person.id}:{stamp}",
            notify.notice(
                t,
                t("{name} about {title}", name=by.name, title=call.title),
                t("{name} writes to the volunteers of “{title}”:", name=by.name, title=call.title),
                notify.call_link(settings, call),
                body=text,
            ),
            now,
            call,
        )
    return len(people)
