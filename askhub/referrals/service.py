"""The rules of sharing a referral: who may share it, each sharer's personal link, the shares
(clicks on a share button) and the visits their link brings, and who sees the figures.

The API (``referrals.controllers``), the pages (``web.referrals``) and the tests call these.

What counts:

- A **share** is a click on one of the share buttons on the sharer's page (LinkedIn, e-mail,
  copy link): the page's script posts it as the button acts (``POST /calls/{id}/shares``, or
  ``POST /api/calls/{id}/shares`` for API users). Opening the page alone is no share.
- A **visit** is a GET of ``/r/{code}`` that is redirected to the vacancy. Nothing about the
  visitor is read into storage: no address, no browser string, no cookie; only the counter of
  that link for that day (UTC) goes up by one, in one statement, so concurrent visits never
  lose a count. HEAD requests, browser prefetches (``Sec-Purpose``/``Purpose: prefetch``) and
  link-preview robots (a user agent naming itself a bot, crawler, spider or preview, and the
  unfurlers of Facebook, WhatsApp and Office) are redirected but not counted: sharing a link on LinkedIn makes LinkedIn's robot
  fetch it once, which is no candidate.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Date, Integer, Select, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.control import require_steward
from askhub.calls.service import FINISHED, CallError, may_reply
from askhub.i18n import N_, Translator
from askhub.settings import Settings
from askhub.validation import NotFound, NotPermitted
from models import (
    Call,
    CallStatus,
    Person,
    Referral,
    Share,
    ShareChannel,
    ShareLink,
    ShareVisits,
    referral_of,
)

# Messages people see; the pages translate them.
NOT_A_REFERRAL = N_("This call is not a referral with a vacancy or event to share.")
NO_LONGER_SHARED = N_("This referral is closed: it is no longer shared.")
NOT_FOR_YOU = N_("This referral is meant for colleagues in another department or location.")

# 12 characters of a URL-safe alphabet: 72 random bits, not guessable.
CODE_BYTES = 9


def may_share(call: Call, person: Person) -> bool:
    """Anyone who may reply to the referral may spread it: the asker, the people it asked and
    colleagues in its audience, while it is open."""
    return referral_of(call) is not None and call.status not in FINISHED and may_reply(call, person)


def require_sharer(call: Call, person: Person) -> Referral:
    """Guard for getting a share link and sharing: a referral (404 otherwise), open (409),
    and the person may reply to it (403)."""
    referral = referral_of(call)
    if referral is None:
        raise NotFound(NOT_A_REFERRAL)
    if not may_reply(call, person):
        raise NotPermitted(NOT_FOR_YOU)
    if call.status in FINISHED:
        raise CallError(NO_LONGER_SHARED)
    return referral


async def link_for(session: AsyncSession, call: Call, person: Person, now: datetime) -> ShareLink:
    """``person``'s link for ``call``, made the first time it is needed. One per person and
    call, however many requests ask for it at once (a unique constraint decides)."""
    require_sharer(call, person)
    found = await _link(session, call.id, person.id)
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            link = ShareLink(
                call_id=call.id,
                person_id=person.id,
                code=secrets.token_urlsafe(CODE_BYTES),
                created_at=now,
            )
            session.add(link)
            await session.flush()
            return link
    except IntegrityError:
        found = await _link(session, call.id, person.id)
        if found is None:
            raise
        return found


async def _link(session: AsyncSession, call_id: int, person_id: int) -> ShareLink | None:
    return await session.scalar(
        select(ShareLink).where(ShareLink.call_id == call_id, ShareLink.person_id == person_id)
    )


async def record_share(
    session: AsyncSession, call: Call, person: Person, channel: str, now: datetime
) -> ShareLink:
    """``person`` clicked the ``channel`` share button."""
    try:
        chosen = ShareChannel(channel)
    except ValueError:
        raise CallError("share by 'linkedin', 'email' or 'copy'", "channel") from None
    link = await link_for(session, call, person, now)
    session.add(Share(link_id=link.id, channel=chosen, created_at=now))
    await session.flush()
    return link


async def shares_made(session: AsyncSession, link: ShareLink) -> int:
    return len((await session.scalars(select(Share.id).where(Share.link_id == link.id))).all())


# -- the buttons --------------------------------------------------------------------------------


def public_link(settings: Settings, link: ShareLink) -> str:
    return f"{settings.base_url}/r/{link.code}"


@dataclass(frozen=True)
class Buttons:
    """Where each share button goes: the personal link, LinkedIn's share page, an e-mail."""

    link: str
    linkedin: str
    email: str


def buttons(settings: Settings, call: Call, link: ShareLink, t: Translator) -> Buttons:
    """The share buttons of ``link``, the e-mail in the sharer's words (``t``)."""
    url = public_link(settings, link)
    referral = referral_of(call)
    event = referral is not None and referral.offer == "event"
    subject = (
        t("An event you may like: {title}", title=call.title)
        if event
        else t("A vacancy for you or someone you know: {title}", title=call.title)
    )
    body = (
        t("I thought of you for this event: {title}", title=call.title)
        if event
        else t("I thought of you, or someone you know, for this vacancy: {title}", title=call.title)
    )
    mail = "mailto:?" + urlencode(
        {"subject": subject, "body": f"{body}\n\n{url}\n"}, quote_via=quote
    )
    return Buttons(
        link=url,
        linkedin="https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
        email=mail,
    )


