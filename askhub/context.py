"""What every request and command shares: settings, the database and the routing index."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from askhub.routing.follower import IndexFollower
from askhub.routing.service import RoutingService
from askhub.settings import Settings
from indexer.embedders import Embedder
from models.db import create_engine, session_factory


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    routing: RoutingService
    # Rounds of each scheduler job finished in this process (``/api/health`` reports them):
    # whether the clock runs, and something to wait on instead of sleeping.
    rounds: Counter[str] = field(default_factory=Counter)
    # Keeps the routing index in step in the background while the app serves (None elsewhere).
    follower: IndexFollower | None = None

    @classmethod
    def create(cls, settings: Settings, embedder: Embedder | None = None) -> AppContext:
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            routing=RoutingService(settings, embedder),
        )

    async def close(self) -> None:
        await self.engine.dispose()
