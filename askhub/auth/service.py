"""Bearer tokens. Random 256-bit secrets, so a fast SHA-256 is the right stored form (a slow
password hash buys nothing against guessing 2^256, and would slow every request)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import ApiToken, Person

TOKEN_PREFIX = "ah_"
# How stale ``last_used_at`` may get: recording every use made every API request a write.
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, person: Person) -> str:
    """A new token for ``person``; only its hash is stored, so it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=person.id, token_hash=hash_token(token)))
    await session.flush()
    return token


async def person_for_token(session: AsyncSession, token: str) -> Person | None:
    row = (
        await session.execute(
            select(ApiToken, Person)
            .join(Person, Person.id == ApiToken.person_id)
            .where(ApiToken.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        return None
    api_token, person = row
    await _touch(session, api_token, datetime.now(UTC))
    return person


async def _touch(session: AsyncSession, api_token: ApiToken, now: datetime) -> None:
    """Record a use at most once a minute per token; other uses write nothing."""
    stale = now - TOUCH_EVERY
    if api_token.last_used_at is not None and api_token.last_used_at > stale:
        return
    await session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == api_token.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
