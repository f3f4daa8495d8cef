"""Database configuration, async engine/session helpers and the migration entry point."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

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


# A pooled PostgreSQL connection that sat unused this long is checked before it is handed out.
IDLE_CHECK_SECONDS = 2.0


def _note_idle(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _check_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Instead of SQLAlchemy's pre-ping on every checkout (three round trips on asyncpg:
    BEGIN, an empty statement, ROLLBACK; a quarter of a plain read's), only a connection idle
    for a while is checked: one a database restart may have cut while nobody used it. One
    that is busy and gets cut fails its statement instead: SQLAlchemy then replaces every
    pooled connection older than the failure, and the request answers 503 with Retry-After
    (askhub.errors.database_error)."""
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_CHECK_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        # The server went away: this connection and every other pooled one are replaced, and
        # the pool hands out a new one.
        raise InvalidatePoolError(f"idle connection failed its check: {exc!r}") from exc


def create_engine(url: str | None = None) -> AsyncEngine:
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url)
    event.listen(engine.sync_engine.pool, "checkin", _note_idle)
    event.listen(engine.sync_engine.pool, "checkout", _check_if_idle)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def read_without_transaction(session: AsyncSession) -> None:
    """Before a session's first statement: on PostgreSQL, run its statements without BEGIN and
    COMMIT (autocommit). Under READ COMMITTED each statement of a transaction sees its own
    snapshot anyway, so for work that only reads they were two round trips that changed nothing.
    SQLite keeps its transaction: one snapshot for all the statements, and BEGIN there costs no
    round trip. Anything written in such a session commits statement by statement."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


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
