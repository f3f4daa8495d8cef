"""The dashboard's figures, for managers and admins (and each member's own).

Every figure is one aggregate query (GROUP BY in the database), so the cost follows the number
of groups, not the size of the history: at 100,000 people a figure returns a row per week, per
wave, per department or per helper, never a row per person or reply to be summed in Python.
The only rows fetched one per call are the first-reply times of the calls in the period, for
the median and 90th percentile (SQLite has no percentile function).

Words: a *useful reply* is an answer or a volunteer sign-up by someone other than the asker.
The filters select calls by their asker's department and location (case does not matter), the
helpers by their own, and the who-helps-whom table keeps a pair when either side is in them.
AskHub shows who helps, never who fails: no figure ranks people by slowness or silence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from askhub.calls import introductions
from askhub.i18n import N_
from askhub.people.ambassadors import reach_of
from askhub.people.completeness import complete_clause
from askhub.validation import InputError, NotPermitted
from models import (
    Ambassador,
    Availability,
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

# The period when none is given: the last four weeks.
DEFAULT_DAYS = 28
# A period longer than this is refused (the weekly tables would grow without bound).
MAX_DAYS = 3 * 366
USEFUL = (ReplyKind.ANSWER, ReplyKind.VOLUNTEER)
# Shown per waiting call: the best people routing proposed who were not asked yet.
UNTRIED_PER_CALL = 3
WAITING_LIMIT = 50
TOP_CONNECTORS = 20
STEWARDS = (Role.MANAGER, Role.ADMIN)


def require_steward(person: Person) -> None:
    """Managers and admins see everyone's figures; members only their own (403)."""
    if person.role not in STEWARDS:
        raise NotPermitted(N_("only managers and admins see the organisation's figures"))


@dataclass(frozen=True)
class Scope:
    """The period [start, end) and the filters of one dashboard view."""

    start: datetime
    end: datetime
    department: str | None = None
    location: str | None = None

    @classmethod
    def of(
        cls,
        now: datetime,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        department: str | None = None,
        location: str | None = None,
        days: int = DEFAULT_DAYS,
    ) -> Scope:
        """From the query: ``end`` (a date counts up to its end) defaults to now, ``start`` to
        ``days`` before the end. A start after the end, or a span over three years, is an
        InputError naming the field."""
        stop = _moment(end, end_of_day=True) if end is not None else now
        begin = _moment(start) if start is not None else stop - timedelta(days=days)
        if begin >= stop:
            raise InputError("the period must start before it ends", "from")
        if stop - begin > timedelta(days=MAX_DAYS):
            raise InputError("the period may span at most three years", "from")
        return cls(
            start=begin,
            end=stop,
            department=(department or "").strip() or None,
            location=(location or "").strip() or None,
        )

    def query(self) -> dict[str, str]:
        """The scope as query parameters (links to the CSV exports keep the view)."""
        out = {"from": self.start.date().isoformat(), "to": _last_day(self.end).isoformat()}
        if self.department:
            out["department"] = self.department
        if self.location:
            out["location"] = self.location
        return out


