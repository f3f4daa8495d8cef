"""The read path's shortcuts show the same figures as the long way: a call's audience counted in
the database is the audience routing and reach use, and a token still names its person once
the check shares the request's session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from askhub.app import create_app
from askhub.auth.service import create_token
from askhub.context import AppContext
from askhub.routing.audience import audience_size, members
from models import Person
from tests.served import served
from tests.test_api import STAALBOUW, token_for
from tests.test_security_inputs import statements


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


AUDIENCES = [
    None,
    {"department": "netwerk"},
    {"language": "NL"},
    {"language": "en", "location": "Amsterdam"},
    {"department": "Network", "language": "nl"},
    {"location": "Nowhere"},
]


@pytest.mark.parametrize("audience", AUDIENCES)
async def test_audience_size_counts_the_members(org: AppContext, audience: dict | None) -> None:
    async with org.sessions() as session:
        someone = await session.scalar(select(Person.id).order_by(Person.id).limit(1))
        for exclude in (None, someone):
            expected = len(await members(session, audience, exclude=exclude))
            assert await audience_size(session, audience, exclude=exclude) == expected


async def test_a_read_shows_the_audience_without_the_asker_and_the_token_person(
    org: AppContext,
) -> None:
    async with org.sessions() as session, session.begin():
        people = list(await session.scalars(select(Person).order_by(Person.id)))
        asker, reader = people[0], people[1]
        asker_token = await create_token(session, asker)
        reader_token = await create_token(session, reader)
        everyone = len(people)
    async with served(org) as client:
        posted = await client.post(
            "/api/calls",
            headers={"Authorization": f"Bearer {asker_token}"},
            json={"kind": "question", "title": "Who knows about steel construction?"},
        )
        assert posted.status_code == 201, posted.text
        call_id = posted.json()["id"]
        for _ in range(2):  # the second read uses the figures the first computed
            read = await client.get(
                f"/api/calls/{call_id}", headers={"Authorization": f"Bearer {reader_token}"}
            )
            assert read.status_code == 200, read.text
            assert read.json()["reach"]["audience"] == everyone - 1
        me = await client.get("/api/people/me", headers={"Authorization": f"Bearer {reader_token}"})
        assert me.json()["handle"] == reader.handle
        # A refused request (404) still answers in the person's language, from request.user.
        missing = await client.get(
            "/api/calls/999999", headers={"Authorization": f"Bearer {reader_token}"}
        )
        assert missing.status_code == 404


async def test_a_read_of_a_call_is_three_statements_and_writes_nothing(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    """The token with its person, the call with its people, the replies: no ping, no second
    look-up of the reader, no write (the reader was not asked, and their token's use is already
    recorded this minute). Whoever the reader, the answer shows the people as before."""
    call = (
        await client.post("/api/calls", json=STAALBOUW, headers=await token_for(org, "asker"))
    ).json()
    asked = {m["person"]["handle"] for m in call["matches"]}
    async with org.sessions() as session:
        handles = set(await session.scalars(select(Person.handle)))
    reader = sorted(handles - asked - {"asker"})[0]
    auth = await token_for(org, reader)
    assert (await client.get("/api/people/me", headers=auth)).status_code == 200
    with statements() as seen:
        read = await client.get(f"/api/calls/{call['id']}", headers=auth)
    assert read.status_code == 200, read.text
    assert [s.split()[0] for _, s in seen] == ["SELECT"] * 3, seen
    assert read.json()["asker"] == call["asker"]
    # The asker sees every match, with the same people as when the call was posted.
    mine = await client.get(f"/api/calls/{call['id']}", headers=await token_for(org, "asker"))
    assert [m["person"] for m in mine.json()["matches"]] == [m["person"] for m in call["matches"]]


async def test_fifty_health_checks_at_once_each_see_the_database(
    client: AsyncTestClient[Any],
) -> None:
    """Health checks arriving together share one database check, and each still answers it."""
    answers = await asyncio.gather(*(client.get("/api/health") for _ in range(50)))
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["database"]["ok"] for a in answers} == {True}
    assert {a.json()["database"]["people"] for a in answers} == {12}
