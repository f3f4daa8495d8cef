"""What happens when a call stops asking: the people still asked hear they are no longer
needed, and the asker gets a summary of the replies. Shared by the asker's own controls
(``calls.control``) and the deadline tick (``calls.scheduled``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import notify
from askhub.i18n import Translator
from askhub.settings import Settings
from models import Call, CallKind, MatchState, NudgeKind, Person, Reply, ReplyKind

# Asked and not yet replied: the states a person leaves when the call no longer needs them.
WAITING = (MatchState.NUDGED, MatchState.SEEN)


async def release_asked(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    now: datetime,
    intro: Callable[[Translator], str],
) -> int:
    """Everyone still asked is told they are no longer needed, and nobody is asked or
    reminded about the call again (their matches, and those never asked, expire). ``intro``
    says why in the words of each reader."""
    told = 0
    for match in call.matches:
        if match.state in WAITING:
            match.state = MatchState.EXPIRED
            t = notify.words(match.person)
            await notify.send(
                session,
                settings,
                match.person,
                NudgeKind.NOTICE,
                f"released:{call.id}:{match.person_id}:{opening(call)}",
                notify.notice(
                    t,
                    t("No longer needed: {title}", title=call.title),
                    intro(t),
                    notify.call_link(settings, call),
                ),
                now,
                call,
            )
            told += 1
        elif match.state == MatchState.PROPOSED:
            match.state = MatchState.EXPIRED
    return told


def opening(call: Call) -> int:
    """Which time the call is open (its reopening's timestamp): part of the keys of what
    closing sends, so a repeated tick sends nothing twice and a reopened call closes again."""
    return int(call.reopened_at.timestamp()) if call.reopened_at else 0


def useful(call: Call) -> list[Reply]:
    return [r for r in call.replies if r.kind in (ReplyKind.ANSWER, ReplyKind.VOLUNTEER)]


async def send_summary(
    session: AsyncSession, settings: Settings, call: Call, now: datetime, why: str
) -> None:
    """The asker's summary of a call that closed: every answer or volunteer, by name."""
    replies = useful(call)
    ids = {r.person_id for r in replies} - {m.person_id for m in call.matches}
    names = {m.person_id: m.person.name for m in call.matches}
    if ids:
        for person in await session.scalars(select(Person).where(Person.id.in_(ids))):
            names[person.id] = person.name
    # In the asker's words (``why`` is a catalogue message).
    t, tn = notify.words(call.asker), notify.plural_words(call.asker)
    someone = t("someone")
    items = [
        "{} ({}): {}".format(
            names.get(r.person_id) or someone, t(f"reply:{r.kind}"), r.body
        ).strip()
        for r in replies
    ]
    if call.kind == CallKind.VOLUNTEERS:
        headline = tn(
            "{n} of {needed} volunteers signed up.",
            "{n} of {needed} volunteers signed up.",
            len(replies),
            needed=call.needed or "?",
        )
    else:
        headline = tn("{n} answer.", "{n} answers.", len(replies))
    await notify.tell_asker(
        session,
        settings,
        call,
        call.asker,
        f"summary:{call.id}:{opening(call)}",
        t("Closed: {title}", title=call.title)[:180],
        f"{t(why)} {headline}"
        + ("" if replies else " " + t("Nobody replied; try asking again with other words.")),
        now,
        items=items,
        kind=NudgeKind.SUMMARY,
    )
