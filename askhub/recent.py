"""Figures a page shows on every request but that change slowly (how many people an audience
holds, the organisation's yes-rates): computed at most every ``max_age`` seconds per process
and database, instead of a count over 100k rows per read."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncSession

V = TypeVar("V")


class Recent(Generic[V]):
    """Values by key, each reused for ``max_age`` seconds, kept per database engine (tests and
    tools open several databases in one process; a disposed engine takes its values along)."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._by_engine: WeakKeyDictionary[Any, dict[Hashable, tuple[float, V]]] = (
            WeakKeyDictionary()
        )

    async def get(
        self, session: AsyncSession, key: Hashable, compute: Callable[[], Awaitable[V]]
    ) -> V:
        engine = session.sync_session.get_bind()
        known = self._by_engine.setdefault(engine, {})
        now = time.monotonic()
        found = known.get(key)
        if found is not None and now - found[0] < self.max_age:
            return found[1]
        value = await compute()
        known[key] = (now, value)
        return value
