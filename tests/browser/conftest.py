"""Real Chromium against a real AskHub server: one server for the module (uvicorn in a thread of
this process, so the embedding model is loaded once), one browser, a fresh browser context per
person and viewport.

They run on SQLite only (no ``db`` mark): what they prove is what a browser shows and does;
the same pages' database work runs on PostgreSQL too in the HTTP-level tests
(``tests/test_web_*.py``, marked ``db`` through their ``org`` fixture).

Chromium is Debian's (``apt-get install chromium``) driven by Playwright for Python; without it
the tests are skipped, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from askhub.app import create_app
from askhub.context import AppContext
from askhub.imports.people import read_people_file
from askhub.people.service import upsert_people
from askhub.settings import Settings
from askhub.web.accounts import set_password
from indexer.embedders import Embedder
from models import Person
from models.db import create_engine, upgrade
from tests.conftest import ON_POSTGRES, ORG, POSTGRES_URL, _reset_postgres

PASSWORD = "correct horse battery"
PEOPLE = ["asker", "sanne.visser", "mark.jones", "amy.chen", "joost.smit", "eva.brown"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("ASKHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORTS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@dataclass
class Server:
    url: str
    settings: Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(settings: Settings, embedder: Embedder) -> None:
    if ON_POSTGRES:
        await _reset_postgres()
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    context = AppContext.create(settings, embedder)
    try:
        async with context.sessions() as session, session.begin():
            await upsert_people(session, read_people_file(ORG))
        await context.routing.embed_missing(context.sessions)
        async with context.sessions() as session, session.begin():
            for handle in PEOPLE:
                person = await session.scalar(select(Person).where(Person.handle == handle))
                assert person is not None
                await set_password(session, person, PASSWORD)
                person.nudge_budget_per_week = 50
    finally:
        await context.close()


@pytest.fixture(scope="module")
def chromium_path() -> str:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
async def server(
    chromium_path: str, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    import uvicorn

    root = tmp_path_factory.mktemp("browser")
    port = _free_port()
    settings = Settings(
        database_url=POSTGRES_URL if ON_POSTGRES else f"sqlite+aiosqlite:///{root / 'askhub.db'}",
        data_dir=root / "var",
        scheduler=False,
        smtp_enabled=False,
        webhook_enabled=False,
        base_url=f"http://127.0.0.1:{port}",
        max_open_asks=100,
    )
    await _prepare(settings, embedder)
    app = create_app(settings=settings, embedder=embedder)
    uv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=uv.run, name="askhub-browser-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the AskHub server did not start")
        await asyncio.sleep(0.05)
    try:
        yield Server(url=settings.base_url, settings=settings)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
def screenshots() -> Iterator[Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield SCREENSHOTS
