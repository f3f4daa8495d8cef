"""Local accounts: argon2id password hashes, sign-in, and the sign-in rate limit.

``set_password`` is what the CLI (``askhub user set-password HANDLE``) calls.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
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
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"a password has at most {MAX_PASSWORD_LENGTH} characters", "password")


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


@dataclass(frozen=True)
class Attempt:
    """Places an attempt holds in the limiter's keys until it is known to have failed."""

    keys: tuple[str, ...]
    at: float


class LoginLimiter:
    """At most a number of failed attempts per key (a handle, a client address, a person's
    password check) in a sliding ``window`` of seconds.

    An attempt takes its place *before* the slow password check (:meth:`begin`) and gives it
    back only when it succeeds (:meth:`release`): however many arrive at once, no more than
    the limit are ever checked. Taking places has no ``await`` in it, so it is atomic on the
    event loop. In memory: per process, forgotten on restart. With N processes behind a load
    balancer an attacker gets at most N times the allowance."""

    MAX_KEYS = 100_000

    def __init__(
        self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def _wait(self, key: str, limit: int, now: float) -> int | None:
        failures = self._recent(key, now)
        if len(failures) < limit:
            return None
        return max(1, int(failures[-limit] + self.window - now + 0.999))

    def retry_after(self, key: str, limit: int | None = None) -> int | None:
        """Seconds until ``key`` may try again, or None when it may now."""
        return self._wait(key, limit or self.max_failures, self._clock())

    def _record(self, key: str, now: float) -> None:
        if len(self._failures) >= self.MAX_KEYS:
            for stale in list(self._failures):
                self._recent(stale, now)
        self._failures.setdefault(key, deque()).append(now)

    def begin(self, limits: dict[str, int]) -> Attempt | int:
        """Take a place in every key (key: its limit), or none: then the seconds to wait."""
        now = self._clock()
        waits = [w for key, limit in limits.items() if (w := self._wait(key, limit, now))]
        if waits:
            return max(waits)
        for key in limits:
            self._record(key, now)
        return Attempt(tuple(limits), now)

    def release(self, attempt: Attempt, forget: tuple[str, ...] = ()) -> None:
        """The attempt succeeded: give its places back; keys in ``forget`` lose all failures."""
        for key in attempt.keys:
            failures = self._failures.get(key)
            if failures is not None and attempt.at in failures:
                failures.remove(attempt.at)
                if not failures:
                    del self._failures[key]
        for key in forget:
            self._failures.pop(key, None)

    def failed(self, key: str) -> None:
        now = self._clock()
        self._recent(key, now)
        self._record(key, now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
