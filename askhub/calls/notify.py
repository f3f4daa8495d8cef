"""What a call tells people, and through which channels: payloads for the outbox.

The outbox delivers; this module decides the words, the links and the channels, and respects
each person's preferences (channels, digest, quiet hours).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.links import action_url
from askhub.nudges.outbox import enqueue
from askhub.nudges.payload import NudgeLink, NudgePayload
from askhub.routing.availability import quiet_until
from askhub.settings import Settings
from models import Call, CallKind, Match, NudgeChannel, NudgeKind, Person


def channels_for(person: Person, settings: Settings, kind: NudgeKind) -> list[NudgeChannel]:
    """In-app always; email and webhook when configured and wanted. People who chose a
    digest get asks in-app only; the daily digest brings them by email."""
    chosen = [NudgeChannel.INAPP]
    wanted = set(person.channels or [])
    if kind in (NudgeKind.ASK, NudgeKind.REMINDER) and person.digest:
        return chosen
    if settings.smtp_enabled and person.email and "email" in wanted:
        chosen.append(NudgeChannel.EMAIL)
    if settings.webhook_enabled and person.webhook_url and "webhook" in wanted:
        chosen.append(NudgeChannel.WEBHOOK)
    return chosen


def call_link(settings: Settings, call: Call) -> str:
    return f"{settings.base_url}/calls/{call.id}"


def reasons_of(match: Match) -> list[str]:
    lines = []
    for reason in match.evidence or []:
        title = str(reason.get("title") or reason.get("kind") or "")
        snippet = str(reason.get("snippet") or "")
        lines.append(f"{title}: {snippet}" if title and snippet else title or snippet)
    return [line for line in lines if line]


def _action_links(settings: Settings, call: Call, person: Person) -> list[NudgeLink]:
    actions = (
        [("volunteer", "I'll volunteer")]
        if call.kind == CallKind.VOLUNTEERS
        else [("reply", "Answer")]
    )
    actions += [("forward", "Forward to a colleague"), ("snooze", "Later"), ("decline", "Not me")]
    return [
        NudgeLink(label=label, url=action_url(settings, call.id, person.id, action))
        for action, label in actions
    ]


async def send(
    session: AsyncSession,
    settings: Settings,
    person: Person,
    kind: NudgeKind,
    key: str,
    payload: NudgePayload,
    now: datetime,
    call: Call | None = None,
) -> int:
    """Enqueue one message per channel of ``person``; email and webhooks wait out quiet hours."""
    added = 0
    quiet = quiet_until(person, now)
    for channel in channels_for(person, settings, kind):
        not_before = quiet if channel != NudgeChannel.INAPP else None
        added += await enqueue(
            session,
            key=f"{key}:{channel}",
            person_id=person.id,
            channel=channel,
            kind=kind,
            payload=payload,
            call_id=call.id if call else None,
            not_before=not_before,
        )
    return added


async def ask(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    match: Match,
    person: Person,
    asker: Person,
    now: datetime,
    reminder: bool = False,
) -> int:
    verb = "volunteers" if call.kind == CallKind.VOLUNTEERS else "your help"
    intro = (
        f"{asker.name} asks {verb}: “{call.title}”."
        if not reminder
        else f"A reminder: {asker.name} still hopes to hear from you on “{call.title}”."
    )
    if call.kind == CallKind.VOLUNTEERS and call.needed:
        intro += f" {call.needed} people needed."
    if call.deadline:
        intro += f" Deadline: {call.deadline:%Y-%m-%d %H:%M} UTC."
    kind = NudgeKind.REMINDER if reminder else NudgeKind.ASK
    payload = NudgePayload(
        subject=("Reminder: " if reminder else "") + f"{asker.name} asks: {call.title}"[:180],
        intro=intro,
        body=call.body,
        reasons=reasons_of(match),
        links=_action_links(settings, call, person),
    )
    return await send(
        session, settings, person, kind, f"{kind}:{call.id}:{person.id}", payload, now, call
    )


async def tell_asker(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    asker: Person,
    key: str,
    subject: str,
    intro: str,
    now: datetime,
    items: Sequence[str] = (),
    kind: NudgeKind = NudgeKind.NOTICE,
) -> int:
    payload = NudgePayload(
        subject=subject[:180],
        intro=intro,
        links=[NudgeLink(label="Open the call", url=call_link(settings, call))],
        items=list(items),
    )
    return await send(session, settings, asker, kind, key, payload, now, call)
