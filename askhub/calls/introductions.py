"""Introductions: a manager (or admin) introduces a call to a person, or two people to each
other, with a note saying why.

The introduced people hear it as a nudge, in their own language, that names who introduced
them and quotes the note. A person introduced to a call becomes a match on it (asked at once,
with the usual one-click links), so they reply as anyone asked does. Such an ask is marked
``Match.introduced`` and counts against nobody's weekly nudge budget: only against the
introducer's own budget of ``ASKHUB_INTRODUCTIONS_PER_WEEK`` introductions in any 7 days.

The budget is decided holding the introducer's row (a write to it: a row lock on PostgreSQL,
the write lock on SQLite), so however many introductions one manager sends at once, no more
than the budget are made. People who opted out or are away are never introduced: the manager
is told who cannot be reached, and nothing is sent.

The API (``POST /api/introductions``), the call and person pages and the CLI call
:func:`introduce`; the dashboard reads :func:`introductions_by`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from askhub.calls import notify
from askhub.calls.service import FINISHED, TAKES_NO_REPLIES, CallError, get_call, hold_call
from askhub.i18n import Translator
from askhub.nudges.payload import NudgeLink, NudgePayload
from askhub.people.ambassadors import may_facilitate, require_facilitator
from askhub.people.schemas import PersonBrief
from askhub.people.service import get_by_handle, person_brief
from askhub.routing.availability import BUDGET_WINDOW
from askhub.settings import Settings
from askhub.validation import MAX_ID, NO_NUL, ConflictError, InputError
from models import (
    Availability,
    Call,
    Introduction,
    Match,
    MatchState,
    NudgeKind,
    Person,
    Reply,
    ReplyKind,
)

Handle = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_NUL)]


class IntroductionIn(msgspec.Struct, forbid_unknown_fields=True):
    """Introduce ``person`` (a handle) to the call ``call_id``, or to the colleague ``other``
    (a handle); exactly one of the two. ``note``: why, in your words (they read it)."""

    person: Handle
    note: Note
    call_id: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)] | None = None
    other: Handle | None = None


class IntroductionOut(msgspec.Struct):
    id: int
    introducer: PersonBrief
    person: PersonBrief
    other: PersonBrief | None
    call_id: int | None
    call_title: str | None
    note: str
    created_at: datetime
    # Introductions the introducer may still make in the current 7 days.
    left_this_week: int


class BudgetSpent(InputError):
    """The introducer has made their introductions of the last 7 days (HTTP 429)."""

    def __init__(self, message: str, free_at: datetime) -> None:
        super().__init__(message)
        self.free_at = free_at


class Unreachable(ConflictError):
    """The person opted out or is away: nothing was sent (HTTP 409 naming the field)."""


@dataclass(frozen=True)
class Introduced:
    introduction: Introduction
    left_this_week: int


# -- the budget --------------------------------------------------------------------------------


async def _made_since(session: AsyncSession, introducer: Person, since: datetime) -> list[datetime]:
    return list(
        await session.scalars(
            select(Introduction.created_at)
            .where(Introduction.introducer_id == introducer.id, Introduction.created_at > since)
            .order_by(Introduction.created_at)
        )
    )


async def introductions_left(
    session: AsyncSession, settings: Settings, introducer: Person, now: datetime | None = None
) -> int:
    """How many introductions ``introducer`` may still make now (any 7 days)."""
    now = now or datetime.now(UTC)
    made = await _made_since(session, introducer, now - BUDGET_WINDOW)
    return max(settings.introductions_per_week - len(made), 0)


async def _hold_introducer(session: AsyncSession, introducer: Person) -> None:
    """Queue behind every other introduction by the same person until this one commits (a
    write to their row; it changes nothing)."""
    await session.execute(
        update(Person)
        .where(Person.id == introducer.id)
        .values(updated_at=Person.updated_at)
        .execution_options(synchronize_session=False)
    )


async def _take_budget(
    session: AsyncSession, settings: Settings, introducer: Person, now: datetime, t: Translator
) -> int:
    """Hold the introducer and check their budget; what is left after this introduction."""
    await _hold_introducer(session, introducer)
    made = await _made_since(session, introducer, now - BUDGET_WINDOW)
    limit = settings.introductions_per_week
    if len(made) >= limit:
        free_at = (made[-limit] if limit else now) + BUDGET_WINDOW
        raise BudgetSpent(
            t(
                "You have made your {n} introductions of this week. The next one is possible "
                "from {when} UTC.",
                n=limit,
                when=f"{free_at:%Y-%m-%d %H:%M}",
            ),
            free_at,
        )
    return limit - len(made) - 1


# -- who may be introduced ---------------------------------------------------------------------


async def _person(session: AsyncSession, handle: str, field: str, t: Translator) -> Person:
    found = await get_by_handle(session, handle.strip().lstrip("@").lower())
    if found is None:
        raise InputError(t("No colleague with the handle {handle}.", handle=handle), field)
    return found


def _reachable(person: Person, now: datetime, field: str, t: Translator) -> None:
    """Opted-out and away people are never introduced: say so, plainly, and send nothing."""
    if person.availability == Availability.OPTED_OUT:
        raise Unreachable(
            t(
                "{name} has chosen not to be asked by AskHub, so they cannot be introduced. "
                "Nothing was sent.",
                name=person.name,
            ),
            field,
        )
    if person.availability == Availability.AWAY and (
        person.away_until is None or person.away_until > now
    ):
        raise Unreachable(
            t(
                "{name} is away until {date}, so AskHub cannot reach them now. Nothing was sent.",
                name=person.name,
                date=f"{person.away_until:%Y-%m-%d}",
            )
            if person.away_until is not None
            else t(
                "{name} is away, so AskHub cannot reach them now. Nothing was sent.",
                name=person.name,
            ),
            field,
        )


def _check_note(note: str, t: Translator) -> str:
    if "\x00" in note or not note.strip():
        raise InputError(t("Write a note: why should they meet?"), "note")
    return note.strip()


# -- introducing -------------------------------------------------------------------------------


async def introduce(
    session: AsyncSession,
    settings: Settings,
    introducer: Person,
    data: IntroductionIn,
    now: datetime | None = None,
    t: Translator | None = None,
) -> Introduced:
    """Make one introduction and tell the people introduced; raises ``NotPermitted`` (not a
    manager or admin), ``InputError`` naming the field, ``Unreachable`` (409 naming the
    person) or ``BudgetSpent``. ``t``: the introducer's words for these errors."""
    now = now or datetime.now(UTC)
    t = t or notify.words(introducer)
    require_facilitator(introducer)
    if data.call_id is not None and data.other is not None:
        raise InputError(
            t("Introduce a person to a call or to another person, not both at once."), "other"
        )
    if data.call_id is None and data.other is None:
        raise InputError(
            t("Say what to introduce them to: a call (call_id) or a colleague (other)."),
            "call_id",
        )
    note = _check_note(data.note, t)
    person = await _person(session, data.person, "person", t)
    if person.id == introducer.id:
        raise InputError(t("Introduce someone other than yourself."), "person")
    if data.call_id is not None:
        call = await get_call(session, data.call_id)
        if call is None:
            raise InputError(t("There is no call with this number."), "call_id")
        return await _to_call(session, settings, introducer, person, call, note, now, t)
    assert data.other is not None
    other = await _person(session, data.other, "other", t)
    if other.id == person.id:
        raise InputError(t("Introduce two different people to each other."), "other")
    if other.id == introducer.id:
        raise InputError(t("Introduce someone other than yourself."), "other")
    return await _to_each_other(session, settings, introducer, person, other, note, now, t)


