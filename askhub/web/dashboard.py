"""The dashboard page: managers and admins see the organisation's figures (per period,
department and location), with charts and a CSV of every table; members see their own."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.context import AppContext
from askhub.dashboard import charts, service, tables
from askhub.dashboard.service import STEWARDS, Scope
from askhub.i18n import translator
from askhub.validation import InputError
from askhub.web.core import page, request_language
from models import Person


def _day(request: Request[Any, Any, Any], name: str) -> date | None:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError("a date as YYYY-MM-DD", name) from None


def _scope(request: Request[Any, Any, Any], context: AppContext) -> Scope:
    return Scope.of(
        datetime.now(UTC),
        _day(request, "from"),
        _day(request, "to"),
        request.query_params.get("department"),
        request.query_params.get("location"),
        days=context.settings.dashboard_days,
    )


def _short(week: str) -> str:
    return week[5:]


@get("/dashboard")
async def dashboard_page(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    scope = _scope(request, context)
    if viewer.role not in STEWARDS:
        return page(
            request,
            viewer,
            "dashboard.html",
            scope=scope,
            steward=False,
            mine=await service.mine(db, viewer, scope),
        )
    t = translator(request_language(request, viewer))
    view = await tables.overview(
        db, context.routing, scope, datetime.now(UTC), context.settings.stalled_after
    )
    weeks = view.summary.weeks
    labels = {
        "answers": t("Answers"),
        "accepted": t("Accepted answers"),
        "forwards_answered": t("Forwards answered"),
        "introductions": t("Introductions"),
    }
    active = view.adoption.active_per_week
    return page(
        request,
        viewer,
        "dashboard.html",
        scope=scope,
        steward=True,
        view=view,
        sources=[(name, labels.get(name, name)) for name in service.CONNECTOR_SOURCES],
        departments=await service.departments(db),
        locations=await service.locations(db),
        query=urlencode(scope.query()),
        chart_weeks=charts.bars(
            t("Calls per week"),
            [_short(w.week) for w in weeks],
            [
                (t("posted"), [w.posted for w in weeks]),
                (t("with a useful reply"), [w.answered for w in weeks]),
            ],
            ident="chart-weeks",
        ),
        chart_waves=charts.bars(
            t("Reply rate per wave"),
            [t("wave {n}", n=w.wave) for w in view.summary.waves],
            [(t("replied"), [w.rate for w in view.summary.waves])],
            percent=True,
            ident="chart-waves",
        ),
        chart_active=charts.bars(
            t("People active per week"),
            [_short(w) for w in active],
            [(t("active people"), list(active.values()))],
            ident="chart-active",
        ),
    )


@get("/dashboard/export/{table:str}")
async def dashboard_csv(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    table: str,
) -> Response[str]:
    service.require_steward(viewer)
    body = await tables.table_csv(
        db,
        context.routing,
        _scope(request, context),
        table,
        datetime.now(UTC),
        context.settings.stalled_after,
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="askhub-{table}.csv"'},
    )
