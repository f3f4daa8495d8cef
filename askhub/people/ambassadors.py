"""Ambassadors: colleagues who invite others with a personal link, and what came of it.

A manager or admin makes someone an ambassador (a row in ``ambassador``, not a role: a manager
can be one too). The ambassador's link is ``/join/{code}`` with a random code. A signed-in
colleague who opens it is recorded as having come through that ambassador: once per colleague,
and the first ambassador wins (a unique index decides, however many open links at once). The
ambassador sees how many came and how many of them completed their profile
(``people.completeness``). The web page, the API and the CLI call these functions.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.i18n import N_
from askhub.people.completeness import completeness_of
from askhub.people.schemas import PersonBrief
from askhub.people.service import not_erased, person_brief
from askhub.validation import NotPermitted
from models import Ambassador, Invitation, Person, Role

ONLY_FACILITATORS = N_("Only managers and admins may do this.")


def may_facilitate(person: Person) -> bool:
    """Managers and admins introduce people and appoint ambassadors."""
    return person.role in (Role.MANAGER, Role.ADMIN)


def require_facilitator(person: Person) -> None:
    if not may_facilitate(person):
        raise NotPermitted(ONLY_FACILITATORS)


class AmbassadorOut(msgspec.Struct, frozen=True):
    """An ambassador's link and reach: colleagues who came through the link, and how many of
    them have completed their profile."""

    person: PersonBrief
    link: str
    invited: int
    completed: int
    since: datetime


def link_of(base_url: str, ambassador: Ambassador) -> str:
    return f"{base_url}/join/{ambassador.code}"


async def ambassador_of(session: AsyncSession, person: Person) -> Ambassador | None:
    return await session.get(Ambassador, person.id)


async def appoint(
    session: AsyncSession, by: Person, person: Person, now: datetime | None = None
) -> Ambassador:
    """Make ``person`` an ambassador (again: their link stays the same)."""
    require_facilitator(by)
    found = await ambassador_of(session, person)
    if found is not None:
        return found
    ambassador = Ambassador(
        person_id=person.id,
        code=secrets.token_urlsafe(12),
        appointed_by_id=by.id,
        created_at=now or datetime.now(UTC),
    )
    try:
        async with session.begin_nested():
            session.add(ambassador)
    except IntegrityError:
        # Appointed at the same moment by someone else: theirs stands.
        again = await ambassador_of(session, person)
        assert again is not None
        return again
    return ambassador


async def dismiss(session: AsyncSession, by: Person, person: Person) -> bool:
    """``person`` is no longer an ambassador: their link stops working. The colleagues who
    came through it stay counted for them. Returns whether they were one."""
    require_facilitator(by)
    found = await ambassador_of(session, person)
    if found is None:
        return False
    await session.execute(delete(Ambassador).where(Ambassador.person_id == person.id))
    session.expunge(found)
    return True


async def by_code(session: AsyncSession, code: str) -> Ambassador | None:
    if not code or len(code) > 64:
        return None
    ambassador = await session.scalar(select(Ambassador).where(Ambassador.code == code))
    if ambassador is None:
        return None
    person = await session.get(Person, ambassador.person_id)
    if person is None or not person.handle or person.handle.startswith("~"):
        return None
    return ambassador


@dataclass(frozen=True)
class Arrival:
    """What opening an invitation link did: ``ambassador`` is who the colleague counts for
    (the first whose link they opened, perhaps an earlier one), ``recorded`` whether this
    visit recorded it, ``own`` whether it was the ambassador's own link."""

    ambassador: Person
    recorded: bool
    own: bool = False


async def _came_through(session: AsyncSession, colleague: Person) -> Person | None:
    ambassador_id = await session.scalar(
        select(Invitation.ambassador_id).where(Invitation.colleague_id == colleague.id)
    )
    return await session.get(Person, ambassador_id) if ambassador_id is not None else None


async def arrive(
    session: AsyncSession, colleague: Person, ambassador: Ambassador, now: datetime | None = None
) -> Arrival:
    """Record that ``colleague`` came through ``ambassador``'s link, unless they came through
    someone's before. Of simultaneous visits one row is written; the others find it."""
    inviter = await session.get(Person, ambassador.person_id)
    assert inviter is not None
    if inviter.id == colleague.id:
        return Arrival(inviter, recorded=False, own=True)
    earlier = await _came_through(session, colleague)
    if earlier is not None:
        return Arrival(earlier, recorded=False)
    try:
        async with session.begin_nested():
            session.add(
                Invitation(
                    colleague_id=colleague.id,
                    ambassador_id=inviter.id,
                    created_at=now or datetime.now(UTC),
                )
            )
    except IntegrityError:
        winner = await _came_through(session, colleague)
        if winner is None:
            raise
        return Arrival(winner, recorded=False)
    return Arrival(inviter, recorded=True)


@dataclass(frozen=True)
class Reach:
    invited: int
    completed: int


async def reach_of(
    session: AsyncSession,
    people_ids: Sequence[int],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, Reach]:
    """For each ambassador id: colleagues who came through them (between ``since`` and
    ``until`` when given: a dashboard's period), and how many of those have a complete
    profile now."""
    ids = list(people_ids)
    if not ids:
        return {}
    query = (
        select(Invitation.ambassador_id, Person)
        .join(Person, Person.id == Invitation.colleague_id)
        .where(Invitation.ambassador_id.in_(ids), not_erased())
    )
    if since is not None:
        query = query.where(Invitation.created_at >= since)
    if until is not None:
        query = query.where(Invitation.created_at < until)
    rows = (await session.execute(query)).all()
    complete = await completeness_of(session, [colleague for _, colleague in rows])
    invited: dict[int, int] = dict.fromkeys(ids, 0)
    completed: dict[int, int] = dict.fromkeys(ids, 0)
    for ambassador_id, colleague in rows:
        invited[ambassador_id] += 1
        completed[ambassador_id] += complete[colleague.id].complete
    return {i: Reach(invited[i], completed[i]) for i in ids}


async def ambassador_out(
    session: AsyncSession, base_url: str, ambassador: Ambassador
) -> AmbassadorOut:
    person = await session.get(Person, ambassador.person_id)
    assert person is not None
    reach = (await reach_of(session, [person.id]))[person.id]
    return AmbassadorOut(
        person=person_brief(person),
        link=link_of(base_url, ambassador),
        invited=reach.invited,
        completed=reach.completed,
        since=ambassador.created_at,
    )


async def all_ambassadors(
    session: AsyncSession, base_url: str, viewer: Person
) -> list[AmbassadorOut]:
    """Every ambassador with their reach, most colleagues brought in first (managers and
    admins; the dashboard shows these figures)."""
    require_facilitator(viewer)
    rows = (
        await session.execute(
            select(Ambassador, Person)
            .join(Person, Person.id == Ambassador.person_id)
            .order_by(Person.name)
        )
    ).all()
    reach = await reach_of(session, [person.id for _, person in rows])
    out = [
        AmbassadorOut(
            person=person_brief(person),
            link=link_of(base_url, ambassador),
            invited=reach[person.id].invited,
            completed=reach[person.id].completed,
            since=ambassador.created_at,
        )
        for ambassador, person in rows
    ]
    return sorted(out, key=lambda a: (-a.invited, -a.completed, a.person.name))


async def invited_count(session: AsyncSession) -> int:
    """Colleagues who came in through any ambassador."""
    return int(await session.scalar(select(func.count()).select_from(Invitation)) or 0)