def _moment(value: date | datetime, end_of_day: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return moment + timedelta(days=1) if end_of_day else moment


def _last_day(end: datetime) -> date:
    """The last day a period ending at ``end`` (exclusive) covers."""
    return (end - timedelta(microseconds=1)).date()


# -- SQL pieces -------------------------------------------------------------------------------


def _same(column: Any, value: str) -> ColumnElement[bool]:
    return func.lower(column) == value.lower()


def people_in(scope: Scope, person: Any = Person) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope.department:
        where.append(_same(person.department, scope.department))
    if scope.location:
        where.append(_same(person.location, scope.location))
    return where


def _in_period(column: Any, scope: Scope) -> ColumnElement[bool]:
    return and_(column >= scope.start, column < scope.end)


def week_of(session: AsyncSession, column: Any) -> ColumnElement[str]:
    """The Monday (UTC) of the week of ``column``, as 'YYYY-MM-DD', on either database."""
    if session.get_bind().dialect.name == "postgresql":
        monday = func.date_trunc("week", func.timezone("UTC", column))
        return func.to_char(monday, "YYYY-MM-DD")
    return func.date(column, "-6 days", "weekday 1")


def monday_of(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def weeks_of(scope: Scope) -> list[str]:
    """Every week the period touches, Mondays as 'YYYY-MM-DD' (weeks without data show 0)."""
    first, last = monday_of(scope.start), monday_of(scope.end - timedelta(microseconds=1))
    return [(first + timedelta(weeks=i)).isoformat() for i in range((last - first).days // 7 + 1)]


def _calls(scope: Scope) -> Select[Any]:
    """The calls posted in the period by askers in the filters (withdrawn ones left out: the
    asker took them back)."""
    return (
        select(Call.id)
        .join(Person, Person.id == Call.asker_id)
        .where(
            _in_period(Call.created_at, scope),
            Call.status != CallStatus.WITHDRAWN,
            *people_in(scope),
        )
    )


def _first_useful(only: Any) -> Any:
    """Per call of ``only`` (a query of call ids): its first and last useful reply and how
    many. Restricted to those calls, so the cost follows them, not the whole history."""
    return (
        select(
            Reply.call_id.label("call_id"),
            func.min(Reply.created_at).label("first"),
            func.max(Reply.created_at).label("last"),
            func.count(Reply.id).label("useful"),
            func.sum(case((Reply.kind == ReplyKind.ANSWER, 1), else_=0)).label("answers"),
        )
        .join(Call, Call.id == Reply.call_id)
        .where(Reply.kind.in_(USEFUL), Reply.person_id != Call.asker_id, Reply.call_id.in_(only))
        .group_by(Reply.call_id)
        .subquery("firsts")
    )


# -- calls: posted, answered, how fast --------------------------------------------------------


class WaveRate(msgspec.Struct):
    wave: int
    asked: int
    replied: int
    rate: float


class WeekCalls(msgspec.Struct):
    week: str
    posted: int
    answered: int


class Summary(msgspec.Struct):
    start: datetime
    end: datetime
    department: str | None
    location: str | None
    posted: int
    # Questions and referrals with an answer; volunteers calls that filled.
    answered: int
    filled: int
    expired: int
    # Calls with a useful reply at all, and the shares of posted calls that had one in time.
    replied: int
    within_hour: float
    within_day: float
    median_hours: float | None
    p90_hours: float | None
    waves: list[WaveRate]
    weeks: list[WeekCalls]


def percentile(values: list[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks (NumPy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * share
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def summary(session: AsyncSession, scope: Scope) -> Summary:
    calls = _calls(scope).subquery("scoped")
    firsts = _first_useful(_calls(scope))
    answered = and_(Call.kind != CallKind.VOLUNTEERS, func.coalesce(firsts.c.answers, 0) > 0)
    counts = (
        await session.execute(
            select(
                func.count(Call.id),
                func.sum(case((answered, 1), else_=0)),
                func.sum(case((Call.status == CallStatus.FILLED, 1), else_=0)),
                func.sum(case((Call.status == CallStatus.EXPIRED, 1), else_=0)),
            )
            .join(calls, calls.c.id == Call.id)
            .outerjoin(firsts, firsts.c.call_id == Call.id)
        )
    ).one()
    posted = int(counts[0] or 0)
    spans = [
        (first - created).total_seconds() / 3600
        for created, first in (
            await session.execute(
                select(Call.created_at, firsts.c.first)
                .join(calls, calls.c.id == Call.id)
                .join(firsts, firsts.c.call_id == Call.id)
            )
        ).all()
    ]
    spans = [max(span, 0.0) for span in spans]
    return Summary(
        start=scope.start,
        end=scope.end,
        department=scope.department,
        location=scope.location,
        posted=posted,
        answered=int(counts[1] or 0),
        filled=int(counts[2] or 0),
        expired=int(counts[3] or 0),
        replied=len(spans),
        within_hour=_share(sum(1 for s in spans if s <= 1), posted),
        within_day=_share(sum(1 for s in spans if s <= 24), posted),
        median_hours=_round(percentile(spans, 0.5)),
        p90_hours=_round(percentile(spans, 0.9)),
        waves=await wave_rates(session, scope),
        weeks=await calls_per_week(session, scope),
    )


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


async def wave_rates(session: AsyncSession, scope: Scope) -> list[WaveRate]:
    """Per wave: the people asked on the period's calls, and how many of them replied
    usefully (answered or volunteered)."""
    calls = _calls(scope).subquery("scoped")
    helped = (
        select(Reply.call_id, Reply.person_id)
        .where(Reply.kind.in_(USEFUL))
        .group_by(Reply.call_id, Reply.person_id)
        .subquery("helped")
    )
    rows = (
        await session.execute(
            select(Match.wave, func.count(Match.id), func.count(helped.c.person_id))
            .join(calls, calls.c.id == Match.call_id)
            .outerjoin(
                helped,
                and_(helped.c.call_id == Match.call_id, helped.c.person_id == Match.person_id),
            )
            .where(Match.nudged_at.is_not(None))
            .group_by(Match.wave)
            .order_by(Match.wave)
        )
    ).all()
    return [
        WaveRate(wave=int(w), asked=int(a), replied=int(r), rate=_share(int(r), int(a)))
        for w, a, r in rows
    ]


async def calls_per_week(session: AsyncSession, scope: Scope) -> list[WeekCalls]:
    calls = _calls(scope).subquery("scoped")
    firsts = _first_useful(_calls(scope))
    week = week_of(session, Call.created_at)
    useful = func.coalesce(firsts.c.useful, 0) > 0
    rows = (
        await session.execute(
            select(week, func.count(Call.id), func.sum(case((useful, 1), else_=0)))
            .join(calls, calls.c.id == Call.id)
            .outerjoin(firsts, firsts.c.call_id == Call.id)
            .group_by(week)
        )
    ).all()
    found = {str(w): (int(p), int(a or 0)) for w, p, a in rows}
    return [
        WeekCalls(week=w, posted=found.get(w, (0, 0))[0], answered=found.get(w, (0, 0))[1])
        for w in weeks_of(scope)
    ]


# -- waiting now: unanswered and stalled calls, with whom to try ------------------------------


class Untried(msgspec.Struct):
    handle: str
    name: str
    department: str | None
    rank: int


class Waiting(msgspec.Struct):
    id: int
    title: str
    kind: str
    asker: str
    asker_name: str
    department: str | None
    created_at: datetime
    waiting_hours: float
    # "unanswered": no useful reply yet; "stalled": a volunteers call short of its number
    # with no new volunteer for a while.
    state: str
    replies: int
    needed: int | None
    wave: int
    untried: list[Untried]


async def waiting(
    session: AsyncSession, scope: Scope, now: datetime, stalled_after: int
) -> list[Waiting]:
    """Open calls now (whatever the period) without a useful reply, and volunteers calls short
    of their number with no new volunteer for ``stalled_after`` seconds, oldest first, each
    with the best people routing proposed who were not asked yet and may be asked."""
    firsts = _first_useful(select(Call.id).where(Call.status == CallStatus.OPEN))
    useful = func.coalesce(firsts.c.useful, 0)
    stalled = and_(
        Call.kind == CallKind.VOLUNTEERS,
        useful < func.coalesce(Call.needed, 0),
        func.coalesce(firsts.c.last, Call.created_at) <= now - timedelta(seconds=stalled_after),
    )
    rows = (
        await session.execute(
            select(Call, Person, useful)
            .join(Person, Person.id == Call.asker_id)
            .outerjoin(firsts, firsts.c.call_id == Call.id)
            .where(
                Call.status == CallStatus.OPEN,
                Call.created_at <= now,
                or_(useful == 0, stalled),
                *people_in(scope),
            )
            .order_by(Call.created_at, Call.id)
            .limit(WAITING_LIMIT)
        )
    ).all()
    untried = await _untried(session, [call.id for call, _, _ in rows], now)
    return [
        Waiting(
            id=call.id,
            title=call.title,
            kind=str(call.kind),
            asker=asker.handle,
            asker_name=asker.name,
            department=asker.department,
            created_at=call.created_at,
            waiting_hours=round((now - call.created_at).total_seconds() / 3600, 1),
            state="unanswered" if n == 0 else "stalled",
            replies=int(n),
            needed=call.needed,
            wave=call.wave,
            untried=untried.get(call.id, []),
        )
        for call, asker, n in rows
    ]


async def _untried(
    session: AsyncSession, call_ids: list[int], now: datetime
) -> dict[int, list[Untried]]:
    if not call_ids:
        return {}
    place = (
        func.row_number()
        .over(partition_by=Match.call_id, order_by=(Match.rank, Match.id))
        .label("place")
    )
    may_ask = or_(
        Person.availability == Availability.AVAILABLE,
        and_(
            Person.availability == Availability.AWAY,
            Person.away_until.is_not(None),
            Person.away_until <= now,
        ),
    )
    ranked = (
        select(Match.call_id, Match.rank, Person.handle, Person.name, Person.department, place)
        .join(Person, Person.id == Match.person_id)
        .where(Match.call_id.in_(call_ids), Match.state == MatchState.PROPOSED, may_ask)
        .subquery("ranked")
    )
    out: dict[int, list[Untried]] = {}
    for call_id, rank, handle, name, department, _ in (
        await session.execute(
            select(ranked)
            .where(ranked.c.place <= UNTRIED_PER_CALL)
            .order_by(ranked.c.call_id, ranked.c.place)
        )
    ).all():
        out.setdefault(call_id, []).append(
            Untried(handle=handle, name=name, department=department, rank=rank)
        )
    return out


# -- connectors: who helps, and which departments help each other -----------------------------


def _answers(scope: Scope) -> Select[int, int]:
    return (
        select(Reply.person_id.label("person_id"), func.count(Reply.id).label("n"))
        .join(Call, Call.id == Reply.call_id)
        .where(
            Reply.kind == ReplyKind.ANSWER,
            Reply.person_id != Call.asker_id,
            _in_period(Reply.created_at, scope),
        )
        .group_by(Reply.person_id)
    )


def _accepted(scope: Scope) -> Select[int, int]:
    return _answers(scope).where(Reply.accepted.is_(True))


def _forwards_answered(scope: Scope) -> Select[int, int]:
    """Forwards (in the period) after which the colleague forwarded to replied usefully."""
    later = aliased(Reply)
    answered = (
        select(later.id)
        .where(
            later.call_id == Reply.call_id,
            later.person_id == Reply.forward_to_id,
            later.kind.in_(USEFUL),
            later.created_at >= Reply.created_at,
        )
        .exists()
    )
    return (
        select(Reply.person_id.label("person_id"), func.count(Reply.id).label("n"))
        .where(Reply.kind == ReplyKind.FORWARD, _in_period(Reply.created_at, scope), answered)
        .group_by(Reply.person_id)
    )


def _introductions(scope: Scope) -> Select[int, int]:
    """Introductions a manager made in the period (``calls.introductions``, one rule)."""
    return introductions.made_query(scope.start, scope.end)


# What counts as connecting people: each source is one aggregate query of (person_id, n) over
# the period.
CONNECTOR_SOURCES: dict[str, Callable[[Scope], Select[int, int]]] = {
    "answers": _answers,
    "accepted": _accepted,
    "forwards_answered": _forwards_answered,
    "introductions": _introductions,
}
# Accepted answers are also answers: the total counts each help once.
COUNTED_IN_TOTAL = ("answers", "forwards_answered", "introductions")


class Connector(msgspec.Struct):
    handle: str
    name: str
    department: str | None
    location: str | None
    total: int
    figures: dict[str, int]


async def connectors(session: AsyncSession, scope: Scope) -> list[Connector]:
    """The people who helped others most in the period (in the filters), most first: one
    pass over the sources, pivoted per person, the top ``TOP_CONNECTORS`` returned."""
    parts = [
        select(literal(name).label("source"), q.c.person_id, q.c.n)
        for name, source in CONNECTOR_SOURCES.items()
        for q in [source(scope).subquery(name)]
    ]
    every = union_all(*parts).subquery("sources")
    columns = [
        func.sum(case((every.c.source == name, every.c.n), else_=0)).label(name)
        for name in CONNECTOR_SOURCES
    ]
    counted = func.sum(case((every.c.source.in_(COUNTED_IN_TOTAL), every.c.n), else_=0))
    per = (
        select(every.c.person_id, counted.label("total"), *columns)
        .group_by(every.c.person_id)
        .subquery("per_person")
    )
    rows = (
        await session.execute(
            select(Person, per.c.total, *(per.c[name] for name in CONNECTOR_SOURCES))
            .join(per, per.c.person_id == Person.id)
            .where(per.c.total > 0, *people_in(scope))
            .order_by(per.c.total.desc(), Person.id)
            .limit(TOP_CONNECTORS)
        )
    ).all()
    return [
        Connector(
            handle=person.handle,
            name=person.name,
            department=person.department,
            location=person.location,
            total=int(n),
            figures={name: int(v or 0) for name, v in zip(CONNECTOR_SOURCES, figures, strict=True)},
        )
        for person, n, *figures in rows
    ]


class HelpFlow(msgspec.Struct):
    helper_department: str
    asker_department: str
    replies: int


NO_DEPARTMENT = ""


def _department(person: Any = Person) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """Departments group without case (as the filters compare): the key, and a spelling."""
    spelled = func.coalesce(person.department, NO_DEPARTMENT)
    return func.lower(spelled), func.min(spelled)


async def who_helps_whom(session: AsyncSession, scope: Scope) -> list[HelpFlow]:
    """Useful replies in the period, department of the helper x department of the asker (a
    pair counts when either side is in the filters); most first."""
    helper, asker = aliased(Person), aliased(Person)
    helper_key, helper_dept = _department(helper)
    asker_key, asker_dept = _department(asker)
    where: list[ColumnElement[bool]] = []
    if scope.department:
        where.append(
            or_(
                _same(helper.department, scope.department),
                _same(asker.department, scope.department),
            )
        )
    if scope.location:
        where.append(
            or_(_same(helper.location, scope.location), _same(asker.location, scope.location))
        )
    count = func.count(Reply.id)
    rows = (
        await session.execute(
            select(helper_dept, asker_dept, count)
            .join(Call, Call.id == Reply.call_id)
            .join(helper, helper.id == Reply.person_id)
            .join(asker, asker.id == Call.asker_id)
            .where(
                Reply.kind.in_(USEFUL),
                Reply.person_id != Call.asker_id,
                _in_period(Reply.created_at, scope),
                *where,
            )
            .group_by(helper_key, asker_key)
            .order_by(count.desc(), helper_key, asker_key)
        )
    ).all()
    return [HelpFlow(helper_department=h, asker_department=a, replies=int(n)) for h, a, n in rows]


# -- ambassadors' reach -----------------------------------------------------------------------


class AmbassadorReach(msgspec.Struct):
    handle: str
    name: str
    department: str | None
    # Colleagues who came through the ambassador's link in the period, and how many of those
    # have a complete profile now (``people.completeness``).
    invited: int
    completed: int


async def ambassadors_reach(session: AsyncSession, scope: Scope) -> list[AmbassadorReach]:
    """Every ambassador in the filters with the colleagues they brought in during the period,
    most first (``people.ambassadors.reach_of``, one rule with their own page)."""
    people = (
        (
            await session.execute(
                select(Person)
                .join(Ambassador, Ambassador.person_id == Person.id)
                .where(*people_in(scope))
                .order_by(Person.name)
            )
        )
        .scalars()
        .all()
    )
    reach = await reach_of(session, [p.id for p in people], scope.start, scope.end)
    found = [
        AmbassadorReach(
            handle=p.handle,
            name=p.name,
            department=p.department,
            invited=reach[p.id].invited,
            completed=reach[p.id].completed,
        )
        for p in people
    ]
    return sorted(found, key=lambda a: (-a.invited, -a.completed, a.name))


# -- adoption ---------------------------------------------------------------------------------


def profile_complete() -> ColumnElement[bool]:
    """A complete profile: a bio, skills, languages and a post of one's own, the rule of the
    profile page and the ambassadors' figures (``people.completeness``)."""
    return complete_clause()


def _activity(scope: Scope) -> Any:
    """Everything someone did in the period, one row per act: asking, replying, writing."""
    return union_all(
        select(Call.asker_id.label("person_id"), Call.created_at.label("at")).where(
            _in_period(Call.created_at, scope)
        ),
        select(Reply.person_id, Reply.created_at).where(_in_period(Reply.created_at, scope)),
        select(Post.author_id, Post.created_at).where(
            Post.kind.in_((PostKind.POST, PostKind.ANSWER)), _in_period(Post.created_at, scope)
        ),
    ).subquery("acts")


class DepartmentAdoption(msgspec.Struct):
    department: str
    people: int
    complete: int
    active: int
    complete_share: float
    active_share: float


class WeekActive(msgspec.Struct):
    week: str
    department: str
    active: int


class Adoption(msgspec.Struct):
    departments: list[DepartmentAdoption]
    # People active per week and department (the chart sums the departments).
    weeks: list[WeekActive]
    active_per_week: dict[str, int]


async def adoption(session: AsyncSession, scope: Scope) -> Adoption:
    key, dept = _department()
    acts = _activity(scope)
    active_people = select(acts.c.person_id).distinct().subquery("active")
    rows = (
        await session.execute(
            select(
                dept,
                func.count(Person.id),
                func.sum(case((profile_complete(), 1), else_=0)),
                func.count(active_people.c.person_id),
            )
            .outerjoin(active_people, active_people.c.person_id == Person.id)
            .where(*people_in(scope))
            .group_by(key)
            .order_by(key)
        )
    ).all()
    departments = [
        DepartmentAdoption(
            department=d,
            people=int(p),
            complete=int(c or 0),
            active=int(a),
            complete_share=_share(int(c or 0), int(p)),
            active_share=_share(int(a), int(p)),
        )
        for d, p, c, a in rows
    ]
    week = week_of(session, acts.c.at)
    per_week = (
        await session.execute(
            select(week, dept, func.count(func.distinct(acts.c.person_id)))
            .join(Person, Person.id == acts.c.person_id)
            .where(*people_in(scope))
            .group_by(week, key)
            .order_by(week, key)
        )
    ).all()
    total = (
        await session.execute(
            select(week, func.count(func.distinct(acts.c.person_id)))
            .join(Person, Person.id == acts.c.person_id)
            .where(*people_in(scope))
            .group_by(week)
        )
    ).all()
    found = {str(w): int(n) for w, n in total}
    return Adoption(
        departments=departments,
        weeks=[WeekActive(week=str(w), department=d, active=int(n)) for w, d, n in per_week],
        active_per_week={w: found.get(w, 0) for w in weeks_of(scope)},
    )


# -- a member's own figures -------------------------------------------------------------------


class Mine(msgspec.Struct):
    start: datetime
    end: datetime
    posted: int
    with_reply: int
    answers: int
    accepted: int
    forwards_answered: int
    people_helped: int


async def mine(session: AsyncSession, person: Person, scope: Scope) -> Mine:
    """Anyone's own figures for the period: what they asked and how they helped."""
    own = Scope(start=scope.start, end=scope.end)
    firsts = _first_useful(select(Call.id).where(Call.asker_id == person.id))
    asked = (
        await session.execute(
            select(func.count(Call.id), func.count(firsts.c.call_id))
            .outerjoin(firsts, firsts.c.call_id == Call.id)
            .where(
                Call.asker_id == person.id,
                Call.status != CallStatus.WITHDRAWN,
                _in_period(Call.created_at, own),
            )
        )
    ).one()
    figures = {}
    for name, source in CONNECTOR_SOURCES.items():
        query = source(own).subquery(name)
        figures[name] = int(
            await session.scalar(select(query.c.n).where(query.c.person_id == person.id)) or 0
        )
    helped = await session.scalar(
        select(func.count(func.distinct(Call.asker_id)))
        .join(Reply, Reply.call_id == Call.id)
        .where(
            Reply.person_id == person.id,
            Reply.kind.in_(USEFUL),
            Call.asker_id != person.id,
            _in_period(Reply.created_at, own),
        )
    )
    return Mine(
        start=scope.start,
        end=scope.end,
        posted=int(asked[0] or 0),
        with_reply=int(asked[1] or 0),
        answers=figures["answers"],
        accepted=figures["accepted"],
        forwards_answered=figures["forwards_answered"],
        people_helped=int(helped or 0),
    )


async def departments(session: AsyncSession) -> list[str]:
    """The departments and locations people are in, for the filters."""
    rows = await session.scalars(
        select(Person.department).where(Person.department.is_not(None)).distinct()
    )
    return sorted({r for r in rows if r})


async def locations(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(Person.location).where(Person.location.is_not(None)).distinct()
    )
    return sorted({r for r in rows if r})
