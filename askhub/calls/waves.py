"""Waves: who a call asks next, and the honest word to the asker when nobody is left.

Posting a call starts its first wave (``calls.service``) and the escalate tick starts the
next ones (``calls.scheduled``); both call these, so the services never import the ticks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import notify, reach
from askhub.routing.availability import asks_and_waiting, held_back, hold_asking
from askhub.settings import Settings
from models import Call, CallKind, Match, MatchState, ReplyKind


def useful_replies(call: Call) -> int:
    wanted = ReplyKind.VOLUNTEER if call.kind == CallKind.VOLUNTEERS else ReplyKind.ANSWER
    return sum(1 for r in call.replies if r.kind == wanted)


def is_sized_to_needed(call: Call) -> bool:
    """Calls whose reach follows from how many people they need (not a few per wave)."""
    return call.kind == CallKind.VOLUNTEERS and bool(call.needed)


async def start_next_wave(
    session: AsyncSession, settings: Settings, call: Call, now: datetime
) -> int:
    """Ask the next people who may be asked now; returns how many were asked.

    A volunteers call asks as many as it needs (``reach.ask_for_volunteers``); a question the
    next ``wave_size``. People who opted out, are away, are over their weekly budget or already
    have ``max_open_asks`` unanswered asks are passed over for the next candidate.
    """
    if is_sized_to_needed(call):
        return (await reach.ask_for_volunteers(session, settings, call, now)).asked
    candidates = [m for m in call.matches if m.state == MatchState.PROPOSED]
    candidates.sort(key=lambda m: (m.forwarded_by_id is None, m.rank))
    people = [m.person_id for m in candidates]
    await hold_asking(session)
    budget_used, waiting = await asks_and_waiting(session, people, now)
    chosen: list[Match] = []
    for match in candidates:
        person = match.person
        if len(chosen) >= settings.wave_size:
            break
        if held_back(person, now, budget_used, waiting, settings.max_open_asks):
            continue
        chosen.append(match)
    if not chosen:
        return 0
    call.wave += 1
    call.wave_started_at = now
    for match in chosen:
        match.state = MatchState.NUDGED
        match.wave = call.wave
        match.nudged_at = now
        await notify.ask(session, settings, call, match, match.person, call.asker, now)
    return len(chosen)


async def tell_exhausted(
    session: AsyncSession, settings: Settings, call: Call, now: datetime
) -> None:
    """Say honestly that nobody is left to ask, once, and how to widen the call."""
    call.exhausted_at = now
    asked = sum(1 for m in call.matches if m.nudged_at is not None)
    t, tn = notify.words(call.asker), notify.plural_words(call.asker)
    await notify.tell_asker(
        session,
        settings,
        call,
        call.asker,
        f"exhausted:{call.id}",
        t("Nobody found yet for: {title}", title=call.title)[:180],
        (
            tn(
                "AskHub asked {n} colleague and has nobody left who matches and may be asked now.",
                "AskHub asked {n} colleagues and has nobody left who matches and may be asked now.",
                asked,
            )
            if asked
            else t(
                "AskHub found nobody whose posts or profile match this call well enough to ask "
                "them, so it asked nobody rather than strangers."
            )
        )
        + " "
        + t(
            "Widen the call: use other or more general words, add tags, drop the audience "
            "filter, open it to everyone, or forward it to someone who might know who knows."
        ),
        now,
    )
