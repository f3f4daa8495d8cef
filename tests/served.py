"""Helpers (no tests here): the app served by a real uvicorn on a loopback port, in the test's
event loop, so many requests can be in flight at once (Litestar's test client runs one request
at a time), and people with API tokens made in bulk."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import uvicorn

from askhub.app import create_app
from askhub.auth.service import create_token
from askhub.cli import server_config
from askhub.context import AppContext
from models import Person


@asynccontextmanager
async def served(ctx: AppContext, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app served on 127.0.0.1, with its own context (as a separate
    server process would have)."""
    app = create_app(settings=replace(ctx.settings, **settings), embedder=ctx.routing.embedder)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # As `askhub serve` runs it (its proxy-header handling matters to the tests).
    server = uvicorn.Server(server_config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.01)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120
        ) as client:
            yield client
    finally:
        server.should_exit = True
        await task
        sock.close()


async def people_with_tokens(ctx: AppContext, prefix: str, count: int) -> list[dict[str, str]]:
    """``count`` new people, each with an API token; their Authorization headers."""
    headers = []
    async with ctx.sessions() as session, session.begin():
        for number in range(count):
            person = Person(handle=f"{prefix}{number:03d}", name=f"Volunteer {number}")
            session.add(person)
            await session.flush()
            token = await create_token(session, person)
            headers.append({"Authorization": f"Bearer {token}"})
    return headers