async def _to_call(
    session: AsyncSession,
    settings: Settings,
    introducer: Person,
    person: Person,
    call: Call,
    note: str,
    now: datetime,
    t: Translator,
) -> Introduced:
    if call.status in FINISHED:
        raise CallError(TAKES_NO_REPLIES)
    if person.id == call.asker_id:
        raise InputError(
            t("{name} asked this call; introduce someone else to it.", name=person.name),
            "person",
        )
    _reachable(person, now, "person", t)
    left = await _take_budget(session, settings, introducer, now, t)
    # Hold the call too: another manager may introduce the same person to it at this moment.
    await hold_call(session, call)
    if call.status in FINISHED:
        raise CallError(TAKES_NO_REPLIES)
    match = await session.scalar(
        select(Match)
        .where(Match.call_id == call.id, Match.person_id == person.id)
        .execution_options(populate_existing=True)
    )
    if match is not None and match.state in (
        MatchState.REPLIED,
        MatchState.DECLINED,
        MatchState.FORWARDED,
    ):
        raise ConflictError(
            t("{name} has already replied to this call.", name=person.name)
            if match.state == MatchState.REPLIED
            else t("{name} has already said this call is not for them.", name=person.name)
            if match.state == MatchState.DECLINED
            else t("{name} has already forwarded this call to a colleague.", name=person.name),
            "person",
        )
    introduction = Introduction(
        introducer_id=introducer.id, call_id=call.id, person_id=person.id, note=note, created_at=now
    )
    session.add(introduction)
    await session.flush()
    evidence = _evidence(introducer, person, note)
    if match is None:
        match = Match(
            call_id=call.id,
            person_id=person.id,
            rank=(
                await session.scalar(
                    select(func.coalesce(func.max(Match.rank), 0)).where(Match.call_id == call.id)
                )
                or 0
            )
            + 1,
            score=0.0,
            wave=max(call.wave, 1),
            evidence=[evidence],
        )
        session.add(match)
    else:
        match.evidence = [evidence, *(match.evidence or [])]
    if match.nudged_at is None or match.state in (MatchState.PROPOSED, MatchState.EXPIRED):
        # Asked now, by the introduction: outside the person's weekly budget.
        match.introduced = True
        match.state = MatchState.NUDGED
        match.nudged_at = now
        match.seen_at = None
        match.reminded_at = None
    await session.flush()
    await _tell_call(session, settings, introduction, introducer, person, call, match, note, now)
    return Introduced(introduction, left)


