"""The call lifecycle ticks: waves, reminders, deadlines and digests.

Each tick is short and idempotent over database state; APScheduler only decides when it runs.
Messages go through the outbox with keys that make a repeated tick (or a second process)
harmless. On PostgreSQL the calls a tick works on are locked with SKIP LOCKED, so two processes
share the work instead of doing it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from askhub.calls import closing, notify, reach
from askhub.i18n import N_
from askhub.people.audience import in_audience
from askhub.people.availability import asks_in_window, is_available, open_asks
from askhub.settings import Settings
from models import (
    Call,
    CallKind,
    CallStatus,
    Match,
    MatchState,
    NudgeKind,
    Person,
    ReplyKind,
)

BATCH = 200


@dataclass
class TickResult:
    waves: int = 0
    asked: int = 0
    reminders: int = 0
    closed: int = 0
    digests: int = 0
    exhausted: int = 0


Query = TypeVar("Query", bound=Select[Any])


def _locked(session: AsyncSession, query: Query) -> Query:
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Call)
    return query


def _with_people(query: Query) -> Query:
    return query.options(
        selectinload(Call.asker),
        selectinload(Call.matches).selectinload(Match.person),
        selectinload(Call.replies),
    )


def useful_replies(call: Call) -> int:
    wanted = ReplyKind.VOLUNTEER if call.kind == CallKind.VOLUNTEERS else ReplyKind.ANSWER
    return sum(1 for r in call.replies if r.kind == wanted)


def is_sized_to_needed(call: Call) -> bool:
    """Calls whose reach follows from how many people they need (not a few per wave)."""
    return call.kind == CallKind.VOLUNTEERS and bool(call.needed)


async def start_next_wave(
    session: AsyncSession, settings: Settings, call: Call, now: datetime
) -> int:
    """Ask the next people who may be asked now; returns how many were asked.

    A volunteers call asks as many as it needs (``reach.ask_for_volunteers``); a question the
    next ``wave_size``. People who opted out, are away, are over their weekly budget or already
    have ``max_open_asks`` unanswered asks are passed over for the next candidate.
    """
    if is_sized_to_needed(call):
        return (await reach.ask_for_volunteers(session, settings, call, now)).asked
    candidates = [m for m in call.matches if m.state == MatchState.PROPOSED]
    candidates.sort(key=lambda m: (m.forwarded_by_id is None, m.rank))
    people = [m.person_id for m in candidates]
    budget_used = await asks_in_window(session, people, now)
    waiting = await open_asks(session, people)
    chosen: list[Match] = []
    for match in candidates:
        person = match.person
        if len(chosen) >= settings.wave_size:
            break
        if not is_available(person, now):
            continue
        if budget_used.get(person.id, 0) >= person.nudge_budget_per_week:
            continue
        if waiting.get(person.id, 0) >= settings.max_open_asks:
            continue
        chosen.append(match)
    if not chosen:
        return 0
    call.wave += 1
    call.wave_started_at = now
    for match in chosen:
        match.state = MatchState.NUDGED
        match.wave = call.wave
        match.nudged_at = now
        await notify.ask(session, settings, call, match, match.person, call.asker, now)
    return len(chosen)


async def tell_exhausted(
    session: AsyncSession, settings: Settings, call: Call, now: datetime
) -> None:
    """Say honestly that nobody is left to ask, once, and how to widen the call."""
    call.exhausted_at = now
    asked = sum(1 for m in call.matches if m.nudged_at is not None)
    t, tn = notify.words(call.asker), notify.plural_words(call.asker)
    await notify.tell_asker(
        session,
        settings,
        call,
        call.asker,
        f"exhausted:{call.id}",
        t("Nobody found yet for: {title}", title=call.title)[:180],
        (
            tn(
                "AskHub asked {n} colleague and has nobody left who matches and may be asked now.",
                "AskHub asked {n} colleagues and has nobody left who matches and may be asked now.",
                asked,
            )
            if asked
            else t(
                "AskHub found nobody whose posts or profile match this call well enough to ask "
                "them, so it asked nobody rather than strangers."
            )
        )
        + " "
        + t(
            "Widen the call: use other or more general words, add tags, drop the audience "
            "filter, open it to everyone, or forward it to someone who might know who knows."
        ),
        now,
    )


async def escalate(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
    result: TickResult,
) -> None:
    interval = timedelta(seconds=settings.wave_interval)
    async with sessions() as session, session.begin():
        query = _with_people(
            _locked(
                session,
                select(Call)
                .where(
                    Call.status == CallStatus.OPEN,
                    Call.exhausted_at.is_(None),
                    or_(Call.wave == 0, Call.wave_started_at <= now - interval),
                )
                .order_by(Call.id)
                .limit(BATCH),
            )
        )
        for call in (await session.scalars(query)).unique():
            if call.wave > 0 and call.kind != CallKind.VOLUNTEERS and useful_replies(call):
                continue
            if (
                call.kind == CallKind.VOLUNTEERS
                and call.needed
                and useful_replies(call) >= call.needed
            ):
                continue
            if is_sized_to_needed(call):
                await _volunteers_wave(session, settings, call, now, result)
                continue
            asked = 0
            if call.wave < settings.max_waves:
                asked = await start_next_wave(session, settings, call, now)
            if asked:
                result.waves += 1
                result.asked += asked
            elif not useful_replies(call):
                await tell_exhausted(session, settings, call, now)
                result.exhausted += 1


async def _volunteers_wave(
    session: AsyncSession, settings: Settings, call: Call, now: datetime, result: TickResult
) -> None:
    """Ask more people while the volunteers expected by the deadline fall short; say so once
    when the whole audience has been asked and the call is still short."""
    outcome = await reach.ask_for_volunteers(session, settings, call, now)
    if outcome.asked:
        result.waves += 1
        result.asked += outcome.asked
    elif outcome.exhausted:
        await tell_exhausted(session, settings, call, now)
        result.exhausted += 1


async def remind(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
    result: TickResult,
) -> None:
    """One reminder to a nudged person who has not opened the call (after a snooze ends)."""
    after = timedelta(seconds=settings.reminder_after)
    async with sessions() as session, session.begin():
        rows = (
            await session.scalars(
                select(Match)
                .join(Call, Call.id == Match.call_id)
                .where(
                    Call.status == CallStatus.OPEN,
                    Match.state == MatchState.NUDGED,
                    Match.seen_at.is_(None),
                    Match.reminded_at.is_(None),
                    Match.nudged_at <= now - after,
                    or_(Match.snoozed_until.is_(None), Match.snoozed_until <= now),
                )
                .options(
                    selectinload(Match.person),
                    selectinload(Match.call).selectinload(Call.asker),
                )
                .order_by(Match.id)
                .limit(BATCH)
            )
        ).all()
        for match in rows:
            match.reminded_at = now
            await notify.ask(
                session,
                settings,
                match.call,
                match,
                match.person,
                match.call.asker,
                now,
                reminder=True,
            )
            result.reminders += 1


async def close_due(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
    result: TickResult,
) -> None:
    """At its deadline a call closes and the asker gets a summary of the replies. A question
    without a deadline closes ``close_undated_after`` after it was posted or reopened; the
    people still asked are told then, as they were given no date."""
    due = Call.deadline <= now
    if settings.close_undated_after > 0:
        since = func.coalesce(Call.reopened_at, Call.created_at)
        due = or_(
            due,
            and_(
                Call.deadline.is_(None),
                Call.kind == CallKind.QUESTION,
                since <= now - timedelta(seconds=settings.close_undated_after),
            ),
        )
    async with sessions() as session, session.begin():
        query = _with_people(
            _locked(
                session,
                select(Call)
                .where(
                    Call.status.in_([CallStatus.OPEN, CallStatus.ANSWERED, CallStatus.FILLED]),
                    due,
                )
                .order_by(Call.id)
                .limit(BATCH),
            )
        )
        for call in (await session.scalars(query)).unique():
            call.status = CallStatus.CLOSED if closing.useful(call) else CallStatus.EXPIRED
            call.closed_at = now
            if call.deadline is None:
                await closing.release_asked(
                    session,
                    settings,
                    call,
                    now,
                    "No longer needed",
                    f"“{call.title}” has closed after {settings.close_undated_after // 86400} "
                    "days without a deadline; thank you, no need to reply any more.",
                )
                why = N_("Your question had no deadline and has closed after a while.")
            else:
                for match in call.matches:
                    if match.state in (MatchState.PROPOSED, *closing.WAITING):
                        match.state = MatchState.EXPIRED
                why = N_("Your call reached its deadline.")
            await closing.send_summary(session, settings, call, now, why)
            result.closed += 1


async def send_digests(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
    result: TickResult,
) -> None:
    """One message a day with the open asks of people who prefer a digest."""
    interval = timedelta(seconds=settings.digest_interval)
    async with sessions() as session, session.begin():
        people = (
            await session.scalars(
                select(Person)
                .where(
                    Person.digest.is_(True),
                    or_(Person.last_digest_at.is_(None), Person.last_digest_at <= now - interval),
                )
                .limit(BATCH)
            )
        ).all()
        recent = await _recent_open_calls(session, now - interval, people) if people else []
        for person in people:
            pending = (
                await session.scalars(
                    select(Match)
                    .join(Call, Call.id == Match.call_id)
                    .where(
                        Match.person_id == person.id,
                        Match.state.in_([MatchState.NUDGED, MatchState.SEEN]),
                        Call.status == CallStatus.OPEN,
                    )
                    .options(selectinload(Match.call))
                    .order_by(Match.nudged_at)
                )
            ).all()
            since = person.last_digest_at or now - interval
            listed = await open_to(session, person, recent, since)
            if not pending and not listed:
                continue
            period = person.last_digest_at.isoformat() if person.last_digest_at else "first"
            person.last_digest_at = now
            t, tn = notify.words(person), notify.plural_words(person)
            await notify.send(
                session,
                settings,
                person,
                NudgeKind.DIGEST,
                f"digest:{person.id}:{period}",
                {
                    "subject": tn(
                        "AskHub: {n} call where you could help",
                        "AskHub: {n} calls where you could help",
                        len(pending),
                    ),
                    "intro": t("Colleagues asked these; AskHub thought of you for each."),
                    "body": "",
                    "reasons": [],
                    "links": [],
                    "items": [
                        f"{m.call.title} — {notify.call_link(settings, m.call)}" for m in pending
                    ]
                    + [f"Open to you: {c.title} — {notify.call_link(settings, c)}" for c in listed],
                },
                now,
            )
            result.digests += 1


# A digest lists at most this many open calls its reader was not asked on.
OPEN_IN_DIGEST = 5


async def _recent_open_calls(
    session: AsyncSession, fallback: datetime, people: Sequence[Person]
) -> list[Call]:
    """Open calls posted since the earliest of these people's last digests, newest first."""
    since = min((p.last_digest_at or fallback for p in people), default=fallback)
    return list(
        (
            await session.scalars(
                select(Call)
                .where(Call.status == CallStatus.OPEN, Call.created_at > since)
                .order_by(Call.created_at.desc(), Call.id.desc())
                .limit(200)
            )
        ).all()
    )


async def open_to(
    session: AsyncSession, person: Person, recent: Sequence[Call], since: datetime
) -> list[Call]:
    """Open calls posted since ``since`` whose audience includes ``person`` and that did not ask
    them personally (nor are theirs): anyone in the audience may answer or volunteer."""
    fresh = [
        c
        for c in recent
        if c.created_at > since and c.asker_id != person.id and in_audience(person, c.audience)
    ]
    if not fresh:
        return []
    matched = set(
        await session.scalars(
            select(Match.call_id).where(
                Match.person_id == person.id, Match.call_id.in_([c.id for c in fresh])
            )
        )
    )
    return [c for c in fresh if c.id not in matched][:OPEN_IN_DIGEST]


async def lifecycle_tick(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime | None = None
) -> TickResult:
    moment = now or datetime.now(UTC)
    result = TickResult()
    await close_due(sessions, settings, moment, result)
    await escalate(sessions, settings, moment, result)
    await remind(sessions, settings, moment, result)
    await send_digests(sessions, settings, moment, result)
    return result
