"""One call with broken data is logged and skipped; every other call's nudges still go out."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from askhub.calls import scheduled, service
from askhub.calls.scheduled import lifecycle_tick
from askhub.calls.schemas import CallCreate
from askhub.context import AppContext
from askhub.nudges.channels.inapp import InAppChannel
from askhub.nudges.dispatch import DispatchSettings, dispatch_due
from askhub.people.service import get_by_handle
from askhub.scheduler import dispatch
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


def _tick_lines(caplog: pytest.LogCaptureFixture) -> dict[str, dict[str, str]]:
    lines: dict[str, dict[str, str]] = {}
    for record in caplog.records:
        if record.name == "askhub.ticks":
            found = dict(pair.split("=", 1) for pair in record.getMessage().split())
            assert found["tick"] not in lines, "one line per tick round"
            lines[found["tick"]] = {**found, "level": record.levelname}
    return lines


async def test_a_failing_tick_logs_one_failed_line_and_the_other_ticks_still_run(
    org: AppContext, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = replace(org, settings=replace(org.settings, reminder_after=60))
    await _post(ctx, "Modem firmware updates", "Who knows modem firmware rollouts?")

    async def database_away(*args: object) -> None:
        raise ConnectionError("the database is away")

    def no_session() -> None:
        raise ConnectionError("the database is away")

    monkeypatch.setitem(scheduled.TICKS, "escalate", database_away)
    later = datetime.now(UTC) + timedelta(hours=1)
    with caplog.at_level(logging.DEBUG, logger="askhub.ticks"):
        await lifecycle_tick(ctx.sessions, ctx.settings, later)
        await dispatch(replace(ctx, sessions=no_session), {})  # type: ignore[arg-type]

    lines = _tick_lines(caplog)
    assert set(lines) == {"close", "escalate", "remind", "digests", "dispatch"}
    failed = {name for name, line in lines.items() if line["outcome"] == "failed"}
    assert failed == {"escalate", "dispatch"}
    assert {lines[name]["level"] for name in failed} == {"ERROR"}
    assert "the database is away" in caplog.text  # the traceback comes with the failed line
    # The ticks after the failed one ran, and their lines count what they did.
    async with ctx.sessions() as session:
        reminders = len(
            (await session.scalars(select(Nudge).where(Nudge.kind == NudgeKind.REMINDER))).all()
        )
    assert reminders >= 1
    assert lines["remind"]["outcome"] == "ok" and lines["remind"]["reminders"] == str(reminders)
    assert lines["remind"]["level"] == "INFO" and lines["close"]["level"] == "DEBUG"
    assert all(float(line["duration_ms"]) >= 0 for line in lines.values())
