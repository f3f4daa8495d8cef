"""Facilitation rules under load, through a real server on SQLite and PostgreSQL: a manager's
weekly introductions hold however many are sent at once, and an invitation link counts a
colleague once, for the first ambassador, however many links they open at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from askhub.context import AppContext
from models import Introduction, Invitation, Nudge, Role
from tests.served import people_with_tokens, served
from tests.test_api import token_for

pytestmark = pytest.mark.db


async def test_fifty_concurrent_introductions_stop_at_the_managers_budget(
    org: AppContext,
) -> None:
    await people_with_tokens(org, "intro", 51)
    manager = await token_for(org, "noor.jansen", Role.MANAGER)
    async with served(org, introductions_per_week=5) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/introductions",
                    json={
                        "person": f"intro{n:03d}",
                        "other": f"intro{n + 1:03d}",
                        "note": f"Jullie werken allebei aan project {n}.",
                    },
                    headers=manager,
                )
                for n in range(50)
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [429] * 45, statuses
    left = sorted(r.json()["left_this_week"] for r in responses if r.status_code == 201)
    assert left == [0, 1, 2, 3, 4]
    async with org.sessions() as session:
        made = await session.scalar(select(func.count()).select_from(Introduction))
        # Two people told per introduction, in-app (no email or webhooks in the tests).
        told = await session.scalar(
            select(func.count()).select_from(Nudge).where(Nudge.idempotency_key.like("intro:%"))
        )
    assert made == 5 and told == 10


async def test_one_colleague_opening_two_ambassadors_links_fifty_times_counts_once(
    org: AppContext,
) -> None:
    manager = await token_for(org, "noor.jansen", Role.MANAGER)
    [colleague] = await people_with_tokens(org, "colleague", 1)
    async with served(org) as client:
        codes = []
        for handle in ("amy.chen", "mark.jones"):
            made = await client.put(f"/api/ambassadors/{handle}", headers=manager)
            assert made.status_code == 200, made.text
            codes.append(made.json()["link"].rsplit("/", 1)[1])
        responses = await asyncio.gather(
            *(client.post(f"/api/invitations/{codes[n % 2]}", headers=colleague) for n in range(50))
        )
        figures = {
            handle: (
                await client.get("/api/ambassadors/me", headers=await token_for(org, handle))
            ).json()["invited"]
            for handle in ("amy.chen", "mark.jones")
        }
    assert [r.status_code for r in responses] == [200] * 50
    bodies = [r.json() for r in responses]
    assert sum(b["recorded"] for b in bodies) == 1
    # Every answer names the one ambassador who got them, whichever link was opened.
    assert len({b["ambassador"]["handle"] for b in bodies}) == 1
    async with org.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invitation)) == 1
    assert sorted(figures.values()) == [0, 1]


async def test_forty_colleagues_opening_one_link_at_once_count_forty(org: AppContext) -> None:
    manager = await token_for(org, "noor.jansen", Role.MANAGER)
    colleagues = await people_with_tokens(org, "colleague", 40)
    async with served(org) as client:
        made = await client.put("/api/ambassadors/amy.chen", headers=manager)
        code = made.json()["link"].rsplit("/", 1)[1]
        responses = await asyncio.gather(
            *(client.post(f"/api/invitations/{code}", headers=auth) for auth in colleagues)
        )
        mine = await client.get("/api/ambassadors/me", headers=await token_for(org, "amy.chen"))
    assert all(r.status_code == 200 and r.json()["recorded"] for r in responses)
    assert mine.json()["invited"] == 40
