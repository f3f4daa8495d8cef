"""Helpers for the web page tests (no tests here): a signed-in test client and forms with
their CSRF token, the way a browser sends them."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from askhub.app import create_app
from askhub.context import AppContext
from askhub.web.accounts import set_password
from models import Person, Role

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')

Client = AsyncTestClient[Any]


async def with_passwords(
    ctx: AppContext, handles: Iterable[str], roles: dict[str, Role] | None = None
) -> None:
    """Give people a password (and a role); a high nudge budget so tests can ask them often."""
    async with ctx.sessions() as session, session.begin():
        for handle in handles:
            person = await session.scalar(select(Person).where(Person.handle == handle))
            assert person is not None, handle
            await set_password(session, person, PASSWORD)
            person.nudge_budget_per_week = 50
            if roles and handle in roles:
                person.role = roles[handle]


@asynccontextmanager
async def web_client(
    ctx: AppContext, client_url: str = "http://testserver.local", **settings: Any
) -> AsyncIterator[Client]:
    app = create_app(settings=replace(ctx.settings, **settings), embedder=ctx.routing.embedder)
    async with AsyncTestClient(app=app, base_url=client_url) as client:
        yield client


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no form with a CSRF token"
    return html.unescape(found.group(1))


async def submit(
    client: Client, page: str, action: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """POST a form as a browser would: with the CSRF token from the page it was on."""
    response = await client.get(page, headers=kwargs.get("headers"))
    assert response.status_code == 200, (page, response.status_code, response.text[:500])
    form = {"_csrf_token": csrf_of(response.text), **(data or {})}
    kwargs.setdefault("follow_redirects", False)
    return await client.post(action, data=form, **kwargs)


async def sign_in(client: Client, handle: str, password: str = PASSWORD) -> Any:
    response = await submit(client, "/login", "/login", {"handle": handle, "password": password})
    assert response.status_code == 303, response.text[:500]
    return response


def text_of(page: str) -> str:
    """The page's text with tags dropped and entities resolved, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
