"""``GET /api/dashboard…``: the dashboard's figures as JSON and CSV. Managers and admins see
the organisation's (403 for members); everyone sees their own at ``/api/dashboard/me``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.context import AppContext
from askhub.dashboard import gaps, service, tables
from askhub.dashboard.service import Scope
from askhub.openapi import BEARER, errors
from models import Person

Day = Annotated[date | None, QueryParameter(name="from", required=False)]
Until = Annotated[date | None, QueryParameter(name="to", required=False)]
Filter = Annotated[str | None, Parameter(max_length=200, required=False)]
Table = Annotated[str, Parameter(pattern=r"^[a-z]{1,20}$")]


def _scope(
    context: AppContext,
    start: date | None,
    end: date | None,
    department: str | None,
    location: str | None,
) -> Scope:
    return Scope.of(
        datetime.now(UTC), start, end, department, location, days=context.settings.dashboard_days
    )


class DashboardController(Controller):
    path = "/api/dashboard"
    tags = ("dashboard",)
    security = BEARER

    @get("/", responses=errors(403))
    async def summary(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        start: Day = None,
        end: Until = None,
        department: Filter = None,
        location: Filter = None,
    ) -> service.Summary:
        """Calls posted, answered, filled and expired in the period (default: the last
        ASKHUB_DASHBOARD_DAYS days), the shares with a useful reply within an hour and a day,
        median and 90th percentile hours to the first, the reply rate per wave and per week.
        ``department`` and ``location`` select the askers."""
        service.require_steward(me)
        return await service.summary(db, _scope(context, start, end, department, location))

    @get("/me", responses=errors())
    async def mine(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        start: Day = None,
        end: Until = None,
    ) -> service.Mine:
        """Your own figures for the period: what you asked, and how you helped."""
        return await service.mine(db, me, _scope(context, start, end, None, None))

    @get("/waiting", responses=errors(403))
    async def waiting(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        department: Filter = None,
        location: Filter = None,
    ) -> list[service.Waiting]:
        """Open calls now without a useful reply, and volunteers calls stalled short of their
        number, oldest first, each with the best people not asked yet."""
        service.require_steward(me)
        scope = _scope(context, None, None, department, location)
        return await service.waiting(db, scope, datetime.now(UTC), context.settings.stalled_after)

    @get("/gaps", responses=errors(403))
    async def knowledge_gaps(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        start: Day = None,
        end: Until = None,
        department: Filter = None,
        location: Filter = None,
    ) -> list[gaps.Gap]:
        """Knowledge gaps: topics of the period's questions (clustered on their embeddings),
        with their most telling terms, how often asked and how many people have evidence."""
        service.require_steward(me)
        scope = _scope(context, start, end, department, location)
        return await gaps.knowledge_gaps(db, context.routing, scope)

    @get("/connectors", responses=errors(403))
    async def connectors(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        start: Day = None,
        end: Until = None,
        department: Filter = None,
        location: Filter = None,
    ) -> list[service.Connector]:
        """Who helped others most in the period: answers, accepted answers, forwards that
        were answered."""
        service.require_steward(me)
        return await service.connectors(db, _scope(context, start, end, department, location))

    @get("/departments", responses=errors(403))
    async def departments(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        start: Day = None,
        end: Until = None,
        department: Filter = None,
        location: Filter = None,
    ) -> list[service.HelpFlow]:
        """Who helps whom: useful replies, helper's department x asker's department."""
        service.require_steward(me)
        scope = _scope(context, start, end, department, location)
        return await service.who_helps_whom(db, scope)

    @get("/adoption", responses=errors(403))
    async def adoption(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        start: Day = None,
        end: Until = None,
        department: Filter = None,
        location: Filter = None,
    ) -> service.Adoption:
        """Per department: people, complete profiles, people active in the period; people
        active per week."""
        service.require_steward(me)
        return await service.adoption(db, _scope(context, start, end, department, location))

    @get("/ambassadors", responses=errors(403))
    async def ambassadors(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        start: Day = None,
        end: Until = None,
        department: Filter = None,
        location: Filter = None,
    ) -> list[service.AmbassadorReach]:
        """The ambassadors' reach: per ambassador (in the filters), colleagues who came
        through their link in the period and how many of those completed their profile."""
        service.require_steward(me)
        return await service.ambassadors_reach(
            db, _scope(context, start, end, department, location)
        )

    @get("/export/{table:str}", responses=errors(403, 404), media_type="text/csv")
    async def table_csv(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        table: Table,
        start: Day = None,
        end: Until = None,
        department: Filter = None,
        location: Filter = None,
    ) -> Response[str]:
        """Any dashboard table as CSV: summary, weeks, waves, waiting, gaps, connectors,
        departments, adoption, activity, ambassadors."""
        service.require_steward(me)
        scope = _scope(context, start, end, department, location)
        body = await tables.table_csv(
            db, context.routing, scope, table, datetime.now(UTC), context.settings.stalled_after
        )
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="askhub-{table}.csv"'},
        )
