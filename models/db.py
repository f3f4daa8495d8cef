"""Database configuration, async engine/session helpers and the migration entry point."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def data_dir() -> Path:
    """``ASKHUB_DATA_DIR``, default ``./var``: the SQLite file, the FAISS index, caches."""
    return Path(os.environ.get("ASKHUB_DATA_DIR", "var")).resolve()


def database_url() -> str:
    """``ASKHUB_DATABASE_URL``, default an SQLite file in the data dir."""
    url = os.environ.get("ASKHUB_DATABASE_URL")
    if url:
        return url
    return f"sqlite+aiosqlite:///{data_dir() / 'askhub.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the API) run while the scheduler writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL is SQLite's advice for WAL: no fsync per commit, and a process crash still loses
    # nothing (only a power cut may drop the last commits; the database stays consistent).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str | None = None) -> AsyncEngine:
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work commits together or not at all."""
    async with sessions() as session, session.begin():
        yield session


class MigrationRefused(RuntimeError):
    """A migration found data it must not guess about; nothing was changed. The message says
    what to fix (``askhub db upgrade`` prints it as one line and exits with code 2)."""


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` on this engine's database."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)
