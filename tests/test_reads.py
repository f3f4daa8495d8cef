"""The read path's shortcuts show the same figures as the long way: a call's audience counted in
the database is the audience routing and reach use, and a token still names its person once
the check shares the request's session."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from askhub.auth.service import create_token
from askhub.context import AppContext
from askhub.routing.audience import audience_size, members
from models import Person
from tests.served import served

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