def _evidence(introducer: Person, person: Person, note: str) -> dict[str, object]:
    """The "why you" of an introduced person: who introduced them and the note, in the words
    of the person introduced (they read it in the nudge and on the call page)."""
    t = notify.words(person)
    return {
        "post_id": 0,
        "kind": "introduction",
        "title": t("{name} introduced you", name=introducer.name),
        "snippet": note,
        "matched_terms": [],
        "similarity": 0.0,
    }


async def _tell_call(
    session: AsyncSession,
    settings: Settings,
    introduction: Introduction,
    introducer: Person,
    person: Person,
    call: Call,
    match: Match,
    note: str,
    now: datetime,
) -> None:
    t = notify.words(person)
    asker = call.asker
    payload = NudgePayload(
        subject=t(
            "{introducer} introduces you to: {title}", introducer=introducer.name, title=call.title
        )[:180],
        intro=t(
            "{introducer} introduced you to “{title}”, a call from {asker}, and wrote why: "
            "“{note}”",
            introducer=introducer.name,
            title=call.title,
            asker=asker.name,
            note=note,
        ),
        body=call.body,
        reasons=notify.reasons_of(match, t),
        links=notify.action_links(settings, call, person),
    )
    await notify.send(
        session,
        settings,
        person,
        NudgeKind.ASK,
        f"intro:{introduction.id}:{person.id}",
        payload,
        now,
        call,
    )
    if asker.id != introducer.id:
        t = notify.words(asker)
        await notify.tell_asker(
            session,
            settings,
            call,
            asker,
            f"intro:{introduction.id}:asker",
            t("{name} was introduced to your call", name=person.name),
            t(
                "{introducer} introduced {name} to your call “{title}”: “{note}”",
                introducer=introducer.name,
                name=person.name,
                title=call.title,
                note=note,
            ),
            now,
        )


async def _to_each_other(
    session: AsyncSession,
    settings: Settings,
    introducer: Person,
    person: Person,
    other: Person,
    note: str,
    now: datetime,
    t: Translator,
) -> Introduced:
    _reachable(person, now, "person", t)
    _reachable(other, now, "other", t)
    left = await _take_budget(session, settings, introducer, now, t)
    introduction = Introduction(
        introducer_id=introducer.id,
        person_id=person.id,
        other_id=other.id,
        note=note,
        created_at=now,
    )
    session.add(introduction)
    await session.flush()
    for reader, about in ((person, other), (other, person)):
        t = notify.words(reader)
        where = " · ".join(part for part in (about.department, about.location) if part)
        body = "\n\n".join(part for part in (where, (about.bio or "").strip()[:600]) if part)
        payload = NudgePayload(
            subject=t(
                "{introducer} introduces you to {name}", introducer=introducer.name, name=about.name
            )[:180],
            intro=t(
                "{introducer} thinks you and {name} should meet, and wrote why: “{note}”",
                introducer=introducer.name,
                name=about.name,
                note=note,
            ),
            body=body,
            links=[
                NudgeLink(
                    label=t("See {name}'s page", name=about.name),
                    url=f"{settings.base_url}/people/{about.handle}",
                )
            ],
        )
        await notify.send(
            session,
            settings,
            reader,
            NudgeKind.NOTICE,
            f"intro:{introduction.id}:{reader.id}",
            payload,
            now,
        )
    return Introduced(introduction, left)


