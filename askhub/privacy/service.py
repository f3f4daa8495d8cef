"""Erasure (GDPR art. 17): a person leaves AskHub, and with them everything that is theirs.

Above people and calls: the API (``DELETE /api/people/me``, admins ``DELETE /api/people/
{handle}``), the profile page and ``askhub people erase HANDLE`` all call :func:`erase`.

What goes: the profile, every post (also answers that became posts) with its vectors, in the
database and in this process's index (other processes rebuild theirs when they see the stored
vectors shrink), the calls they asked (with what hung on them), where they were asked, their
messages, tokens, web sessions (every browser is signed out), the record of the one-click
links they used, their referral share links with their shares and visit counts, and their
password. What stays: their replies to other people's calls, because the
askers keep their answers, anonymised: the person row is scrubbed to a nameless placeholder
that cannot sign in, be found, be asked or be named in a forward.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from askhub.people.service import ERASED_HANDLE_PREFIX, ERASED_NAME, get_by_handle
from askhub.routing.service import RoutingService
from models import (
    Ambassador,
    ApiToken,
    Availability,
    Call,
    Embedding,
    Introduction,
    Invitation,
    LinkUse,
    Match,
    Nudge,
    Person,
    Post,
    Reply,
    Role,
    ShareLink,
    WebSession,
)


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed and kept, for the API answer and the CLI line."""

    posts: int
    vectors: int
    calls: int
    replies_kept: int


async def erase(
    sessions: async_sessionmaker[AsyncSession], routing: RoutingService, person_id: int
) -> Erasure | None:
    """Erase the person with ``person_id`` in one transaction; None if there is nobody (left)
    to erase. The vectors leave this process's index once the transaction has committed."""
    async with sessions() as session, session.begin():
        person = await session.get(Person, person_id, with_for_update=True)
        if person is None or person.handle.startswith(ERASED_HANDLE_PREFIX):
            return None
        done, post_ids = await _erase(session, person)
    await routing.forget(post_ids)
    return done


async def _erase(session: AsyncSession, person: Person) -> tuple[Erasure, list[int]]:
    pid = person.id
    name = person.name
    # Their calls go, with the replies, matches and messages that belong to them.
    call_ids = list(await session.scalars(select(Call.id).where(Call.asker_id == pid)))
    # Calls they answered or forwarded stay; messages about those may carry their name.
    touched = set(
        await session.scalars(
            select(Reply.call_id).where(Reply.person_id == pid, Reply.call_id.not_in(call_ids))
        )
    )
    post_ids = list(await session.scalars(select(Post.id).where(Post.author_id == pid)))
    vectors = await _delete(session, delete(Embedding).where(Embedding.post_id.in_(post_ids)))
    await _delete(session, delete(Post).where(Post.id.in_(post_ids)))
    if call_ids:
        await _delete(session, delete(LinkUse).where(LinkUse.call_id.in_(call_ids)))
        await _delete(session, delete(Nudge).where(Nudge.call_id.in_(call_ids)))
        await _delete(session, delete(Match).where(Match.call_id.in_(call_ids)))
        await _delete(session, delete(Reply).where(Reply.call_id.in_(call_ids)))
        await _delete(session, delete(Call).where(Call.id.in_(call_ids)))
    await _delete(session, delete(Nudge).where(Nudge.person_id == pid))
    await _delete(session, delete(Match).where(Match.person_id == pid))
    await _delete(session, delete(ApiToken).where(ApiToken.person_id == pid))
    await _delete(session, delete(WebSession).where(WebSession.person_id == pid))
    # What their one-click links did (the links themselves stop: a placeholder's link resolves
    # to nobody); uses on their own calls went with the calls.
    await _delete(session, delete(LinkUse).where(LinkUse.person_id == pid))
    # Their referral share links (with the shares and visit counts they hold) go, and the
    # links lead nowhere from then on.
    await _delete(session, delete(ShareLink).where(ShareLink.person_id == pid))
    # Forwards they made or received stay, without them.
    for match in await session.scalars(select(Match).where(Match.forwarded_by_id == pid)):
        match.forwarded_by_id = None
        match.evidence = _without_name(match.evidence, name)
    await session.execute(
        update(Reply).where(Reply.forward_to_id == pid).values(forward_to_id=None)
    )
    if touched:
        for nudge in await session.scalars(
            select(Nudge).where(Nudge.call_id.in_(touched), Nudge.person_id != pid)
        ):
            nudge.payload = _without_name(nudge.payload, name)
    await _erase_facilitation(session, pid, name)
    kept = len(list(await session.scalars(select(Reply.id).where(Reply.person_id == pid))))
    _scrub(person)
    await session.flush()
    return Erasure(len(post_ids), vectors, len(call_ids), kept), post_ids


async def _erase_facilitation(session: AsyncSession, pid: int, name: str) -> None:
    """Introductions they made or received go (their notes name people); what those
    introductions told others keeps no name of theirs. Their ambassador link stops, and the
    record of whom they invited or who invited them goes."""
    made = (
        await session.execute(
            select(Introduction.id, Introduction.call_id, Introduction.person_id).where(
                Introduction.introducer_id == pid
            )
        )
    ).all()
    for intro_id, call_id, person_id in made:
        if call_id is not None:
            for match in await session.scalars(
                select(Match).where(Match.call_id == call_id, Match.person_id == person_id)
            ):
                match.evidence = _without_name(match.evidence, name)
        for nudge in await session.scalars(
            select(Nudge).where(Nudge.idempotency_key.like(f"intro:{intro_id}:%"))
        ):
            nudge.payload = _without_name(nudge.payload, name)
    await _delete(
        session,
        delete(Introduction).where(
            or_(
                Introduction.introducer_id == pid,
                Introduction.person_id == pid,
                Introduction.other_id == pid,
            )
        ),
    )
    await _delete(session, delete(Ambassador).where(Ambassador.person_id == pid))
    await _delete(
        session,
        delete(Invitation).where(
            or_(Invitation.colleague_id == pid, Invitation.ambassador_id == pid)
        ),
    )


async def _delete(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _scrub(person: Person) -> None:
    """The row stays (replies point at it) but names nobody and can do nothing."""
    person.handle = ERASED_HANDLE_PREFIX + secrets.token_hex(6)
    person.name = ERASED_NAME
    person.email = None
    person.department = None
    person.location = None
    person.languages = []
    person.bio = ""
    person.skills = []
    person.timezone = "UTC"
    person.availability = Availability.OPTED_OUT
    person.away_until = None
    person.channels = []
    person.webhook_url = None
    person.digest = False
    person.last_digest_at = None
    person.role = Role.MEMBER
    person.password_hash = None


def _without_name(value: Any, name: str) -> Any:
    """``value`` (JSON: text, lists, objects) with ``name`` replaced by the placeholder."""
    if isinstance(value, str):
        return value.replace(name, ERASED_NAME) if name else value
    if isinstance(value, list):
        return [_without_name(item, name) for item in value]
    if isinstance(value, dict):
        return {key: _without_name(item, name) for key, item in value.items()}
    return value


async def erase_by_handle(
    sessions: async_sessionmaker[AsyncSession], routing: RoutingService, handle: str
) -> Erasure | None:
    """Erase the person with ``handle``; None if nobody has it."""
    async with sessions() as session:
        person = await get_by_handle(session, handle)
    return None if person is None else await erase(sessions, routing, person.id)
