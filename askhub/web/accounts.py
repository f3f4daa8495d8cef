"""The sign-in rate limit of the web pages. Passwords live in ``askhub.auth.accounts``
(re-exported here for the pages and tests that import them from this module)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from askhub.auth.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    authenticate,
    check_password,
    clear_password,
    hash_password,
    set_password,
)

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Attempt",
    "LoginLimiter",
    "authenticate",
    "check_password",
    "clear_password",
    "hash_password",
    "set_password",
]


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
