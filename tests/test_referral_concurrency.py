"""A referral's counters hold when many requests arrive at once, through a real server, on
SQLite and PostgreSQL: 50 simultaneous visits of one share link count 50, and one person
asking for their share link 20 times at once gets one link."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from askhub.context import AppContext
from models import ShareLink, ShareVisits
from tests.served import served
from tests.test_api import token_for

pytestmark = pytest.mark.db

VACANCY = "https://werkenbij.example/vacatures/42"
REFERRAL = {
    "kind": "referral",
    "title": "Vacature: constructeur staalbouw",
    "body": "Ken jij een constructeur die staalbouw beheerst?",
    "url": VACANCY,
}
BROWSER = {"user-agent": "Mozilla/5.0 (Android 14) AppleWebKit/537.36 Chrome/120 Mobile"}


async def test_fifty_concurrent_visits_count_fifty(org: AppContext) -> None:
    async with served(org) as client:
        created = await client.post(
            "/api/calls", json=REFERRAL, headers=await token_for(org, "asker")
        )
        assert created.status_code == 201, created.text
        call_id = created.json()["id"]
        mine = await client.get(
            f"/api/calls/{call_id}/share-link", headers=await token_for(org, "sanne.visser")
        )
        path = "/r/" + mine.json()["link"].rsplit("/r/", 1)[1]
        responses = await asyncio.gather(
            *(client.get(path, headers=BROWSER, follow_redirects=False) for _ in range(50))
        )
        # A HEAD and a robot in the crowd are led on but not counted.
        extra = await asyncio.gather(
            client.head(path, headers=BROWSER, follow_redirects=False),
            client.get(path, headers={"user-agent": "LinkedInBot/1.0"}, follow_redirects=False),
        )
    assert [r.status_code for r in responses] == [302] * 50
    assert {r.headers["location"] for r in responses} == {VACANCY}
    assert not any("set-cookie" in r.headers for r in [*responses, *extra])
    assert [r.status_code for r in extra] == [302, 302]
    async with org.sessions() as session:
        counted = await session.scalar(select(func.sum(ShareVisits.visits)))
        rows = await session.scalar(select(func.count()).select_from(ShareVisits))
    assert counted == 50
    assert rows == 1  # one counter for the link and the day


async def test_twenty_concurrent_requests_for_a_share_link_make_one(org: AppContext) -> None:
    async with served(org) as client:
        created = await client.post(
            "/api/calls", json=REFERRAL, headers=await token_for(org, "asker")
        )
        call_id = created.json()["id"]
        auth = await token_for(org, "mark.jones")
        responses = await asyncio.gather(
            *(client.get(f"/api/calls/{call_id}/share-link", headers=auth) for _ in range(20))
        )
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses][:3]
    assert len({r.json()["link"] for r in responses}) == 1
    async with org.sessions() as session:
        links = await session.scalar(select(func.count()).select_from(ShareLink))
    assert links == 1
