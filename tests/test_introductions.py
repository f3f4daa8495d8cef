"""Introductions as the people involved notice them: the nudge names the introducer and
quotes the note, in the reader's language; the introduced person can reply with the usual
one-click links; the ask counts against the manager's weekly introductions, never against the
introduced person's budget; members get 403; away and opted-out people are not introduced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from askhub.app import create_app
from askhub.calls import introductions, service
from askhub.calls.schemas import CallCreate, ReplyCreate
from askhub.context import AppContext
from askhub.people.service import get_by_handle
from models import Availability, Introduction, Match, Nudge, Role
from tests.test_api import STAALBOUW, token_for
from tests.test_cli import askhub, askhub_here
from tests.test_web_support import sign_in, submit, text_of, web_client, with_passwords

KUBERNETES = {
    "kind": "question",
    "title": "Wie kan helpen met een Helm chart voor onze Kubernetes cluster?",
    "body": "Onze deployment faalt bij het uitrollen van de chart.",
    "tags": ["kubernetes"],
}
NOTE = "Henk heeft vorig jaar de uitrol in Zwolle gedaan en kent de valkuilen."


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(
        settings=replace(org.settings, introductions_per_week=3), embedder=org.routing.embedder
    )
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def _set(ctx: AppContext, handle: str, **values: Any) -> None:
    async with ctx.sessions() as session, session.begin():
        person = await get_by_handle(session, handle)
        assert person is not None
        for key, value in values.items():
            setattr(person, key, value)


async def _inbox(client: AsyncTestClient[Any], auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/api/inbox", headers=auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


async def _count(ctx: AppContext, model: Any, **where: Any) -> int:
    async with ctx.sessions() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(await session.scalar(query) or 0)


async def _post_call(client: AsyncTestClient[Any], ctx: AppContext, body: dict[str, Any]) -> int:
    response = await client.post("/api/calls", json=body, headers=await token_for(ctx, "asker"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_a_member_may_not_introduce_and_nothing_is_sent(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call_id = await _post_call(client, org, KUBERNETES)
    member = await token_for(org, "tom.bakker")
    before = await _count(org, Nudge)
    response = await client.post(
        "/api/introductions",
        json={"call_id": call_id, "person": "henk.mulder", "note": NOTE},
        headers=member,
    )
    assert response.status_code == 403, response.text
    assert await _count(org, Introduction) == 0
    assert await _count(org, Nudge) == before


async def test_introduced_person_hears_who_and_why_in_dutch_and_can_answer(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call_id = await _post_call(client, org, KUBERNETES)
    manager = await token_for(org, "tom.bakker", Role.MANAGER)
    await _set(org, "tom.bakker", name="Tom Bakker")
    response = await client.post(
        "/api/introductions",
        json={"call_id": call_id, "person": "@henk.mulder", "note": NOTE},
        headers=manager,
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["person"]["handle"] == "henk.mulder" and made["call_id"] == call_id
    assert made["left_this_week"] == 2  # 3 a week in this test, one used

    henk = await token_for(org, "henk.mulder")
    [nudge] = [n for n in await _inbox(client, henk) if n["call_id"] == call_id]
    payload = nudge
    # Henk reads Dutch: the introducer's name, the call and the note, in Dutch words.
    assert "Tom Bakker" in payload["subject"] and "stelt je voor" in payload["subject"]
    assert "Tom Bakker" in payload["intro"] and NOTE in payload["intro"]
    assert "Wie kan helpen met een Helm chart" in payload["intro"]
    assert any("Tom Bakker" in line and NOTE in line for line in payload["reasons"])
    labels = [link["label"] for link in payload["links"]]
    assert labels[0] == "Antwoorden", labels

    # The one-click answer link works for him, as for anyone asked.
    answer = next(link["url"] for link in payload["links"] if link["label"] == "Antwoorden")
    path = answer.removeprefix(org.settings.base_url)
    acted = await client.post(path, data={"body": "Ja, ik help graag."})
    assert acted.status_code == 200, acted.text[:300]
    call = (await client.get(f"/api/calls/{call_id}", headers=henk)).json()
    assert [r["person"]["handle"] for r in call["replies"]] == ["henk.mulder"]

    # The asker hears who was introduced, by whom.
    asker = await token_for(org, "asker")
    told = [n["intro"] for n in await _inbox(client, asker) if n["call_id"] == call_id]
    assert any("Tom Bakker" in text and "Henk Mulder" in text and NOTE in text for text in told)


async def test_an_english_reader_reads_the_introduction_in_english(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call_id = await _post_call(client, org, KUBERNETES)
    manager = await token_for(org, "noor.jansen", Role.MANAGER)
    note = "Eva ran a similar rollout last spring."
    response = await client.post(
        "/api/introductions",
        json={"call_id": call_id, "person": "eva.brown", "note": note},
        headers=manager,
    )
    assert response.status_code == 201, response.text
    [nudge] = [
        n
        for n in await _inbox(client, await token_for(org, "eva.brown"))
        if n["call_id"] == call_id
    ]
    assert nudge["subject"].startswith("Noor Jansen introduces you to:")
    assert note in nudge["intro"]
    assert nudge["links"][0]["label"] == "Answer"


async def test_an_introduction_counts_against_nobodys_weekly_budget_but_the_managers(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    """Sanne may be asked once a week. A manager introduces her to a call; a staalbouw
    question posted after that still asks her (the introduction did not use her budget)."""
    await _set(org, "sanne.visser", nudge_budget_per_week=1)
    call_id = await _post_call(client, org, KUBERNETES)
    manager = await token_for(org, "tom.bakker", Role.MANAGER)
    response = await client.post(
        "/api/introductions",
        json={"call_id": call_id, "person": "sanne.visser", "note": "Jij kent helm ook."},
        headers=manager,
    )
    assert response.status_code == 201, response.text
    # Posted by someone else than the first asker, so it is not the same asker's load.
    staal = await client.post(
        "/api/calls", json=STAALBOUW, headers=await token_for(org, "mark.jones")
    )
    assert staal.status_code == 201, staal.text
    states = {m["person"]["handle"]: m["state"] for m in staal.json()["matches"]}
    assert states.get("sanne.visser") == "nudged", states
    # And now her one ask of the week is spent: a third call that matches her passes her by.
    again = await client.post(
        "/api/calls",
        json={**STAALBOUW, "title": "Nog een vraag over stalen constructies en staalbouw"},
        headers=await token_for(org, "eva.brown"),
    )
    states = {m["person"]["handle"]: m["state"] for m in again.json()["matches"]}
    assert states.get("sanne.visser") == "proposed", states


async def test_the_managers_budget_is_spent_after_three_introductions(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    manager = await token_for(org, "tom.bakker", Role.MANAGER)
    pairs = [
        ("henk.mulder", "joost.smit"),
        ("amy.chen", "joost.smit"),
        ("eva.brown", "liam.obrien"),
    ]
    for n, (person, other) in enumerate(pairs):
        response = await client.post(
            "/api/introductions",
            json={"person": person, "other": other, "note": "Jullie werken aan hetzelfde."},
            headers=manager,
        )
        assert response.status_code == 201, response.text
        assert response.json()["left_this_week"] == 2 - n
    spent = await client.post(
        "/api/introductions",
        json={"person": "mark.jones", "other": "sanne.visser", "note": "Both of you: steel."},
        headers=manager,
    )
    assert spent.status_code == 429, spent.text
    assert "3 introductions" in spent.json()["detail"]
    assert 0 < int(spent.headers["retry-after"]) <= 7 * 24 * 3600
    assert await _count(org, Introduction) == 3
    # Another manager has a budget of their own.
    other = await token_for(org, "noor.jansen", Role.ADMIN)
    response = await client.post(
        "/api/introductions",
        json={"person": "mark.jones", "other": "sanne.visser", "note": "Both of you: steel."},
        headers=other,
    )
    assert response.status_code == 201, response.text


async def test_two_people_introduced_to_each_other_each_hear_about_the_other(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    manager = await token_for(org, "tom.bakker", Role.MANAGER)
    note = "You both build steel frames; compare notes."
    response = await client.post(
        "/api/introductions",
        json={"person": "mark.jones", "other": "sanne.visser", "note": note},
        headers=manager,
    )
    assert response.status_code == 201, response.text
    [to_mark] = await _inbox(client, await token_for(org, "mark.jones"))
    [to_sanne] = await _inbox(client, await token_for(org, "sanne.visser"))
    assert to_mark["subject"] == "Tom Bakker introduces you to Sanne Visser"
    assert note in to_mark["intro"]
    assert to_mark["links"][0]["url"].endswith("/people/sanne.visser")
    assert "Tom Bakker" in to_sanne["subject"]
    assert "Mark Jones" in to_sanne["subject"]
    assert "stelt je voor" in to_sanne["subject"]
    assert note in to_sanne["intro"]


async def test_each_person_lists_the_introductions_they_are_part_of(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    manager = await token_for(org, "tom.bakker", Role.MANAGER)
    call_id = await _post_call(client, org, KUBERNETES)
    made = [
        {"person": "mark.jones", "other": "sanne.visser", "note": "Compare steel frames."},
        {"person": "henk.mulder", "call_id": call_id, "note": NOTE},
    ]
    for body in made:
        response = await client.post("/api/introductions", json=body, headers=manager)
        assert response.status_code == 201, response.text

    # The manager sees both, newest first, and what is left of the week's three.
    mine = await client.get("/api/introductions", headers=manager)
    assert mine.status_code == 200, mine.text
    assert mine.headers["x-total-count"] == "2"
    listed = mine.json()
    assert [i["note"] for i in listed] == [NOTE, "Compare steel frames."]
    assert listed[0]["call_title"] == KUBERNETES["title"]
    assert {i["left_this_week"] for i in listed} == {1}

    # Each introduced person sees only their own, and members may make none.
    sanne = await client.get("/api/introductions", headers=await token_for(org, "sanne.visser"))
    [seen] = sanne.json()
    assert (seen["person"]["handle"], seen["other"]["handle"]) == ("mark.jones", "sanne.visser")
    assert seen["introducer"]["handle"] == "tom.bakker" and seen["left_this_week"] == 0
    stranger = await client.get("/api/introductions", headers=await token_for(org, "asker"))
    assert stranger.json() == [] and stranger.headers["x-total-count"] == "0"

    # Pages: one at a time, the total over all pages.
    page = await client.get("/api/introductions?limit=1&offset=1", headers=manager)
    assert [i["note"] for i in page.json()] == ["Compare steel frames."]
    assert page.headers["x-total-count"] == "2"
    bad = await client.get("/api/introductions?limit=0", headers=manager)
    assert bad.status_code == 422 and "limit" in bad.text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"availability": Availability.OPTED_OUT}, "Nothing was sent"),
        (
            {
                "availability": Availability.AWAY,
                "away_until": datetime.now(UTC) + timedelta(days=9),
            },
            "is away until",
        ),
    ],
)
async def test_people_who_cannot_be_reached_are_not_introduced_and_the_manager_is_told(
    client: AsyncTestClient[Any], org: AppContext, change: dict[str, Any], words: str
) -> None:
    await _set(org, "mark.jones", **change)
    call_id = await _post_call(client, org, KUBERNETES)
    manager = await token_for(org, "eva.brown", Role.MANAGER)
    nudges = await _count(org, Nudge)
    for body, field in (
        ({"call_id": call_id, "person": "mark.jones"}, "person"),
        ({"person": "sanne.visser", "other": "mark.jones"}, "other"),
    ):
        response = await client.post(
            "/api/introductions", json={**body, "note": "Worth a talk."}, headers=manager
        )
        assert response.status_code == 409, response.text
        error = response.json()
        assert error["errors"][0]["field"] == field
        assert "Mark Jones" in error["detail"] and words in error["detail"]
    assert await _count(org, Introduction) == 0
    assert await _count(org, Nudge) == nudges
    async with org.sessions() as session:
        mark = await get_by_handle(session, "mark.jones")
        assert mark is not None
        assert (
            await session.scalar(
                select(func.count()).select_from(Match).where(Match.person_id == mark.id)
            )
            == 0
        )
    # Nothing was taken from the manager's budget.
    response = await client.post(
        "/api/introductions",
        json={"person": "sanne.visser", "other": "henk.mulder", "note": "Worth a talk."},
        headers=manager,
    )
    assert response.json()["left_this_week"] == 2


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"person": "henk.mulder", "other": "joost.smit"}, 422, "note"),
        ({"person": "henk.mulder", "other": "joost.smit", "note": "   "}, 422, "note"),
        ({"person": "henk.mulder", "note": "x"}, 422, "call_id"),
        ({"person": "henk.mulder", "other": "joost.smit", "call_id": 1, "note": "x"}, 422, "other"),
        ({"person": "nobody.here", "other": "joost.smit", "note": "x"}, 422, "person"),
        ({"person": "henk.mulder", "other": "nobody.here", "note": "x"}, 422, "other"),
        ({"person": "henk.mulder", "other": "henk.mulder", "note": "x"}, 422, "other"),
        ({"person": "tom.bakker", "other": "henk.mulder", "note": "x"}, 422, "person"),
        ({"person": "henk.mulder", "call_id": 999999, "note": "x"}, 422, "call_id"),
        ({"person": "henk.mulder", "call_id": 0, "note": "x"}, 422, "call_id"),
        ({"person": "henk.mulder", "other": "joost.smit", "note": "x", "extra": 1}, 422, "extra"),
    ],
)
async def test_bad_introductions_name_the_field(
    client: AsyncTestClient[Any], org: AppContext, body: dict[str, Any], status: int, field: str
) -> None:
    manager = await token_for(org, "tom.bakker", Role.MANAGER)
    response = await client.post("/api/introductions", json=body, headers=manager)
    assert response.status_code == status, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert await _count(org, Introduction) == 0


async def test_introducing_the_asker_or_someone_who_replied_is_refused(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call_id = await _post_call(client, org, KUBERNETES)
    manager = await token_for(org, "tom.bakker", Role.MANAGER)
    response = await client.post(
        "/api/introductions",
        json={"call_id": call_id, "person": "asker", "note": "x"},
        headers=manager,
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "person"
    replied = await client.post(
        f"/api/calls/{call_id}/replies",
        json={"body": "Ik weet er iets van."},
        headers=await token_for(org, "liam.obrien"),
    )
    assert replied.status_code == 201, replied.text
    response = await client.post(
        "/api/introductions",
        json={"call_id": call_id, "person": "liam.obrien", "note": "x"},
        headers=manager,
    )
    assert response.status_code == 409, response.text
    assert "already replied" in response.json()["detail"]


# -- the command line -----------------------------------------------------------------------------


async def test_introductions_from_the_command_line(
    cli_env: dict[str, str], org: AppContext, client: AsyncTestClient[Any]
) -> None:
    call_id = str(await _post_call(client, org, KUBERNETES))
    await _set(org, "tom.bakker", role=Role.MANAGER)
    # One real process ("made"); the others run in this process (in a thread: the test's event
    # loop is running), which saves an interpreter's start-up per command.
    refused = await asyncio.to_thread(
        askhub_here,
        cli_env,
        "call",
        "introduce",
        call_id,
        "henk.mulder",
        "--note",
        NOTE,
        "--as",
        "bram.devries",
    )
    assert refused.returncode == 2 and "Only managers and admins" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    made = askhub(
        cli_env, "call", "introduce", call_id, "henk.mulder", "--note", NOTE, "--as", "tom.bakker"
    )
    assert made.returncode == 0, made.stderr
    # The test client's settings allow 3 a week; the CLI reads the default, 10.
    assert "9 introductions left" in made.stdout
    pair = await asyncio.to_thread(
        askhub_here,
        cli_env,
        "people",
        "introduce",
        "mark.jones",
        "eva.brown",
        "--note",
        "Talk about masts.",
        "--as",
        "tom.bakker",
    )
    assert pair.returncode == 0, pair.stderr
    away = await asyncio.to_thread(
        askhub_here,
        cli_env,
        "people",
        "introduce",
        "mark.jones",
        "nobody",
        "--note",
        "x",
        "--as",
        "tom.bakker",
    )
    assert away.returncode == 2 and "other:" in away.stderr
    henk = await token_for(org, "henk.mulder")
    assert any(NOTE in n["intro"] for n in await _inbox(client, henk))
    ambassador = await asyncio.to_thread(
        askhub_here, cli_env, "people", "ambassador", "amy.chen", "--as", "tom.bakker"
    )
    assert ambassador.returncode == 0 and "/join/" in ambassador.stdout, ambassador.stderr
    listed = await asyncio.to_thread(
        askhub_here, cli_env, "people", "ambassadors", "--as", "tom.bakker"
    )
    assert listed.stdout.split("\t")[:3] == ["amy.chen", "0", "0"]


# -- the pages ------------------------------------------------------------------------------------


async def test_a_manager_introduces_from_the_call_page_and_the_person_page(
    org: AppContext, client: AsyncTestClient[Any]
) -> None:
    call_id = await _post_call(client, org, KUBERNETES)
    await with_passwords(org, ["noor.jansen", "bram.devries"], {"noor.jansen": Role.MANAGER})
    await _set(org, "mark.jones", availability=Availability.OPTED_OUT)
    async with web_client(org) as web:
        await sign_in(web, "bram.devries")
        page = text_of((await web.get(f"/calls/{call_id}")).text)
        assert "Stel een collega voor" not in page
        refused = await submit(
            web,
            f"/calls/{call_id}",
            f"/calls/{call_id}/introduce",
            {"person": "henk.mulder", "note": NOTE},
        )
        assert refused.status_code == 403
    async with web_client(org) as web:
        await sign_in(web, "noor.jansen")
        page = text_of((await web.get(f"/calls/{call_id}")).text)
        assert "Stel een collega voor aan deze oproep" in page
        assert "nog 10 deze week" in page
        done = await submit(
            web,
            f"/calls/{call_id}",
            f"/calls/{call_id}/introduce",
            {"person": "Henk Mulder", "note": NOTE},
            follow_redirects=True,
        )
        assert done.status_code == 200
        assert "Voorgesteld. Ze horen wie hen voorstelde en waarom." in text_of(done.text)
        assert "nog 9 deze week" in text_of(done.text)
        unreachable = await submit(
            web,
            "/people/eva.brown",
            "/people/eva.brown/introduce",
            {"other": "mark.jones", "note": "Praat eens over zonnepanelen."},
        )
        assert unreachable.status_code == 409
        said = text_of(unreachable.text)
        assert "Mark Jones wil niet door AskHub gevraagd worden" in said
        assert "Er is niets verstuurd." in said
        assert "Praat eens over zonnepanelen." in said  # the note is kept in the form
        paired = await submit(
            web,
            "/people/eva.brown",
            "/people/eva.brown/introduce",
            {"other": "sanne.visser", "note": "Praat eens over zonnepanelen."},
        )
        assert paired.status_code == 303
    henk = await token_for(org, "henk.mulder")
    assert any("Noor Jansen" in n["subject"] for n in await _inbox(client, henk))
    eva = await token_for(org, "eva.brown")
    assert any(
        n["subject"] == "Noor Jansen introduces you to Sanne Visser"
        for n in await _inbox(client, eva)
    )


async def test_erasing_a_manager_takes_their_introductions_and_name_along(
    org: AppContext, client: AsyncTestClient[Any]
) -> None:
    call_id = await _post_call(client, org, KUBERNETES)
    manager = await token_for(org, "tom.bakker", Role.MANAGER)
    await client.post(
        "/api/introductions",
        json={"call_id": call_id, "person": "henk.mulder", "note": NOTE},
        headers=manager,
    )
    erased = await client.delete("/api/people/me", headers=manager)
    assert erased.status_code == 200, erased.text
    assert await _count(org, Introduction) == 0
    henk = await token_for(org, "henk.mulder")
    [nudge] = [n for n in await _inbox(client, henk) if n["call_id"] == call_id]
    assert "Tom Bakker" not in str(nudge)
    call = (await client.get(f"/api/calls/{call_id}", headers=henk)).json()
    assert "Tom Bakker" not in str(call["matches"])


# -- what the dashboard reads ----------------------------------------------------------------------


async def test_introductions_made_and_answered_per_introducer_over_a_period(
    org: AppContext,
) -> None:
    """Three weeks on an explicit clock: Tom introduces three people to calls and one pair;
    two of the call introductions are answered afterwards (one by a reply that came before
    the introduction, which does not count). Noor introduces once."""
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    async with org.sessions() as session, session.begin():
        people = {
            h: await get_by_handle(session, h)
            for h in ("asker", "tom.bakker", "noor.jansen", "henk.mulder", "eva.brown", "amy.chen")
        }
        assert all(people.values())
        people["tom.bakker"].role = Role.MANAGER  # type: ignore[union-attr]
        people["noor.jansen"].role = Role.ADMIN  # type: ignore[union-attr]
        calls = []
        for n in range(3):
            call = await service.create_call(
                session,
                org.routing,
                org.settings,
                people["asker"],  # type: ignore[arg-type]
                CallCreate(kind="question", title=f"Vraag nummer {n} over glasvezel"),
                now=start + timedelta(days=n),
            )
            calls.append(call)
        # Eva answers call 1 before anyone introduces her (it will not count).
        await service.add_reply(
            session,
            org.settings,
            calls[1],
            people["eva.brown"],  # type: ignore[arg-type]
            ReplyCreate(kind="answer", body="Al gedaan."),
            now=start + timedelta(days=1, hours=1),
        )
    plan = [
        # (introducer, call index or None, person, other, days after start)
        ("tom.bakker", 0, "henk.mulder", None, 0.5),
        ("tom.bakker", 1, "amy.chen", None, 8),
        ("tom.bakker", 2, "henk.mulder", None, 15),
        ("tom.bakker", None, "henk.mulder", "eva.brown", 16),
        ("noor.jansen", 0, "eva.brown", None, 9),
    ]
    for introducer, index, person, other, days in plan:
        async with org.sessions() as session, session.begin():
            by = await get_by_handle(session, introducer)
            assert by is not None
            await introductions.introduce(
                session,
                org.settings,
                by,
                introductions.IntroductionIn(
                    person=person,
                    other=other,
                    call_id=calls[index].id if index is not None else None,
                    note="Jij weet dit.",
                ),
                now=start + timedelta(days=days),
            )
    # Answers after the introduction: Henk on call 0, Amy on call 1; Eva on call 0 (Noor's).
    for index, handle, days in ((0, "henk.mulder", 1), (1, "amy.chen", 9), (0, "eva.brown", 10)):
        async with org.sessions() as session, session.begin():
            call = await service.get_call(session, calls[index].id)
            who = await get_by_handle(session, handle)
            assert call is not None and who is not None
            await service.add_reply(
                session,
                org.settings,
                call,
                who,
                ReplyCreate(kind="answer", body="Dit weet ik."),
                now=start + timedelta(days=days),
            )
    tom, noor = people["tom.bakker"].id, people["noor.jansen"].id  # type: ignore[union-attr]
    async with org.sessions() as session:
        everything = await introductions.introductions_by(session)
        first_two_weeks = await introductions.introductions_by(
            session, since=start, until=start + timedelta(days=14)
        )
    assert everything == {
        tom: introductions.IntroductionCounts(made=4, answered=2),
        noor: introductions.IntroductionCounts(made=1, answered=1),
    }
    assert first_two_weeks == {
        tom: introductions.IntroductionCounts(made=2, answered=2),
        noor: introductions.IntroductionCounts(made=1, answered=1),
    }