# -- visits -------------------------------------------------------------------------------------

# Robots that fetch a shared link to show a preview card name themselves so (LinkedInBot,
# Slackbot-LinkExpanding, Twitterbot, TelegramBot, Discordbot, SkypeUriPreview for Teams,
# facebookexternalhit, WhatsApp/2.x, Office's link check). People who open the link inside the
# LinkedIn app ("LinkedInApp") or Teams are people, and count.
_ROBOTS = re.compile(
    r"bot\b|crawler|spider|preview|facebookexternalhit|whatsapp/|microsoft office|ms-office",
    re.IGNORECASE,
)


def is_noise(method: str, headers: Mapping[str, str]) -> bool:
    """A request that is no person opening the link: HEAD, a prefetch, a link-preview robot.
    The headers are read here and nowhere stored."""
    if method.upper() != "GET":
        return True
    purpose = (headers.get("sec-purpose") or headers.get("purpose") or "").lower()
    if "prefetch" in purpose or "prerender" in purpose:
        return True
    if (headers.get("x-moz") or "").lower() == "prefetch":
        return True
    return bool(_ROBOTS.search(headers.get("user-agent") or ""))


async def visit(session: AsyncSession, code: str, now: datetime, count: bool = True) -> str | None:
    """Where the link ``code`` leads (None: no such link, or its call was withdrawn), counting
    the visit when ``count``.

    The count is the transaction's first statement and a single one: an insert of the link's
    counter for today (UTC) that adds one when the row exists. So concurrent visits queue on
    the database (PostgreSQL's row lock, SQLite's write lock taken at once) and none is lost."""
    if not code or len(code) > 64:
        return None
    live = (
        select(ShareLink.id)
        .join(Call, Call.id == ShareLink.call_id)
        .join(Referral, Referral.call_id == ShareLink.call_id)
        .where(ShareLink.code == code, Call.status != CallStatus.WITHDRAWN)
    )
    if count:
        await _count(session, live, now.date())
    url = await session.scalar(live.with_only_columns(Referral.url))
    return str(url) if url is not None else None


async def _count(session: AsyncSession, live: Select[Any], day: date) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ShareVisits).from_select(
        ["link_id", "day", "visits"],
        live.add_columns(literal(day, Date), literal(1, Integer)),
    )
    statement = statement.on_conflict_do_update(
        index_elements=[ShareVisits.link_id, ShareVisits.day],
        set_={"visits": ShareVisits.visits + 1},
    )
    await session.execute(statement)


# -- what the asker sees ------------------------------------------------------------------------


@dataclass
class Sharer:
    person: Person
    link: ShareLink
    shares: Counter[str] = field(default_factory=Counter)
    visits: int = 0
    first_shared_at: datetime | None = None

    @property
    def shared(self) -> int:
        return sum(self.shares.values())


@dataclass
class Day:
    day: date
    shares: int = 0
    visits: int = 0


@dataclass
class Report:
    referral: Referral
    sharers: list[Sharer]
    days: list[Day]

    @property
    def shares(self) -> int:
        return sum(s.shared for s in self.sharers)

    @property
    def visits(self) -> int:
        return sum(s.visits for s in self.sharers)


async def report(session: AsyncSession, call: Call, viewer: Person) -> Report:
    """Shares and visits per sharer (most visits first) and per day (UTC, oldest first), for
    the asker and managers (403 for others; 404 when the call is no referral)."""
    require_steward(call, viewer)
    referral = referral_of(call)
    if referral is None:
        raise NotFound(NOT_A_REFERRAL)
    links = (
        await session.execute(
            select(ShareLink, Person)
            .join(Person, Person.id == ShareLink.person_id)
            .where(ShareLink.call_id == call.id)
            .order_by(ShareLink.id)
        )
    ).all()
    sharers = {link.id: Sharer(person=person, link=link) for link, person in links}
    days: dict[date, Day] = defaultdict(lambda: Day(date.min))
    if sharers:
        for share in await session.scalars(
            select(Share).where(Share.link_id.in_(sharers)).order_by(Share.id)
        ):
            sharer = sharers[share.link_id]
            sharer.shares[str(share.channel)] += 1
            if sharer.first_shared_at is None:
                sharer.first_shared_at = share.created_at
            days[share.created_at.date()].shares += 1
        for counted in await session.scalars(
            select(ShareVisits).where(ShareVisits.link_id.in_(sharers))
        ):
            sharers[counted.link_id].visits += counted.visits
            days[counted.day].visits += counted.visits
    for day, item in days.items():
        item.day = day
    # Only people who shared or whose link was visited: opening the page is no share.
    shown = [s for s in sharers.values() if s.shared or s.visits]
    shown.sort(key=lambda s: (-s.visits, -s.shared, s.person.name))
    return Report(referral, shown, sorted(days.values(), key=lambda d: d.day))
