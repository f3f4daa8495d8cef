"""What a call tells people, and through which channels: payloads for the outbox.

The outbox delivers; this module decides the words, the links and the channels, and respects
each person's preferences (channels, digest, quiet hours). The words are in the reader's
language (:func:`words`), chosen when the message is queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.links import action_url
from askhub.i18n import PluralTranslator, Translator, plural_translator, reader_language, translator
from askhub.nudges.outbox import enqueue
from askhub.nudges.payload import NudgeLink, NudgePayload
from askhub.routing.availability import quiet_until
from askhub.settings import Settings
from models import Call, CallKind, Match, NudgeChannel, NudgeKind, Person


def words(person: Person) -> Translator:
    """``t`` in the language ``person`` reads (the NL/EN switch, else the first they speak)."""
    return translator(reader_language(person))


def plural_words(person: Person) -> PluralTranslator:
    return plural_translator(reader_language(person))


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


def reasons_of(match: Match, t: Translator | None = None) -> list[str]:
    lines = []
    for reason in match.evidence or []:
        title = str(reason.get("title") or reason.get("kind") or "")
        if t is not None and reason.get("kind") == "profile":
            # The stored title is "Profile — department": the label in the reader's words.
            title = " — ".join([t("Profile"), *title.split(" — ", 1)[1:]])
        snippet = str(reason.get("snippet") or "")
        if t is not None and reason.get("kind") == "audience":
            title, snippet = t(title), t(snippet)
        lines.append(f"{title}: {snippet}" if title and snippet else title or snippet)
    return [line for line in lines if line]


def _action_links(settings: Settings, call: Call, person: Person) -> list[NudgeLink]:
    t = words(person)
    actions = (
        [("volunteer", t("I'll volunteer"))]
        if call.kind == CallKind.VOLUNTEERS
        else [("reply", t("Answer"))]
    )
    actions += [
        ("forward", t("Forward to a colleague")),
        ("snooze", t("Later")),
        ("decline", t("Not me")),
    ]
    return [
        NudgeLink(label=label, url=action_url(settings, call.id, person.id, action))
        for action, label in actions
    ]


def action_links(settings: Settings, call: Call, person: Person) -> list[NudgeLink]:
    """The links of an ask: a referral's share page first, then the one-click actions (answer
    or volunteer, forward, later, not me) signed for ``person``. The waves' asks and a
    manager's introductions carry the same."""
    return _share_links(settings, call, words(person)) + _action_links(settings, call, person)


def _share_links(settings: Settings, call: Call, t: Translator) -> list[NudgeLink]:
    """A referral's first link: the page with the person's own share link and buttons."""
    if call.kind != CallKind.REFERRAL:
        return []
    return [
        NudgeLink(label=t("Share it in your network"), url=f"{call_link(settings, call)}/share")
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
    t, tn = words(person), plural_words(person)
    if reminder:
        intro = t(
            "A reminder: {name} still hopes to hear from you on “{title}”.",
            name=asker.name,
            title=call.title,
        )
        subject = t("Reminder: {name} asks: {title}", name=asker.name, title=call.title)
    else:
        if call.kind == CallKind.VOLUNTEERS:
            intro = t("{name} asks for volunteers: “{title}”.", name=asker.name, title=call.title)
        elif call.kind == CallKind.REFERRAL:
            intro = t(
                "{name} asks whom you know for “{title}”: share it in your network with one click.",
                name=asker.name,
                title=call.title,
            )
        else:
            intro = t("{name} asks your help: “{title}”.", name=asker.name, title=call.title)
        subject = t("{name} asks: {title}", name=asker.name, title=call.title)
    if call.kind == CallKind.VOLUNTEERS and call.needed:
        intro += " " + tn("{n} person needed.", "{n} people needed.", call.needed)
    if call.deadline:
        intro += " " + t("Deadline: {when} UTC.", when=f"{call.deadline:%Y-%m-%d %H:%M}")
    kind = NudgeKind.REMINDER if reminder else NudgeKind.ASK
    payload = NudgePayload(
        subject=subject[:180],
        intro=intro,
        body=call.body,
        reasons=reasons_of(match, t),
        links=action_links(settings, call, person),
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
    """A notice to the asker; ``subject`` and ``intro`` are already in the asker's language
    (``words(asker)``)."""
    payload = NudgePayload(
        subject=subject[:180],
        intro=intro,
        links=[NudgeLink(label=words(asker)("Open the call"), url=call_link(settings, call))],
        items=list(items),
    )
    return await send(session, settings, asker, kind, key, payload, now, call)


def notice(t: Translator, subject: str, intro: str, link: str = "", body: str = "") -> NudgePayload:
    """A short notice about a call, already in the reader's words (``t``), with a link to it."""
    return NudgePayload(
        subject=subject[:180],
        intro=intro,
        body=body,
        links=[NudgeLink(label=t("Open the call"), url=link)] if link else [],
    )
