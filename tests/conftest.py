"""Shared fixtures: the real embedding model, a fresh database per test on SQLite or
PostgreSQL (``ASKHUB_TEST_DB=postgres``), and the test organisation in ``tests/data``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from askhub.context import AppContext
from askhub.imports.people import read_people_file
from askhub.people.service import upsert_people
from askhub.settings import Settings
from indexer.embedders import Embedder, load_embedder
from models.db import create_engine, upgrade
from tests.sinks import smtp_sink, webhook_receiver  # noqa: F401  (fixtures)

DATA = Path(__file__).resolve().parent / "data"
ORG = DATA / "org.jsonl"
POSTGRES_URL = os.environ.get(
    "ASKHUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ON_POSTGRES = os.environ.get("ASKHUB_TEST_DB", "sqlite") == "postgres"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that touch the database carry the "db" mark: the PostgreSQL run selects them.
    for item in items:
        if {"context", "database_url", "org"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder()


async def _reset_postgres() -> None:
    engine = create_async_engine(POSTGRES_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    except OSError as exc:  # connection refused: say so, never skip silently
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    finally:
        await engine.dispose()


@pytest.fixture
async def database_url(tmp_path: Path) -> str:
    """An empty, migrated database for one test."""
    if ON_POSTGRES:
        await _reset_postgres()
        url = POSTGRES_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'askhub.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The scheduler runs only where a test starts it; ticks are called directly elsewhere.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "var",
        scheduler=False,
        smtp_enabled=False,
        webhook_enabled=False,
        base_url="http://askhub.test",
    )


@pytest.fixture
async def context(settings: Settings, embedder: Embedder) -> AsyncIterator[AppContext]:
    ctx = AppContext.create(settings, embedder)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def org(context: AppContext) -> AppContext:
    """The context with the bilingual test organisation imported and embedded."""
    records = read_people_file(ORG)
    async with context.sessions() as session, session.begin():
        await upsert_people(session, records)
    await context.routing.embed_missing(context.sessions)
    return context


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(ASKHUB_DATABASE_URL=database_url, ASKHUB_DATA_DIR=str(tmp_path / "var"))
    # The CLI speaks the terminal's language (LANG); the tests read English unless they say.
    env.update(ASKHUB_LANG="en")
    yield env
