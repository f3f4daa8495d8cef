"""Bearer tokens and web sessions. Both are random 256-bit secrets, so a fast SHA-256 is the
right stored form (a slow password hash buys nothing against guessing 2^256, and would slow
every request). Also: which client address a request came from."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.settings import Network
from models import ApiToken, Person, WebSession

TOKEN_PREFIX = "ah_"
# How stale ``last_used_at`` may get: recording every use made every API request a write.
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    session: AsyncSession, person: Person, expires_at: datetime | None = None
) -> str:
    """A new token for ``person``, valid until ``expires_at`` (None: until revoked); only its
    hash is stored, so it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=person.id, token_hash=hash_token(token), expires_at=expires_at))
    await session.flush()
    return token


async def person_for_token(session: AsyncSession, token: str) -> Person | None:
    """The person of a valid token: known, not revoked (deleted), not expired."""
    found = await token_owner(session, token)
    return found[0] if found else None


# Built once: composing it cost a tenth of a millisecond on every authenticated request.
_TOKEN_OWNER = (
    select(ApiToken, Person)
    .join(Person, Person.id == ApiToken.person_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


async def token_owner(session: AsyncSession, token: str) -> tuple[Person, bool] | None:
    """The person of a valid token, and whether its "last used" stamp was written (at most
    once a minute: then the caller should commit soon, or it holds SQLite's write lock)."""
    now = datetime.now(UTC)
    row = (await session.execute(_TOKEN_OWNER, {"token_hash": hash_token(token)})).first()
    if row is None:
        return None
    api_token, person = row
    if api_token.expires_at is not None and api_token.expires_at <= now:
        return None
    return person, await _touch(session, api_token, now)


async def _touch(session: AsyncSession, api_token: ApiToken, now: datetime) -> bool:
    """Record a use at most once a minute per token; other uses write nothing."""
    stale = now - TOUCH_EVERY
    if api_token.last_used_at is not None and api_token.last_used_at > stale:
        return False
    await session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == api_token.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return True


async def list_tokens(
    session: AsyncSession, handle: str | None = None
) -> list[tuple[ApiToken, str]]:
    """Tokens with their person's handle, oldest first (of one person, or everyone's)."""
    query = (
        select(ApiToken, Person.handle)
        .join(Person, Person.id == ApiToken.person_id)
        .order_by(ApiToken.id)
    )
    if handle is not None:
        query = query.where(Person.handle == handle)
    return [(token, owner) for token, owner in (await session.execute(query)).all()]


async def revoke_tokens(
    session: AsyncSession, ids: Sequence[int] = (), handle: str | None = None
) -> int:
    """Delete tokens by id, or all of ``handle``'s; how many there were. A revoked token is
    refused from the next request on."""
    if not ids and handle is None:
        return 0
    query = delete(ApiToken)
    if ids:
        query = query.where(ApiToken.id.in_(list(ids)))
    if handle is not None:
        owner = select(Person.id).where(Person.handle == handle).scalar_subquery()
        query = query.where(ApiToken.person_id == owner)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def revoke_own_token(session: AsyncSession, person: Person, token_id: int) -> bool:
    """Revoke one of ``person``'s tokens; False if they have none with that id."""
    result = await session.execute(
        delete(ApiToken).where(ApiToken.id == token_id, ApiToken.person_id == person.id)
    )
    return bool(getattr(result, "rowcount", 0))


# -- web sessions -------------------------------------------------------------------------------


async def start_session(
    session: AsyncSession, person: Person, max_age: int, now: datetime | None = None
) -> str:
    """A new web session for ``person``; the returned id goes into the (signed) cookie, only
    its hash is stored. The person's expired sessions are cleared on the way."""
    now = now or datetime.now(UTC)
    await session.execute(
        delete(WebSession).where(WebSession.person_id == person.id, WebSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=hash_token(token),
            person_id=person.id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
    )
    await session.flush()
    return token


async def person_for_session(session: AsyncSession, token: str) -> Person | None:
    """The person of a live session: not ended, not expired."""
    return await session.scalar(
        select(Person)
        .join(WebSession, WebSession.person_id == Person.id)
        .where(
            WebSession.token_hash == hash_token(token),
            WebSession.expires_at > datetime.now(UTC),
        )
    )


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


async def end_sessions(session: AsyncSession, person: Person) -> int:
    """End every web session of ``person`` (sign out everywhere; a password change)."""
    result = await session.execute(delete(WebSession).where(WebSession.person_id == person.id))
    return int(getattr(result, "rowcount", 0) or 0)


def _trusted(address: str, trusted: Sequence[Network]) -> bool | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return any(ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str:
    """The address a request came from, for limits and logs.

    ``X-Forwarded-For`` is believed only as far as trusted proxies wrote it: when the peer is
    one, its hops are read from the right (nearest first), skipping trusted proxies; the first
    address that is not one is the client. Without trusted proxies (the default) the header is
    ignored: anyone can write it."""
    if not peer:
        return "?"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    nearest = peer
    for hop in reversed(hops):
        verdict = _trusted(hop, trusted)
        if verdict is None:  # not an address: the chain is broken here
            return nearest
        if not verdict:
            return hop
        nearest = hop
    return nearest


async def person_by_identity(db: AsyncSession, value: str, field: str) -> Person | None:
    """The one person a sign-in proxy's header names, by the field the deployment chose
    (``ASKHUB_AUTH_HEADER_FIELD``: handle or email), or None: never a guess from another
    field, and never one of two."""
    value = value.strip().lower()
    if not value:
        return None
    column = func.lower(Person.email) if field == "email" else Person.handle
    found = (await db.scalars(select(Person).where(column == value).limit(2))).all()
    return found[0] if len(found) == 1 else None
