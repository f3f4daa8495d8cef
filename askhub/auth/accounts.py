"""Local accounts: argon2id password hashes and sign-in by password.

The web pages and the CLI (``askhub user set-password HANDLE``) both call these; the sign-in
rate limit is the web's (``askhub.web.accounts``).
"""

from __future__ import annotations

from functools import lru_cache

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.auth.service import end_sessions
from askhub.people.service import get_by_handle
from askhub.validation import InputError
from models import Person

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~0.1 s a check on a
# small server, so sign-in stays quick and cannot be used to burn the CPU. Hashes made with
# other parameters are upgraded at the next sign-in (check_needs_rehash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the handle is unknown, so timing does not tell which handles exist.
    return _hasher.hash("askhub: no such account")


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            "a password needs at least {n} characters", "password", n=MIN_PASSWORD_LENGTH
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError("a password has at most {n} characters", "password", n=MAX_PASSWORD_LENGTH)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def set_password(session: AsyncSession, person: Person, password: str) -> None:
    """Set (or replace) ``person``'s password; this also ends all their web sessions (the
    page that changed it starts a fresh one for itself)."""
    person.password_hash = await anyio.to_thread.run_sync(hash_password, password)
    await end_sessions(session, person)
    await session.flush()


async def clear_password(session: AsyncSession, person: Person) -> None:
    """No more password sign-in for ``person`` (their sessions end too)."""
    person.password_hash = None
    await end_sessions(session, person)
    await session.flush()


async def authenticate(session: AsyncSession, handle: str, password: str) -> Person | None:
    """The person with this handle and password, or None (same work either way)."""
    handle = handle.strip().lower()
    person = await get_by_handle(session, handle) if handle else None
    stored = person.password_hash if person is not None else None
    if person is None or stored is None or len(password) > MAX_PASSWORD_LENGTH:
        await anyio.to_thread.run_sync(_verify, _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return None
    if not await anyio.to_thread.run_sync(_verify, stored, password):
        return None
    if _hasher.check_needs_rehash(stored):
        person.password_hash = await anyio.to_thread.run_sync(_hasher.hash, password)
    return person
