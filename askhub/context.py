"""What every request and command shares: settings, the database and the routing index."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

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
