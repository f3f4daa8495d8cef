"""Your own API tokens through the API: list them (never the secret), revoke one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from askhub.app import create_app
from askhub.context import AppContext
from tests.test_api import token_for


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def test_list_and_revoke_your_own_tokens(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    first, second = await token_for(org, "tom.bakker"), await token_for(org, "tom.bakker")
    other = await token_for(org, "eva.brown")
    listed = await client.get("/api/tokens", headers=first)
    assert listed.status_code == 200
    mine = listed.json()
    assert len(mine) == 2 and set(mine[0]) == {"id", "created_at", "last_used_at", "expires_at"}
    others = (await client.get("/api/tokens", headers=other)).json()
    assert len(others) == 1 and others[0]["id"] not in {t["id"] for t in mine}
    # Someone else's token is not yours to revoke.
    assert (await client.delete(f"/api/tokens/{others[0]['id']}", headers=first)).status_code == 404
    # Revoke the second token with the first: the second stops working at once.
    second_id = max(t["id"] for t in mine)
    assert (await client.delete(f"/api/tokens/{second_id}", headers=first)).status_code == 204
    assert (await client.get("/api/tokens", headers=second)).status_code == 401
    assert len((await client.get("/api/tokens", headers=first)).json()) == 1
    assert (await client.get("/api/tokens", headers=other)).status_code == 200
