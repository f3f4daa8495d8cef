"""Every dashboard table as rows, for the CSV exports (API and web share them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from askhub.dashboard import gaps, service
from askhub.dashboard.service import Scope
from askhub.routing.service import RoutingService
from askhub.validation import NotFound

Rows = tuple[list[str], list[list[object]]]


def _cell(value: object) -> str:
    """Plain text for a spreadsheet, which must not run a cell as a formula (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(rows: Rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header, body = rows
    writer.writerow(header)
    for row in body:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


Context = tuple[AsyncSession, RoutingService, Scope, datetime, int]


async def _summary(ctx: Context) -> Rows:
    s = await service.summary(ctx[0], ctx[2])
    header = [
        "from",
        "to",
        "department",
        "location",
        "posted",
        "answered",
        "filled",
        "expired",
        "replied",
        "within_hour",
        "within_day",
        "median_hours",
        "p90_hours",
    ]
    return header, [
        [
            s.start,
            s.end,
            s.department,
            s.location,
            s.posted,
            s.answered,
            s.filled,
            s.expired,
            s.replied,
            s.within_hour,
            s.within_day,
            s.median_hours,
            s.p90_hours,
        ]
    ]


async def _weeks(ctx: Context) -> Rows:
    weeks = await service.calls_per_week(ctx[0], ctx[2])
    return ["week", "posted", "with_useful_reply"], [[w.week, w.posted, w.answered] for w in weeks]


async def _waves(ctx: Context) -> Rows:
    waves = await service.wave_rates(ctx[0], ctx[2])
    return ["wave", "asked", "replied", "rate"], [
        [w.wave, w.asked, w.replied, w.rate] for w in waves
    ]


async def _waiting(ctx: Context) -> Rows:
    rows = await service.waiting(ctx[0], ctx[2], ctx[3], ctx[4])
    header = [
        "call",
        "title",
        "kind",
        "state",
        "asker",
        "department",
        "posted",
        "waiting_hours",
        "useful_replies",
        "needed",
        "untried",
    ]
    return header, [
        [
            w.id,
            w.title,
            w.kind,
            w.state,
            w.asker,
            w.department,
            w.created_at,
            w.waiting_hours,
            w.replies,
            w.needed,
            " ".join(u.handle for u in w.untried),
        ]
        for w in rows
    ]


async def _gaps(ctx: Context) -> Rows:
    found = await gaps.knowledge_gaps(ctx[0], ctx[1], ctx[2])
    header = ["terms", "example", "questions", "answered", "people_with_evidence", "gap"]
    return header, [
        [" ".join(g.terms), g.example, g.calls, g.answered, g.people_with_evidence, g.gap]
        for g in found
    ]


async def _connectors(ctx: Context) -> Rows:
    rows = await service.connectors(ctx[0], ctx[2])
    sources = list(service.CONNECTOR_SOURCES)
    return ["handle", "name", "department", "location", "total", *sources], [
        [c.handle, c.name, c.department, c.location, c.total, *(c.figures[s] for s in sources)]
        for c in rows
    ]


async def _ambassadors(ctx: Context) -> Rows:
    found = await service.ambassadors_reach(ctx[0], ctx[2])
    return ["handle", "name", "department", "invited", "completed"], [
        [a.handle, a.name, a.department, a.invited, a.completed] for a in found
    ]


async def _departments(ctx: Context) -> Rows:
    flows = await service.who_helps_whom(ctx[0], ctx[2])
    return ["helper_department", "asker_department", "useful_replies"], [
        [f.helper_department, f.asker_department, f.replies] for f in flows
    ]


async def _adoption(ctx: Context) -> Rows:
    found = await service.adoption(ctx[0], ctx[2])
    return [
        "department",
        "people",
        "profiles_complete",
        "active",
        "complete_share",
        "active_share",
    ], [
        [d.department, d.people, d.complete, d.active, d.complete_share, d.active_share]
        for d in found.departments
    ]


async def _activity(ctx: Context) -> Rows:
    found = await service.adoption(ctx[0], ctx[2])
    return ["week", "department", "active_people"], [
        [w.week, w.department, w.active] for w in found.weeks
    ]


TABLES: dict[str, Callable[[Context], Awaitable[Rows]]] = {
    "summary": _summary,
    "weeks": _weeks,
    "waves": _waves,
    "waiting": _waiting,
    "gaps": _gaps,
    "connectors": _connectors,
    "departments": _departments,
    "adoption": _adoption,
    "activity": _activity,
    "ambassadors": _ambassadors,
}


async def table_csv(
    session: AsyncSession,
    routing: RoutingService,
    scope: Scope,
    name: str,
    now: datetime,
    stalled_after: int,
) -> str:
    if name not in TABLES:
        raise NotFound("no dashboard table '{name}'", name=name)
    return as_csv(await TABLES[name]((session, routing, scope, now, stalled_after)))


@dataclass
class Overview:
    """Everything the dashboard page shows for one scope."""

    scope: Scope
    summary: service.Summary
    waiting: list[service.Waiting]
    topics: list[gaps.Gap]
    connectors: list[service.Connector]
    flows: list[service.HelpFlow]
    adoption: service.Adoption
    ambassadors: list[service.AmbassadorReach]


async def overview(
    session: AsyncSession, routing: RoutingService, scope: Scope, now: datetime, stalled_after: int
) -> Overview:
    return Overview(
        scope=scope,
        summary=await service.summary(session, scope),
        waiting=await service.waiting(session, scope, now, stalled_after),
        topics=await gaps.knowledge_gaps(session, routing, scope),
        connectors=await service.connectors(session, scope),
        flows=await service.who_helps_whom(session, scope),
        adoption=await service.adoption(session, scope),
        ambassadors=await service.ambassadors_reach(session, scope),
    )
