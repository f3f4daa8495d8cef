"""The call lifecycle ticks: waves, reminders, deadlines and digests.

Each tick is short and idempotent over database state; APScheduler only decides when it runs.
Messages go through the outbox with keys that make a repeated tick (or a second process)
harmless. On PostgreSQL the calls a tick works on are locked with SKIP LOCKED, so two processes
share the work instead of doing it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from askhub.calls import closing, notify, reach
from askhub.calls.waves import (
    is_sized_to_needed,
    start_next_wave,
    tell_exhausted,
    useful_replies,
)
from askhub.i18n import N_, Translator
from askhub.logs import tick_outcome
from askhub.nudges.payload import NudgePayload
from askhub.people.completeness import Completeness, completeness, prompt
from askhub.routing.audience import in_audience
from askhub.settings import Settings
from models import (
    Call,
    CallKind,
    CallStatus,
    Match,
    MatchState,
    NudgeKind,
    Person,
)

BATCH = 200

log = logging.getLogger("askhub.calls.scheduled")


@dataclass
class TickResult:
    waves: int = 0
    asked: int = 0
    reminders: int = 0
    closed: int = 0
    digests: int = 0
    exhausted: int = 0


Query = TypeVar("Query", bound=Select[Any])
Item = TypeVar("Item")


def _locked(session: AsyncSession, query: Query, of: Any = Call) -> Query:
    """Claim the rows (``of``: their table) that no other process holds, on PostgreSQL;
    SQLite has one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=of)
    return query


async def _each(
    session: AsyncSession,
    what: str,
    items: Iterable[Item],
    work: Callable[[Item], Awaitable[None]],
) -> None:
    """Do ``work`` for every item in its own savepoint: one item whose data breaks it is
    rolled back, logged and skipped (and tried again next tick); the others go on."""
    for item in items:
        ident = getattr(item, "id", item)
        try:
            async with session.begin_nested():
                await work(item)
        except Exception:
            log.exception("%s: %s %s failed and was skipped", what, type(item).__name__, ident)


def _with_people(query: Query) -> Query:
    return query.options(
        selectinload(Call.asker),
        selectinload(Call.matches).selectinload(Match.person),
        selectinload(Call.replies),
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

        async def one(call: Call) -> None:
            if call.wave > 0 and call.kind != CallKind.VOLUNTEERS and useful_replies(call):
                return
            if (
                call.kind == CallKind.VOLUNTEERS
                and call.needed
                and useful_replies(call) >= call.needed
            ):
                return
            if is_sized_to_needed(call):
                await _volunteers_wave(session, settings, call, now, result)
                return
            asked = 0
            if call.wave < settings.max_waves:
                asked = await start_next_wave(session, settings, call, now)
            if asked:
                result.waves += 1
                result.asked += asked
            elif not useful_replies(call):
                await tell_exhausted(session, settings, call, now)
                result.exhausted += 1

        await _each(session, "escalate", (await session.scalars(query)).unique().all(), one)


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
        query = _locked(
            session,
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
            .limit(BATCH),
            of=Match,
        )

        async def one(match: Match) -> None:
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

        await _each(session, "remind", (await session.scalars(query)).all(), one)


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

        async def one(call: Call) -> None:
            call.status = CallStatus.CLOSED if closing.useful(call) else CallStatus.EXPIRED
            call.closed_at = now
            if call.deadline is None:
                await closing.release_asked(
                    session,
                    settings,
                    call,
                    now,
                    lambda t: t(
                        "“{title}” has closed after {days} days without a deadline; thank you, "
                        "no need to reply any more.",
                        title=call.title,
                        days=settings.close_undated_after // 86400,
                    ),
                )
                why = N_("Your question had no deadline and has closed after a while.")
            else:
                for match in call.matches:
                    if match.state in (MatchState.PROPOSED, *closing.WAITING):
                        match.state = MatchState.EXPIRED
                why = N_("Your call reached its deadline.")
            await closing.send_summary(session, settings, call, now, why)
            result.closed += 1

        await _each(session, "close", (await session.scalars(query)).unique().all(), one)


async def send_digests(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
    result: TickResult,
) -> None:
    """One message a day with the open asks of people who prefer a digest."""
    interval = timedelta(seconds=settings.digest_interval)
    async with sessions() as session, session.begin():
        query = _locked(
            session,
            select(Person)
            .where(
                Person.digest.is_(True),
                or_(Person.last_digest_at.is_(None), Person.last_digest_at <= now - interval),
            )
            .order_by(Person.id)
            .limit(BATCH),
            of=Person,
        )
        people = (await session.scalars(query)).all()
        recent = await _recent_open_calls(session, now - interval, people) if people else []

        async def one(person: Person) -> None:
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
                return
            period = person.last_digest_at.isoformat() if person.last_digest_at else "first"
            person.last_digest_at = now
            t, tn = notify.words(person), notify.plural_words(person)
            await notify.send(
                session,
                settings,
                person,
                NudgeKind.DIGEST,
                f"digest:{person.id}:{period}",
                NudgePayload(
                    subject=tn(
                        "AskHub: {n} call where you could help",
                        "AskHub: {n} calls where you could help",
                        len(pending),
                    ),
                    intro=t("Colleagues asked these; AskHub thought of you for each."),
                    # A gentle word when the profile is incomplete (nothing when it is not).
                    body=_profile_prompt(t, await completeness(session, person), settings),
                    items=[
                        f"{m.call.title} — {notify.call_link(settings, m.call)}" for m in pending
                    ]
                    + [
                        t("Open to you: {title}", title=c.title)
                        + f" — {notify.call_link(settings, c)}"
                        for c in listed
                    ],
                ),
                now,
            )
            result.digests += 1

        await _each(session, "digest", people, one)


def _profile_prompt(t: Translator, found: Completeness, settings: Settings) -> str:
    said = prompt(t, found)
    return f"{said} {settings.base_url}/profile#completeness" if said else ""


Tick = Callable[[async_sessionmaker[AsyncSession], Settings, datetime, TickResult], Awaitable[None]]
# The lifecycle ticks, each a job of its own (askhub.scheduler), in the order one round runs.
TICKS: dict[str, Tick] = {
    "close": close_due,
    "escalate": escalate,
    "remind": remind,
    "digests": send_digests,
}


async def run_tick(
    name: str,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime | None = None,
    result: TickResult | None = None,
) -> TickResult:
    """One lifecycle tick; if it fails as a whole (the database is away), that is logged and
    the other ticks are not affected."""
    result = result or TickResult()
    # ``lifecycle_tick`` shares one result between the ticks: this tick's line counts its own.
    before = asdict(result)
    with tick_outcome(name) as outcome:
        await TICKS[name](sessions, settings, now or datetime.now(UTC), result)
        outcome.update({k: v - before[k] for k, v in asdict(result).items()})
    return result


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
    """Every lifecycle tick once, in order (tests and benchmarks; the scheduler runs each as
    its own job)."""
    moment = now or datetime.now(UTC)
    result = TickResult()
    for name in TICKS:
        await run_tick(name, sessions, settings, moment, result)
    return result
