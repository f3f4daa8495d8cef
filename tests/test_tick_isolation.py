"""One call with broken data is logged and skipped; every other call's nudges still go out."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from askhub.calls import service
from askhub.calls.scheduled import lifecycle_tick
from askhub.calls.schemas import CallCreate
from askhub.context import AppContext
from askhub.nudges.channels.inapp import InAppChannel
from askhub.nudges.dispatch import DispatchSettings, dispatch_due
from askhub.people.service import get_by_handle
from models import Call, Match, Nudge, NudgeKind, NudgeState


async def _post(ctx: AppContext, title: str, body: str) -> int:
    async with ctx.sessions() as session, session.begin():
        asker = await get_by_handle(session, "asker")
        assert asker
        call = await service.create_call(
            session,
            ctx.routing,
            ctx.settings,
            asker,
            CallCreate(kind="question", title=title, body=body),
        )
        return call.id


async def test_a_broken_call_does_not_stop_the_other_calls_reminders_and_waves(
    org: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = replace(
        org,
        settings=replace(
            org.settings, wave_size=1, max_waves=3, wave_interval=600, reminder_after=60
        ),
    )
    broken = await _post(ctx, "Wie weet iets van staalbouw?", "Stalen liggers voor een hal.")
    healthy = await _post(ctx, "Modem firmware updates", "Who knows modem firmware rollouts?")
    async with ctx.sessions() as session, session.begin():
        # Evidence as an older version might have stored it: not a list of reasons.
        await session.execute(update(Match).where(Match.call_id == broken).values(evidence=[42]))

    later = datetime.now(UTC) + timedelta(hours=1)
    with caplog.at_level(logging.ERROR, logger="askhub.calls.scheduled"):
        result = await lifecycle_tick(ctx.sessions, ctx.settings, later)
    assert result.reminders >= 1 and result.waves >= 1
    assert f"Call {broken} failed" in caplog.text and "Match " in caplog.text

    async with ctx.sessions() as session:
        calls = {c.id: c for c in await session.scalars(select(Call))}
        assert calls[healthy].wave == 2  # the next wave was asked
        assert calls[broken].wave == 1  # rolled back to before the tick, tried again later
        nudges = (await session.scalars(select(Nudge))).all()
    reminders = {n.call_id for n in nudges if n.kind == NudgeKind.REMINDER}
    assert reminders == {healthy}
    asks_of_healthy = [n for n in nudges if n.kind == NudgeKind.ASK and n.call_id == healthy]
    assert len(asks_of_healthy) == 2

    # And delivery takes them out.
    await dispatch_due(ctx.sessions, {"inapp": InAppChannel()}, DispatchSettings(), now=later)
    async with ctx.sessions() as session:
        states = set(
            await session.scalars(
                select(Nudge.state).where(
                    Nudge.call_id == healthy, Nudge.kind == NudgeKind.REMINDER
                )
            )
        )
    assert states == {NudgeState.SENT}
