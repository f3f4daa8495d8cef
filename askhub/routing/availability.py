"""Who may be asked now: the rules that keep people from being spammed.

Routing applies them when it ranks (a preview marks who would be held back), the call waves
when they ask: both through ``held_back``, the one "may this person be asked now" rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, false, func, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Availability, Call, CallStatus, Match, MatchState, Person

BUDGET_WINDOW = timedelta(days=7)
# An arbitrary constant, apart from migration 0007's vector writers' lock ("askh"): the
# advisory lock that the deciders of asks take in turn ("askn").
ASKING_LOCK = 0x61736B6E


async def hold_asking(session: AsyncSession) -> None:
    """Take, until commit, the lock that everything deciding whom to ask takes before it reads
    how often people were asked: without it, deciders running together each read the same
    counts and all asked the same experts (thirty posts on one topic at once asked one expert
    fifteen times, with two open asks allowed). Held to commit, so the next decider counts this
    one's asks. Deciding is a few statements; what is slow in a post (routing) comes before it.

    PostgreSQL: a transaction-scoped advisory lock. SQLite has one writer at a time: a write
    that changes nothing takes its write lock now, so a scheduler tick that has not written yet
    cannot count before a post's asks commit and ask on stale counts."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(ASKING_LOCK)))
    elif dialect == "sqlite":
        await session.execute(
            update(Person).where(false()).values(id=Person.id),
            execution_options={"synchronize_session": False},
        )


def is_available(person: Person, now: datetime) -> bool:
    return availability_allows(person.availability, person.away_until, now)


def availability_allows(availability: str, away_until: datetime | None, now: datetime) -> bool:
    """The availability rule on the two columns it reads (routing reads just those)."""
    if availability == Availability.OPTED_OUT:
        return False
    if availability == Availability.AWAY:
        return away_until is not None and away_until <= now
    return True


def held_back(
    person: Person,
    now: datetime,
    asked_this_week: Mapping[int, int],
    waiting: Mapping[int, int],
    max_open_asks: int,
) -> str | None:
    """Why ``person`` may not be asked now, or None if they may: "away" (opted out or away)
    or "busy" (their weekly nudge budget is spent, or ``max_open_asks`` asks wait for them).

    ``asked_this_week`` and ``waiting`` come from ``asks_and_waiting``.
    """
    if not is_available(person, now):
        return "away"
    if asked_this_week.get(person.id, 0) >= person.nudge_budget_per_week:
        return "busy"
    if waiting.get(person.id, 0) >= max_open_asks:
        return "busy"
    return None


def _zone(person: Person) -> ZoneInfo:
    try:
        return ZoneInfo(person.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(person: Person, now: datetime) -> datetime | None:
    """When the person's quiet hours end, if ``now`` falls inside them (in their time zone)."""
    start, end = person.quiet_hours_start, person.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(_zone(person))
    hour = local.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if not inside:
        return None
    day = local.date() if hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=local.tzinfo).astimezone(UTC)


def _asked_in_window(ids: list[int], now: datetime) -> Select[int, int]:
    """Calls each person was asked in the budget window (a call counts once, however sent).
    Asks made by a manager's introduction count against the manager's budget, not here."""
    return (
        select(Match.person_id, func.count())
        .where(
            Match.person_id.in_(ids),
            Match.nudged_at >= now - BUDGET_WINDOW,
            Match.introduced.is_(False),
        )
        .group_by(Match.person_id)
    )


async def asks_in_window(
    session: AsyncSession, person_ids: Iterable[int], now: datetime
) -> dict[int, int]:
    """How many calls each person was asked in the budget window (``_asked_in_window``)."""
    ids = list(person_ids)
    if not ids:
        return {}
    return {pid: int(n) for pid, n in await session.execute(_asked_in_window(ids, now))}


async def asks_and_waiting(
    session: AsyncSession, person_ids: Iterable[int], now: datetime
) -> tuple[dict[int, int], dict[int, int]]:
    """How many calls each person was asked in the budget window, and how many asks wait for
    their reply on open calls, in one round trip to the database, each count read by its own
    index (migration 0012) however many matches a person had."""
    ids = list(person_ids)
    if not ids:
        return {}, {}
    in_window = _asked_in_window(ids, now).add_columns(literal(0))
    # The call's status per ask in flight (a few per person), not a join: joined, PostgreSQL's
    # planner took the statuses of the seeded matches for everyone's and scanned every match
    # by call (45 ms instead of under 1).
    in_flight = (
        select(Match.person_id, func.count(), literal(1))
        .where(
            Match.person_id.in_(ids),
            Match.state.in_([MatchState.NUDGED, MatchState.SEEN]),
            select(Call.status).where(Call.id == Match.call_id).scalar_subquery()
            == CallStatus.OPEN,
        )
        .group_by(Match.person_id)
    )
    asked: dict[int, int] = {}
    waiting: dict[int, int] = {}
    for pid, n, which in await session.execute(union_all(in_window, in_flight)):
        (waiting if which else asked)[pid] = int(n)
    return asked, waiting
