"""Who a call's audience is: everyone, or the people of a department, location and/or language.

One definition for routing (who may be ranked), reach (who may be asked) and digests (who sees
an open call without being asked). Department and location compare without case; a language
is one of the person's profile languages (``nl``, ``en``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Availability, Person


@dataclass(frozen=True)
class Member:
    """What reach needs to know of one person in an audience, without loading the Person."""

    id: int
    availability: Availability
    away_until: datetime | None
    budget: int

    def available(self, now: datetime) -> bool:
        # The same rule as askhub.routing.availability.is_available, on the light row.
        if self.availability == Availability.OPTED_OUT:
            return False
        if self.availability == Availability.AWAY:
            return self.away_until is not None and self.away_until <= now
        return True


def is_everyone(audience: Mapping[str, Any] | None) -> bool:
    return not audience or not any(audience.get(k) for k in ("department", "location", "language"))


def in_audience(person: Person, audience: Mapping[str, Any] | None) -> bool:
    """``person`` belongs to ``audience`` (the same test as :func:`members`, on one person)."""
    if is_everyone(audience):
        return True
    assert audience is not None
    for field in ("department", "location"):
        wanted = audience.get(field)
        if wanted and (getattr(person, field) or "").lower() != str(wanted).lower():
            return False
    language = audience.get("language")
    return not language or str(language).lower() in {x.lower() for x in person.languages or []}


async def audience_size(
    session: AsyncSession, audience: Mapping[str, Any] | None, exclude: int | None = None
) -> int:
    """How many people :func:`members` would return, counted in the database: a call's page
    shows it on every read, and loading every member's row for a number cost most of that read
    at 100k people."""
    audience = audience or {}
    language = str(audience.get("language") or "").lower()
    query = select(Person.languages) if language else select(func.count()).select_from(Person)
    for field in ("department", "location"):
        if audience.get(field):
            query = query.where(func.lower(getattr(Person, field)) == str(audience[field]).lower())
    if exclude is not None:
        query = query.where(Person.id != exclude)
    if not language:
        return int(await session.scalar(query) or 0)
    # A profile language is an element of a JSON list: compared here, one column per person.
    return sum(
        1
        for languages in await session.scalars(query)
        if language in {x.lower() for x in languages or []}
    )


async def members(
    session: AsyncSession, audience: Mapping[str, Any] | None, exclude: int | None = None
) -> list[Member]:
    """Everyone in ``audience`` but ``exclude`` (the asker), in id order."""
    query = select(
        Person.id,
        Person.availability,
        Person.away_until,
        Person.nudge_budget_per_week,
        Person.languages,
    ).order_by(Person.id)
    audience = audience or {}
    for field in ("department", "location"):
        if audience.get(field):
            query = query.where(func.lower(getattr(Person, field)) == str(audience[field]).lower())
    if exclude is not None:
        query = query.where(Person.id != exclude)
    language = str(audience.get("language") or "").lower()
    return [
        Member(pid, availability, away_until, budget)
        for pid, availability, away_until, budget, languages in await session.execute(query)
        if not language or language in {x.lower() for x in languages or []}
    ]