def introduction_out(found: Introduced) -> IntroductionOut:
    intro = found.introduction
    return IntroductionOut(
        id=intro.id,
        introducer=person_brief(intro.introducer),
        person=person_brief(intro.person),
        other=person_brief(intro.other) if intro.other is not None else None,
        call_id=intro.call_id,
        call_title=intro.call.title if intro.call is not None else None,
        note=intro.note,
        created_at=intro.created_at,
        left_this_week=found.left_this_week,
    )


async def loaded(session: AsyncSession, found: Introduced) -> Introduced:
    """``found`` with its people and call loaded (for :func:`introduction_out`)."""
    await session.refresh(found.introduction, ["introducer", "person", "other", "call"])
    return found


async def involving(
    session: AsyncSession,
    settings: Settings,
    person: Person,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> tuple[list[Introduced], int]:
    """The introductions ``person`` made or was introduced in, newest first, and their total.

    Each carries what ``person`` may still introduce this week (0 for members, who make
    none), so a list shows what a new introduction would cost.
    """
    involved = or_(
        Introduction.introducer_id == person.id,
        Introduction.person_id == person.id,
        Introduction.other_id == person.id,
    )
    total = int(
        await session.scalar(select(func.count()).select_from(Introduction).where(involved)) or 0
    )
    rows = (
        await session.scalars(
            select(Introduction)
            .where(involved)
            .options(
                selectinload(Introduction.introducer),
                selectinload(Introduction.person),
                selectinload(Introduction.other),
                selectinload(Introduction.call),
            )
            .order_by(Introduction.created_at.desc(), Introduction.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    left = await introductions_left(session, settings, person, now) if may_facilitate(person) else 0
    return [Introduced(row, left) for row in rows], total


# -- what the dashboard reads ------------------------------------------------------------------


@dataclass(frozen=True)
class IntroductionCounts:
    """Per introducer: introductions made, and how many of the call introductions the person
    introduced then answered (or volunteered on) after being introduced."""

    made: int
    answered: int


def _period(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(Introduction.created_at >= since)
    if until is not None:
        where.append(Introduction.created_at < until)
    return where


def made_query(since: datetime | None = None, until: datetime | None = None) -> Select[int, int]:
    """``(person_id, n)``: introductions each introducer made in the period (``since`` ≤ made
    < ``until``). One aggregate query, to join into other figures (the dashboard's
    connectors take sources of this shape)."""
    return (
        select(
            Introduction.introducer_id.label("person_id"),
            func.count(Introduction.id).label("n"),
        )
        .where(*_period(since, until))
        .group_by(Introduction.introducer_id)
    )


def answered_query(
    since: datetime | None = None, until: datetime | None = None
) -> Select[int, int]:
    """``(person_id, n)``: of the call introductions each introducer made in the period, how
    many the person introduced then answered or volunteered on (a reply after the
    introduction)."""
    answered_reply = (
        select(Reply.id)
        .where(
            Reply.call_id == Introduction.call_id,
            Reply.person_id == Introduction.person_id,
            Reply.kind.in_([ReplyKind.ANSWER, ReplyKind.VOLUNTEER]),
            Reply.created_at >= Introduction.created_at,
        )
        .exists()
    )
    return (
        select(
            Introduction.introducer_id.label("person_id"),
            func.count(Introduction.id).label("n"),
        )
        .where(*_period(since, until), Introduction.call_id.is_not(None), answered_reply)
        .group_by(Introduction.introducer_id)
    )


async def introductions_by(
    session: AsyncSession,
    since: datetime | None = None,
    until: datetime | None = None,
    introducer_ids: Sequence[int] | None = None,
) -> dict[int, IntroductionCounts]:
    """Introductions made per person (introducer id) in a period (``since`` ≤ made <
    ``until``), and how many were answered: the connectors figure of the dashboard."""
    made_q, answered_q = made_query(since, until), answered_query(since, until)
    if introducer_ids is not None:
        ids = list(introducer_ids)
        made_q = made_q.where(Introduction.introducer_id.in_(ids))
        answered_q = answered_q.where(Introduction.introducer_id.in_(ids))
    made = {int(pid): int(n) for pid, n in (await session.execute(made_q)).all()}
    answered = {int(pid): int(n) for pid, n in (await session.execute(answered_q)).all()}
    return {pid: IntroductionCounts(n, answered.get(pid, 0)) for pid, n in made.items()}
