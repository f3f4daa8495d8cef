"""The managers' weekly digest: each manager gets last week's figures of their department
(the whole organisation when they have none), in their language, through the outbox.

A tick: idempotent over the outbox (one key per manager and week), so it may run every round
in every process; it sends during the week after the one it reports on, at the first round
after Monday 00:00 UTC, and never twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from askhub.calls import notify
from askhub.dashboard import service
from askhub.dashboard.service import Scope, monday_of
from askhub.logs import tick_outcome
from askhub.nudges.payload import NudgeLink, NudgePayload
from askhub.settings import Settings
from models import Nudge, NudgeKind, Person, Role

log = logging.getLogger("askhub.dashboard.scheduled")
KEY = "manager-digest"
# Listed in the digest: the oldest waiting calls and the most helpful colleagues.
WAITING_IN_DIGEST = 5
CONNECTORS_IN_DIGEST = 3


def week_reported(now: datetime) -> tuple[datetime, datetime]:
    """The last whole week (Monday to Monday, UTC) before ``now``."""
    monday = monday_of(now)
    end = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    return end - timedelta(days=7), end


async def digest_for(
    session: AsyncSession, settings: Settings, manager: Person, now: datetime
) -> NudgePayload:
    """The digest of ``manager``'s department for the last whole week, in their words."""
    start, end = week_reported(now)
    scope = Scope(start=start, end=end, department=manager.department)
    t, tn = notify.words(manager), notify.plural_words(manager)
    figures = await service.summary(session, scope)
    waiting = await service.waiting(session, scope, now, settings.stalled_after)
    helpers = await service.connectors(session, scope)
    where = manager.department or t("the whole organisation")
    intro = " ".join(
        [
            t("{where}, the week of {day}:", where=where, day=start.date().isoformat()),
            tn("{n} call posted,", "{n} calls posted,", figures.posted),
            tn("{n} answered,", "{n} answered,", figures.answered),
            tn("{n} volunteers call filled.", "{n} volunteers calls filled.", figures.filled),
            t(
                "{share}% had a useful reply within a day.",
                share=round(figures.within_day * 100),
            ),
        ]
    )
    items = [
        t("Waiting: {title}", title=w.title) + f" — {settings.base_url}/calls/{w.id}"
        for w in waiting[:WAITING_IN_DIGEST]
    ]
    items += [
        tn("{name} helped {n} time", "{name} helped {n} times", c.total, name=c.name)
        for c in helpers[:CONNECTORS_IN_DIGEST]
    ]
    return NudgePayload(
        subject=t("AskHub: last week in {where}", where=where)[:180],
        intro=intro,
        items=items,
        links=[NudgeLink(label=t("Open the dashboard"), url=f"{settings.base_url}/dashboard")],
    )


async def send_manager_digests(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime | None = None
) -> int:
    """Queue this week's digest for every manager who has not had it; returns how many."""
    if not settings.manager_digest:
        return 0
    moment = now or datetime.now(UTC)
    week = week_reported(moment)[0].date().isoformat()
    sent = 0
    async with sessions() as session:
        done = set(
            await session.scalars(
                select(Nudge.person_id).where(
                    Nudge.kind == NudgeKind.DIGEST,
                    Nudge.idempotency_key.like(f"{KEY}:%:{week}:%"),
                )
            )
        )
        managers = (
            await session.scalars(
                select(Person.id).where(Person.role == Role.MANAGER).order_by(Person.id)
            )
        ).all()
    for manager_id in managers:
        if manager_id in done:
            continue
        # A transaction per manager, not a savepoint in one: on SQLite a savepoint opens the
        # transaction before the digest's reads, and its write then failed at once ("database
        # is locked") whenever another tick had written meanwhile; without one, the write waits
        # its turn. One manager's failure still leaves the others' digests.
        try:
            async with sessions() as session, session.begin():
                manager = await session.get(Person, manager_id)
                if manager is None:
                    continue
                payload = await digest_for(session, settings, manager, moment)
                sent += bool(
                    await notify.send(
                        session,
                        settings,
                        manager,
                        NudgeKind.DIGEST,
                        f"{KEY}:{manager.id}:{week}",
                        payload,
                        moment,
                    )
                )
        except Exception:  # one manager's data must not stop the others' digests
            log.exception("manager digest for person %s failed; retried next round", manager_id)
    return sent


async def manager_digest_tick(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # If the database is away, the next round tries again.
    with tick_outcome("manager-digest") as outcome:
        outcome["digests"] = await send_manager_digests(sessions, settings)
