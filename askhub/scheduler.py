"""The clock: APScheduler runs the ticks that the domains define, in the app process.

Every tick is idempotent over database state, so several processes can run this scheduler
against one PostgreSQL database, and a restart simply continues.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from askhub.calls.scheduled import TICKS, run_tick
from askhub.context import AppContext
from askhub.dashboard.scheduled import manager_digest_tick
from askhub.logs import tick_outcome
from askhub.nudges.channels.base import Channel
from askhub.nudges.dispatch import DispatchSettings, dispatch_due


def dispatch_settings(context: AppContext) -> DispatchSettings:
    return DispatchSettings(
        retry_base_seconds=context.settings.retry_base_seconds,
        max_attempts=context.settings.max_attempts,
        lease_seconds=context.settings.dispatch_lease_seconds,
        concurrency=context.settings.delivery_concurrency,
        budget_seconds=context.settings.tick_budget_seconds,
    )


async def dispatch(context: AppContext, channels: dict[str, Channel]) -> None:
    # A failed round must not stop the clock; the next round retries.
    with tick_outcome("dispatch") as outcome:
        result = await dispatch_due(context.sessions, channels, dispatch_settings(context))
        outcome.update(asdict(result))


async def refit_ranker(context: AppContext) -> None:
    """Refit the ranker on the history as it stands; too little history is no error, and a
    failed fit keeps the previous model ranking."""
    from askhub.routing.learning import NotEnoughHistory

    with tick_outcome("refit") as outcome:
        try:
            report = await context.routing.fit(context.sessions)
        except NotEnoughHistory as exc:
            outcome.update(outcome="skipped", reason=str(exc))
        else:
            outcome.update(model=report.model_id, questions=report.ranker.questions)


async def prune_index_changes(context: AppContext) -> None:
    """Drop the index change log's rows beyond the horizon (``ASKHUB_INDEX_CHANGES_KEPT``);
    if that fails, the log only grows until the next round."""
    with tick_outcome("prune") as outcome:
        async with context.sessions() as session, session.begin():
            outcome["pruned"] = await context.routing.prune_changes(session)


def counted(
    context: AppContext, name: str, job: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[None]]:
    """``job`` that, once a round of it has finished, counts it in ``context.rounds``."""

    async def round_of(*args: Any) -> None:
        try:
            await job(*args)
        finally:
            context.rounds[name] += 1

    return round_of


def build_scheduler(context: AppContext, channels: dict[str, Channel]) -> AsyncIOScheduler:
    # APScheduler logs two INFO lines per job run (every job, every tick, in every process);
    # the ticks log their own outcomes, so keep only its warnings and errors.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(timezone=UTC)
    every_tick: list[tuple[str, Callable[..., Awaitable[Any]], list[Any]]] = [
        (name, run_tick, [name, context.sessions, context.settings]) for name in TICKS
    ]
    every_tick += [
        ("dispatch", dispatch, [context, channels]),
        ("prune", prune_index_changes, [context]),
    ]
    # One job per concern: a tick that fails or hangs never holds up the others.
    for name, job, args in every_tick:
        scheduler.add_job(
            counted(context, name, job),
            "interval",
            seconds=context.settings.tick_seconds,
            args=args,
            id=f"askhub-{name}",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    if context.settings.manager_digest:
        # Once a week per manager (the outbox key says which week); checking costs one query.
        scheduler.add_job(
            counted(context, "manager-digest", manager_digest_tick),
            "interval",
            seconds=max(context.settings.tick_seconds, 300),
            args=[context.sessions, context.settings],
            id="askhub-manager-digest",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    if context.settings.refit_hours > 0:
        # The first fit waits a full period: a fresh start ranks with the stored model.
        scheduler.add_job(
            counted(context, "refit", refit_ranker),
            "interval",
            hours=context.settings.refit_hours,
            args=[context],
            id="askhub-refit",
            max_instances=1,
            coalesce=True,
        )
    return scheduler
