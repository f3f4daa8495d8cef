"""Import the bilingual test organisation and check who calls reach, on the real model."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from askhub.context import AppContext
from askhub.people.schemas import PostCreate
from askhub.people.service import create_post, get_by_handle
from askhub.routing.service import RoutingService
from models import Availability, Person


async def route(ctx: AppContext, text: str, k: int = 5, **kwargs: object) -> list[str]:
    async with ctx.sessions() as session:
        routed = await ctx.routing.route(session, text, k=k, **kwargs)  # type: ignore[arg-type]
    return [r.person.handle for r in routed]


async def person(ctx: AppContext, handle: str) -> Person:
    async with ctx.sessions() as session:
        found = await get_by_handle(session, handle)
    assert found is not None
    return found


async def test_a_call_nobody_knows_about_reaches_nobody(org: AppContext) -> None:
    assert await route(org, "quantum computing") == []


async def test_staalbouw_reaches_the_steel_experts_in_both_languages(org: AppContext) -> None:
    asker = await person(org, "asker")
    top = await route(org, "Wie weet iets van staalbouw?", k=3, exclude={asker.id})
    assert set(top[:2]) == {"sanne.visser", "mark.jones"}
    assert "asker" not in top


async def test_dutch_call_finds_the_english_only_expert(org: AppContext) -> None:
    top = await route(org, "Wie heeft ervaring met zonnepanelen op het dak van een kantoor?")
    assert top[0] == "eva.brown"


async def test_english_call_finds_the_dutch_only_expert(org: AppContext) -> None:
    top = await route(org, "Who knows the privacy rules for keeping customer data?")
    assert top[0] == "fatima.elamrani"
    top = await route(org, "Who has laid fibre optic cables in new housing estates?")
    assert top[0] == "henk.mulder"


async def test_matches_carry_their_evidence(org: AppContext) -> None:
    async with org.sessions() as session:
        routed = await org.routing.route(session, "modem firmware testers needed", k=3)
    assert routed[0].person.handle == "amy.chen"
    reasons = routed[0].reasons
    assert reasons and any("firmware" in str(r["snippet"]).lower() for r in reasons)
    assert any("firmware" in r["matched_terms"] for r in reasons)  # type: ignore[operator]
    # "needed" is call glue, not a topic: only the people with modem or firmware evidence rank.
    assert [r.rank for r in routed] == list(range(1, len(routed) + 1)) and len(routed) >= 2
    assert all(a.score >= b.score for a, b in itertools.pairwise(routed))


async def test_opted_out_and_away_people_are_skipped_and_the_list_refilled(
    org: AppContext,
) -> None:
    async with org.sessions() as session, session.begin():
        sanne = await get_by_handle(session, "sanne.visser")
        mark = await get_by_handle(session, "mark.jones")
        assert sanne and mark
        sanne.availability = Availability.OPTED_OUT
        mark.availability = Availability.AWAY
        mark.away_until = datetime.now(UTC) + timedelta(days=3)
    top = await route(org, "staalbouw en stalen liggers", k=3)
    assert "sanne.visser" not in top and "mark.jones" not in top
    assert top[0] == "asker"  # the next person with staalbouw evidence moves up
    # Once the away date has passed, Mark is asked again.
    async with org.sessions() as session, session.begin():
        mark = await get_by_handle(session, "mark.jones")
        assert mark
        mark.away_until = datetime.now(UTC) - timedelta(hours=1)
    assert "mark.jones" in await route(org, "staalbouw en stalen liggers", k=3)


async def test_audience_limits_the_call_to_a_department(org: AppContext) -> None:
    top = await route(org, "staalbouw", k=5, audience={"department": "real estate"})
    assert top == ["mark.jones"]


async def test_a_new_post_is_searchable_at_once(org: AppContext) -> None:
    query = "hydrogen fuel cells for backup power"
    async with org.sessions() as session:
        before = await org.routing.route(session, query, k=3)
    assert not any("hydrogen" in str(r["title"]).lower() for m in before for r in m.reasons)
    async with org.sessions() as session, session.begin():
        tom = await get_by_handle(session, "tom.bakker")
        assert tom
        await create_post(
            session,
            org.routing,
            tom,
            PostCreate(
                title="Hydrogen fuel cells as backup power",
                body="I led the pilot with hydrogen fuel cells as backup power for our exchanges.",
            ),
        )
    async with org.sessions() as session:
        after = await org.routing.route(session, query, k=3)
    assert after[0].person.handle == "tom.bakker"
    assert after[0].reasons[0]["title"] == "Hydrogen fuel cells as backup power"


async def test_saved_index_is_reused_and_a_stale_one_is_rebuilt(org: AppContext) -> None:
    before = await route(org, "Kubernetes cluster upgrades", k=3)
    org.routing.save()
    assert org.settings.index_path.exists()

    fresh = RoutingService(org.settings, org.routing.embedder)
    async with org.sessions() as session:
        index = await fresh.sync(session)
        routed = await fresh.route(session, "Kubernetes cluster upgrades", k=3)
    assert len(index.dense) == org.routing.state()["vectors"]
    assert fresh.state()["watermark"] == org.routing.state()["watermark"]
    assert [r.person.handle for r in routed] == before

    # A post written after the save (by another process, say) is picked up by watermark.
    async with org.sessions() as session, session.begin():
        liam = await session.scalar(select(Person).where(Person.handle == "liam.obrien"))
        assert liam
        await create_post(
            session,
            org.routing,
            liam,
            PostCreate(
                title="Mainframe COBOL batch jobs", body="I still maintain COBOL batch jobs."
            ),
        )
    async with org.sessions() as session:
        assert (await fresh.route(session, "COBOL batch jobs", k=1))[
            0
        ].person.handle == "liam.obrien"
