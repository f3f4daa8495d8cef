"""Profile completeness and ambassadors as people notice them: the score and what is missing,
the prompt on the home page and in the digest (in the reader's language), an ambassador's link
that counts a colleague once (first ambassador wins) and how many completed their profile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from askhub.app import create_app
from askhub.calls.scheduled import TickResult, send_digests
from askhub.context import AppContext
from askhub.people.completeness import complete_clause, completeness_of
from askhub.people.service import get_by_handle
from models import Ambassador, Invitation, Nudge, NudgeKind, Person, Role
from tests.test_api import STAALBOUW, token_for
from tests.test_web_support import sign_in, submit, text_of, web_client, with_passwords


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def _fresh(ctx: AppContext, handle: str, **values: Any) -> dict[str, str]:
    """A new colleague with only a name (and ``values``), and their token."""
    async with ctx.sessions() as session, session.begin():
        session.add(Person(handle=handle, name=handle.title(), **values))
    return await token_for(ctx, handle)


# -- completeness -------------------------------------------------------------------------------


async def test_completeness_counts_bio_skills_languages_and_a_first_post(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await _fresh(org, "nieuw")
    found = (await client.get("/api/people/me/completeness", headers=auth)).json()
    assert found == {
        "score": 0,
        "missing": ["bio", "skills", "languages", "post"],
        "complete": False,
    }
    await client.put(
        "/api/people/me",
        json={"bio": "Ik werk aan glasvezel.", "languages": ["nl"]},
        headers=auth,
    )
    found = (await client.get("/api/people/me/completeness", headers=auth)).json()
    assert (found["score"], found["missing"]) == (50, ["skills", "post"])
    await client.put("/api/people/me", json={"skills": ["glasvezel"]}, headers=auth)
    # A call one asked is no post about what one knows.
    await client.post("/api/calls", json=STAALBOUW, headers=auth)
    found = (await client.get("/api/people/me/completeness", headers=auth)).json()
    assert (found["score"], found["missing"]) == (75, ["post"])
    posted = await client.post(
        "/api/posts",
        json={"title": "Glasvezel in Zwolle", "body": "Wat we leerden bij de uitrol."},
        headers=auth,
    )
    assert posted.status_code == 201, posted.text
    found = (await client.get("/api/people/me/completeness", headers=auth)).json()
    assert found == {"score": 100, "missing": [], "complete": True}


async def test_home_prompts_gently_and_the_profile_says_what_is_missing_in_dutch(
    org: AppContext,
) -> None:
    async with org.sessions() as session, session.begin():
        session.add(Person(handle="nieuw", name="Nieuwe Collega", languages=["nl"]))
    await with_passwords(org, ["nieuw", "sanne.visser"])
    async with web_client(org) as client:
        await sign_in(client, "nieuw")
        home = text_of((await client.get("/")).text)
        assert "Je profiel is voor 25% compleet" in home
        assert "een paar regels over wat je doet" in home and "je vaardigheden" in home
        profile = text_of((await client.get("/profile")).text)
        assert "Je profiel is voor 25% compleet" in profile
        assert "Nog niet ingevuld:" in profile
        assert "een eerste bericht over iets waar je verstand van hebt" in profile
        assert "de talen die je spreekt" not in profile
    async with web_client(org) as client:
        # Sanne has a bio, skills, a language and posts: no prompt at all.
        await sign_in(client, "sanne.visser")
        home = text_of((await client.get("/")).text)
        assert "compleet" not in home
        assert "100% compleet" in text_of((await client.get("/profile")).text)


async def test_the_daily_digest_carries_the_prompt_in_the_readers_language(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    await _fresh(org, "lezer", languages=["en"], digest=True, bio="I fix modems.")
    await client.post(
        "/api/calls",
        json={"kind": "volunteers", "title": "Modem testers wanted", "needed": 3},
        headers=await token_for(org, "asker"),
    )
    await send_digests(org.sessions, org.settings, datetime.now(UTC), TickResult())
    async with org.sessions() as session:
        person = await get_by_handle(session, "lezer")
        assert person is not None
        [digest] = (
            await session.scalars(
                select(Nudge).where(Nudge.person_id == person.id, Nudge.kind == NudgeKind.DIGEST)
            )
        ).all()
    body = digest.payload["body"]
    assert body.startswith("Your profile is 50% complete. Add your skills and a first post")
    assert body.endswith("/profile#completeness")


# -- ambassadors ----------------------------------------------------------------------------------


async def test_members_may_not_appoint_ambassadors(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    member = await token_for(org, "tom.bakker")
    response = await client.put("/api/ambassadors/amy.chen", headers=member)
    assert response.status_code == 403
    assert (await client.get("/api/ambassadors", headers=member)).status_code == 403
    mine = await client.get("/api/ambassadors/me", headers=await token_for(org, "amy.chen"))
    assert mine.status_code == 404


async def test_an_ambassadors_link_counts_colleagues_once_and_their_completed_profiles(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    manager = await token_for(org, "noor.jansen", Role.MANAGER)
    amy = (await client.put("/api/ambassadors/amy.chen", headers=manager)).json()
    mark = (await client.put("/api/ambassadors/mark.jones", headers=manager)).json()
    assert amy["link"].startswith(org.settings.base_url + "/join/")
    assert amy["link"] != mark["link"]
    # Appointing again keeps the same link.
    again = (await client.put("/api/ambassadors/amy.chen", headers=manager)).json()
    assert again["link"] == amy["link"]
    amy_code = amy["link"].rsplit("/", 1)[1]
    mark_code = mark["link"].rsplit("/", 1)[1]

    first = await _fresh(org, "eerste")
    second = await _fresh(org, "tweede", bio="Ik ben nieuw.", languages=["nl"], skills=["x"])
    opened = await client.post(f"/api/invitations/{amy_code}", headers=first)
    assert opened.status_code == 200, opened.text
    assert opened.json() == {
        "ambassador": {"handle": "amy.chen", "name": "Amy Chen", "department": "Network"},
        "recorded": True,
    }
    # The same colleague opening it again, or another ambassador's link: Amy keeps them.
    again_amy = (await client.post(f"/api/invitations/{amy_code}", headers=first)).json()
    via_mark = (await client.post(f"/api/invitations/{mark_code}", headers=first)).json()
    assert again_amy["recorded"] is False and via_mark["recorded"] is False
    assert via_mark["ambassador"]["handle"] == "amy.chen"
    await client.post(f"/api/invitations/{amy_code}", headers=second)
    # An ambassador opening their own link is not counted.
    own = await client.post(
        f"/api/invitations/{amy_code}", headers=await token_for(org, "amy.chen")
    )
    assert own.json()["recorded"] is False

    amy_auth = await token_for(org, "amy.chen")
    mine = (await client.get("/api/ambassadors/me", headers=amy_auth)).json()
    assert (mine["invited"], mine["completed"]) == (2, 0)
    # The second colleague writes a first post: their profile is complete.
    await client.post(
        "/api/posts", json={"title": "Hallo", "body": "Mijn eerste bericht."}, headers=second
    )
    mine = (await client.get("/api/ambassadors/me", headers=amy_auth)).json()
    assert (mine["invited"], mine["completed"]) == (2, 1)
    listed = (await client.get("/api/ambassadors", headers=manager)).json()
    assert [(a["person"]["handle"], a["invited"], a["completed"]) for a in listed] == [
        ("amy.chen", 2, 1),
        ("mark.jones", 0, 0),
    ]
    assert (await client.post("/api/invitations/nope-nope", headers=first)).status_code == 404

    # Dismissed: the link stops working, the colleagues stay counted.
    assert (await client.delete("/api/ambassadors/amy.chen", headers=manager)).status_code == 204
    third = await _fresh(org, "derde")
    assert (await client.post(f"/api/invitations/{amy_code}", headers=third)).status_code == 404
    async with org.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invitation)) == 2


async def test_opening_an_invitation_link_on_the_web_signs_in_first_then_counts(
    org: AppContext,
) -> None:
    async with org.sessions() as session, session.begin():
        session.add(Person(handle="nieuw", name="Nieuwe Collega", languages=["nl"]))
    await with_passwords(org, ["nieuw", "noor.jansen", "amy.chen"], {"noor.jansen": Role.MANAGER})
    async with web_client(org) as client:
        # A member sees no such button, and posting the form anyway is refused.
        await sign_in(client, "nieuw")
        assert "ambassadeur" not in text_of((await client.get("/people/amy.chen")).text)
        refused = await submit(
            client, "/people/amy.chen", "/people/amy.chen/ambassador", {"make": "1"}
        )
        assert refused.status_code == 403
    async with org.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ambassador)) == 0
    async with web_client(org) as client:
        await sign_in(client, "noor.jansen")
        page = await client.get("/people/amy.chen")
        assert "Maak Amy Chen ambassadeur" in text_of(page.text)
        made = await submit(
            client, "/people/amy.chen", "/people/amy.chen/ambassador", {"make": "1"}
        )
        assert made.status_code == 303
    async with web_client(org) as client:
        await sign_in(client, "amy.chen")
        profile = text_of((await client.get("/profile")).text)
        assert "You are an ambassador" in profile
        assert "0 colleagues came through your link" in profile
    async with org.sessions() as session:
        code = await session.scalar(select(Ambassador.code))
    assert code
    async with web_client(org) as client:
        first = await client.get(f"/join/{code}", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
        await sign_in(client, "nieuw")
        opened = await client.get(f"/join/{code}", follow_redirects=True)
        assert opened.status_code == 200
        assert "Welkom! Amy Chen heeft je uitgenodigd." in text_of(opened.text)
        assert (await client.get("/join/not-a-code")).status_code == 404
    async with web_client(org) as client:
        await sign_in(client, "amy.chen")
        profile = text_of((await client.get("/profile")).text)
        assert "1 colleague came through your link" in profile
        assert "0 of them completed their profile" in profile


async def test_the_sql_rule_for_a_complete_profile_agrees_with_the_pages(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    """The dashboard counts complete profiles in SQL; the pages decide per person. Both must
    say the same of the same people (here: the test organisation and four newcomers)."""
    await _fresh(org, "leeg")
    await _fresh(org, "bijna", bio="Ik doe HR.", skills=["werving"], languages=["nl"])
    await _fresh(org, "spaties", bio="   ", skills=["x"], languages=["nl"])
    done = await _fresh(org, "klaar", bio="Ik doe HR.", skills=["werving"], languages=["nl"])
    await client.post(
        "/api/posts", json={"title": "Werving", "body": "Zo werven we."}, headers=done
    )
    await client.post(
        "/api/posts",
        json={"title": "Spaties", "body": "Een bericht."},
        headers=await token_for(org, "spaties"),
    )
    async with org.sessions() as session:
        everyone = list((await session.scalars(select(Person))).all())
        by_rule = await completeness_of(session, everyone)
        in_sql = set(await session.scalars(select(Person.handle).where(complete_clause())))
    expected = {p.handle for p in everyone if by_rule[p.id].complete}
    assert in_sql == expected
    assert {"klaar", "sanne.visser"} <= in_sql
    assert not {"leeg", "bijna", "spaties"} & in_sql


async def test_the_dashboard_counts_introductions_as_connecting_and_shows_ambassadors_reach(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    """Noor (a manager) introduces three times; Amy (an ambassador) brings in two colleagues,
    one of whom completes their profile. The dashboard's connectors and ambassadors' reach
    say so, as JSON and as CSV; a member gets 403."""
    noor = await token_for(org, "noor.jansen", Role.MANAGER)
    for person, other in (
        ("henk.mulder", "joost.smit"),
        ("amy.chen", "eva.brown"),
        ("tom.bakker", "bram.devries"),
    ):
        made = await client.post(
            "/api/introductions",
            json={"person": person, "other": other, "note": "Praat eens."},
            headers=noor,
        )
        assert made.status_code == 201, made.text
    amy = (await client.put("/api/ambassadors/amy.chen", headers=noor)).json()
    code = amy["link"].rsplit("/", 1)[1]
    done = await _fresh(org, "klaar", bio="Ik doe HR.", skills=["werving"], languages=["nl"])
    await client.post(
        "/api/posts", json={"title": "Werving", "body": "Zo werven we."}, headers=done
    )
    for auth in (done, await _fresh(org, "half")):
        await client.post(f"/api/invitations/{code}", headers=auth)

    connectors = (await client.get("/api/dashboard/connectors", headers=noor)).json()
    mine = next(c for c in connectors if c["handle"] == "noor.jansen")
    assert mine["figures"]["introductions"] == 3 and mine["total"] >= 3
    reach = (await client.get("/api/dashboard/ambassadors", headers=noor)).json()
    assert [(a["handle"], a["invited"], a["completed"]) for a in reach] == [("amy.chen", 2, 1)]
    csv_text = (await client.get("/api/dashboard/export/ambassadors", headers=noor)).text
    assert csv_text.splitlines()[1].startswith("amy.chen,Amy Chen,Network,2,1")
    member = await token_for(org, "bram.devries")
    assert (await client.get("/api/dashboard/ambassadors", headers=member)).status_code == 403
    # A period before any of it: nobody brought in.
    old = (
        await client.get("/api/dashboard/ambassadors?from=2020-01-01&to=2020-01-31", headers=noor)
    ).json()
    assert [(a["handle"], a["invited"]) for a in old] == [("amy.chen", 0)]
