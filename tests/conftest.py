"""Shared fixtures: the real embedding model, a fresh database per test on SQLite or
PostgreSQL (``ASKHUB_TEST_DB=postgres``), and the test organisation in ``tests/data``."""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from askhub.context import AppContext
from askhub.imports.people import read_people_file
from askhub.people.service import upsert_people
from askhub.settings import Settings
from indexer.embedders import Embedder, load_embedder
from models import Person
from models.db import create_engine, upgrade
from tests.sinks import smtp_sink, webhook_receiver  # noqa: F401  (fixtures)

DATA = Path(__file__).resolve().parent / "data"
ORG = DATA / "org.jsonl"
POSTGRES_URL = os.environ.get(
    "ASKHUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ON_POSTGRES = os.environ.get("ASKHUB_TEST_DB", "sqlite") == "postgres"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that touch the database carry the "db" mark: the PostgreSQL run selects them. Those
    # marked "sqlite_only" need a database but test nothing a database decides (how a bad
    # setting is reported, response headers, which webhook URLs are refused), so PostgreSQL
    # would only repeat them.
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            continue
        if {"context", "database_url", "org"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="module", autouse=True)
def _long_lived_objects_leave_the_collector() -> None:
    """What is alive when a module starts (the model, templates, imported code: hundreds of
    thousands of objects) lives for the session: ``gc.freeze`` keeps the collector from walking
    it again at every full collection. Measured on test_security_inputs, test_web_pages,
    test_api and test_dashboard, with and without, side by side at load 9-10: collections took
    56 s of 184 without, 34 s of 166 with. Garbage is still collected as before."""
    gc.collect()
    gc.freeze()


class Remembering:
    """The real embedding model, remembering each text's vector for the test session.

    Many tests embed the same texts (the development dumps are imported by several modules, the
    same questions are routed again and again); the model is deterministic, so a text's vector
    is computed once. Every code path still calls ``encode``; only repeated inference is saved.
    """

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self._known: dict[str, NDArray[np.float32]] = {}

    @property
    def model_id(self) -> str:
        return self.model.model_id

    @property
    def dim(self) -> int:
        return self.model.dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        new = [text for text in dict.fromkeys(texts) if text not in self._known]
        if new:
            self._known.update(zip(new, self.model.encode(new), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._known[text] for text in texts])


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The model, loaded once. The database templates embed with it whatever ``embedder`` a
    module swaps in (a function-scoped override would not even be reachable from them).

    One BLAS thread unless ASKHUB_EMBED_THREADS (the server's setting) says otherwise: at load
    10-11, encoding 192 dump posts took 3.1x longer with two threads than with one (three
    rounds each, same process); whether two pay on an idle CI machine is unmeasured."""
    return Remembering(load_embedder(threads=int(os.environ.get("ASKHUB_EMBED_THREADS", "1"))))


@pytest.fixture(scope="session")
def embedder(real_embedder: Embedder) -> Embedder:
    return real_embedder


async def _reset_postgres(url: str = POSTGRES_URL) -> None:
    """Empty the database at ``url`` (by default the configured one): no tables at all."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    except OSError as exc:  # connection refused: say so, never skip silently
        pytest.fail(f"PostgreSQL at {url} is not reachable: {exc}")
    finally:
        await engine.dispose()


# -- one fresh database per test, copied from templates built once per session -----------------
#
# Migrating (eight Alembic revisions), importing the test organisation and embedding its posts
# with the real model cost seconds per test, paid again by every test. They are done once per
# session into two templates, "migrated" and "org" (migrated, imported and embedded), and each
# test gets a fresh copy of one: a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL
# (databases named after the configured one, so two helpers' runs never share one). Every test
# still starts from its own untouched database, exactly as if it had migrated and imported.


def _pg_url(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _pg_name(suffix: str) -> str:
    return f"{make_url(POSTGRES_URL).database}_{suffix}"


async def _pg_admin(*statements: str) -> None:
    """Statements outside a transaction (CREATE/DROP DATABASE), on the configured database."""
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    except OSError as exc:  # connection refused: say so, never skip silently
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    finally:
        await engine.dispose()


async def _fresh_pg(name: str, template: str | None = None) -> str:
    copy = f" TEMPLATE {template}" if template else ""
    await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}{copy}")
    return _pg_url(name)


async def _import_org(url: str, data_dir: Path, embedder: Embedder) -> None:
    ctx = AppContext.create(_settings(url, data_dir), embedder)
    try:
        async with ctx.sessions() as session, session.begin():
            await upsert_people(session, read_people_file(ORG))
        await ctx.routing.embed_missing(ctx.sessions)
    finally:
        await ctx.close()


@pytest.fixture(scope="session")
async def templates(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> dict[str, str]:
    """The "migrated" and "org" templates: SQLite file paths or PostgreSQL database names."""
    found: dict[str, str] = {}
    root = tmp_path_factory.mktemp("templates")
    for kind in ("migrated", "org"):
        if ON_POSTGRES:
            found[kind] = _pg_name(f"template_{kind}")
            url = await _fresh_pg(found[kind])
        else:
            found[kind] = str(root / f"{kind}.db")
            url = f"sqlite+aiosqlite:///{found[kind]}"
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        if kind == "org":
            await _import_org(url, root / "var", real_embedder)
    return found


async def copy_of(template: str, name: str, folder: Path) -> str:
    """A new database ``name`` (a file in ``folder`` on SQLite) holding exactly what
    ``template`` holds; its URL. ``template`` is what a template fixture returned."""
    if ON_POSTGRES:
        return await _fresh_pg(_pg_name(name), template)
    copy = folder / f"{name}.db"
    shutil.copyfile(template, copy)
    return f"sqlite+aiosqlite:///{copy}"


def template_of(url: str) -> str:
    """What :func:`copy_of` copies from, for the database at ``url`` (no connection may stay
    open to it: PostgreSQL copies only an idle database)."""
    return make_url(url).database or ""


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, templates: dict[str, str]
) -> str:
    """An empty, migrated database for one test; with the test organisation in it when the
    test uses ``org`` (see the templates above). A module whose tests all read the same
    expensive data may put a ``module_template`` fixture (a template built by
    :func:`copy_of` from ``templates["migrated"]`` and filled once) in their place."""
    if "module_template" in request.fixturenames:
        template = request.getfixturevalue("module_template")
    else:
        template = templates["org" if "org" in request.fixturenames else "migrated"]
    return await copy_of(template, "run" if ON_POSTGRES else "askhub", tmp_path)


def _settings(database_url: str, data_dir: Path) -> Settings:
    # The scheduler runs only where a test starts it; ticks are called directly elsewhere.
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        scheduler=False,
        smtp_enabled=False,
        webhook_enabled=False,
        base_url="http://askhub.test",
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return _settings(database_url, tmp_path / "var")


@pytest.fixture
async def context(settings: Settings, embedder: Embedder) -> AsyncIterator[AppContext]:
    ctx = AppContext.create(settings, embedder)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def org(context: AppContext) -> AppContext:
    """The context with the bilingual test organisation imported and embedded (copied from the
    "org" template by ``database_url``)."""
    async with context.sessions() as session:
        people = await session.scalar(select(func.count()).select_from(Person))
    assert people == len(read_people_file(ORG)), "the database was not copied from the org template"
    return context


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(ASKHUB_DATABASE_URL=database_url, ASKHUB_DATA_DIR=str(tmp_path / "var"))
    # The CLI speaks the terminal's language (LANG); the tests read English unless they say.
    env.update(ASKHUB_LANG="en")
    yield env
