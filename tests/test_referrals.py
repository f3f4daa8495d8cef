"""Referral calls that spread: a referral carries its vacancy's public address, is routed to
people who know the field and many colleagues, gives each sharer a personal link, and its
public landing page counts visits (and nothing about the visitor) before redirecting. The
asker and managers see shares and visits per sharer and per day."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from askhub.app import create_app
from askhub.calls import control, service
from askhub.calls.schemas import CallCreate, ReplyCreate
from askhub.calls.service import CallError
from askhub.context import AppContext
from askhub.people.service import get_by_handle
from askhub.referrals import service as referrals
from askhub.validation import NotFound, NotPermitted
from models import Call, Person, Role, ShareLink, ShareVisits
from tests.test_api import token_for

pytestmark = pytest.mark.db

VACANCY = "https://werkenbij.example/vacatures/constructeur-staalbouw?ref=askhub"
REFERRAL = {
    "kind": "referral",
    "title": "Vacature: constructeur staalbouw",
    "body": "Ken jij een constructeur die staalbouw en constructieberekeningen beheerst?",
    "tags": ["staalbouw"],
    "url": VACANCY,
}
DAY1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1, hours=3)


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def _person(session: Any, handle: str) -> Person:
    person = await get_by_handle(session, handle)
    assert person is not None, handle
    return person


async def _referral(ctx: AppContext, now: datetime = DAY1, **extra: Any) -> int:
    async with ctx.sessions() as session, session.begin():
        asker = await _person(session, "asker")
        call = await service.create_call(
            session,
            ctx.routing,
            ctx.settings,
            asker,
            CallCreate(**{**REFERRAL, **extra}),
            now=now,
        )
        return call.id


# -- posting a referral ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (None, "missing"),
        ("", "empty"),
        ("ftp://files.example/vacature.pdf", "not http"),
        ("javascript:alert(1)", "script"),
        ("https://", "no host"),
        ("https://user:secret@jobs.example/1", "credentials"),
        ("https://jobs.example/a b", "space"),
        ("werkenbij.example/vacature", "no scheme"),
    ],
)
async def test_a_referral_needs_a_public_http_address(
    client: AsyncTestClient[Any], org: AppContext, url: str | None, why: str
) -> None:
    body = {**REFERRAL, "url": url} if url is not None else {**REFERRAL, "url": None}
    response = await client.post("/api/calls", json=body, headers=await token_for(org, "asker"))
    assert response.status_code == 422, (why, response.text)
    assert [e["field"] for e in response.json()["errors"]] == ["url"], why
    async with org.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Call)) == 0


async def test_url_and_offer_belong_to_referrals_only(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    question = {"kind": "question", "title": "Wie weet iets van staalbouw?"}
    response = await client.post("/api/calls", json={**question, "url": VACANCY}, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "url"
    response = await client.post("/api/calls", json={**question, "offer": "event"}, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "offer"


async def test_a_referral_carries_its_vacancy_or_event(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    response = await client.post("/api/calls", json=REFERRAL, headers=auth)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["referral"] == {"offer": "vacancy", "url": VACANCY}
    event = {**REFERRAL, "title": "Open dag staalbouw", "offer": "event"}
    response = await client.post("/api/calls", json=event, headers=auth)
    assert response.json()["referral"]["offer"] == "event"
    # The board shows it too, and a question carries none.
    board = await client.get("/api/calls?kind=referral", headers=auth)
    assert {c["referral"]["url"] for c in board.json()} == {VACANCY}


async def test_an_address_is_kept_in_ascii_so_the_redirect_can_carry_it(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    body = {**REFERRAL, "url": "https://Bücher.example/vacature/café?functie=ingenieur"}
    response = await client.post("/api/calls", json=body, headers=auth)
    assert response.status_code == 201, response.text
    stored = "https://xn--bcher-kva.example/vacature/caf%C3%A9?functie=ingenieur"
    assert response.json()["referral"]["url"] == stored
    code = await _code_of(org, response.json()["id"], "sanne.visser")
    visit = await client.get(f"/r/{code}", follow_redirects=False)
    assert visit.status_code == 302 and visit.headers["location"] == stored
    ipv6 = {**REFERRAL, "url": "http://[2001:db8::1]:8080/vacature"}
    response = await client.post("/api/calls", json=ipv6, headers=auth)
    assert response.json()["referral"]["url"] == "http://[2001:db8::1]:8080/vacature"


# -- routing: the field and the network -------------------------------------------------------


async def _helped(ctx: AppContext, helper: str, askers: int, now: datetime) -> None:
    """``helper`` answered one question each of ``askers`` different colleagues."""
    async with ctx.sessions() as session, session.begin():
        person = await _person(session, helper)
        for number in range(askers):
            asker = Person(handle=f"colleague{number:02d}", name=f"Colleague {number}")
            session.add(asker)
            await session.flush()
            call = Call(
                asker_id=asker.id,
                kind="question",
                title=f"Question {number}",
                created_at=now - timedelta(days=30),
            )
            session.add(call)
            await session.flush()
            await session.refresh(call, ["matches", "replies"])
            call.asker = asker
            await service.add_reply(
                session,
                ctx.settings,
                call,
                person,
                ReplyCreate(body="Here is how."),
                now - timedelta(days=29),
            )


async def test_referrals_go_first_to_people_who_know_the_field_and_many_colleagues(
    org: AppContext,
) -> None:
    now = datetime.now(UTC)
    # The same words as a question: the evidence alone, before any network.
    async with org.sessions() as session:
        asker = await _person(session, "asker")
        evidence = {
            r.person.handle: r.score
            for r in await org.routing.route(
                session,
                service.query_text(REFERRAL["title"], REFERRAL["body"], REFERRAL["tags"]),
                k=30,
                exclude={asker.id},
                tags=REFERRAL["tags"],
                asker=asker.id,
            )
        }
    assert {"sanne.visser", "mark.jones"} <= set(evidence)
    # Mark helped 12 colleagues; Sanne nobody.
    await _helped(org, "mark.jones", 12, now)
    call_id = await _referral(org, now=now)
    async with org.sessions() as session:
        call = await service.get_call(session, call_id)
        assert call is not None
        scores = {m.person.handle: m.score for m in call.matches}
        ranks = {m.person.handle: m.rank for m in call.matches}
        reasons = {m.person.handle: m.evidence for m in call.matches}
    network = min(1.0, math.log1p(12) / math.log1p(30))
    assert scores["mark.jones"] == pytest.approx(evidence["mark.jones"] * (1 + 0.5 * network))
    assert scores["sanne.visser"] == pytest.approx(evidence["sanne.visser"])
    expected_order = sorted(scores, key=lambda h: -scores[h])
    assert sorted(ranks, key=lambda h: ranks[h]) == expected_order
    # Everyone asked knows the field: nobody comes in for the network alone.
    assert set(scores) <= set(evidence)
    # Why Mark: the network first (in his English), then his posts.
    assert reasons["mark.jones"][0]["kind"] == "network"
    assert "12 colleagues" in reasons["mark.jones"][0]["snippet"]
    assert all(r["kind"] != "network" for r in reasons["sanne.visser"])


# -- share links and shares ------------------------------------------------------------------


async def test_each_sharer_has_one_personal_link(org: AppContext) -> None:
    call_id = await _referral(org)
    async with org.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        assert call is not None
        sanne = await _person(session, "sanne.visser")
        mark = await _person(session, "mark.jones")
        first = await referrals.link_for(session, call, sanne, DAY1)
        again = await referrals.link_for(session, call, sanne, DAY2)
        other = await referrals.link_for(session, call, mark, DAY1)
    assert first.code == again.code != other.code
    assert len(first.code) >= 12
    buttons = referrals.buttons(org.settings, call, first, lambda m, **v: m.format(**v))
    assert buttons.link == f"http://askhub.test/r/{first.code}"
    assert buttons.linkedin == (
        "https://www.linkedin.com/sharing/share-offsite/?url=http%3A%2F%2Faskhub.test%2Fr%2F"
        + first.code
    )
    assert buttons.email.startswith("mailto:?subject=")
    assert f"http%3A%2F%2Faskhub.test%2Fr%2F{first.code}" in buttons.email


async def test_who_may_share_and_when(org: AppContext) -> None:
    call_id = await _referral(org, audience={"department": "Vastgoed & Bouw"})
    async with org.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        assert call is not None
        asker = await _person(session, "asker")
        sanne = await _person(session, "sanne.visser")
        outsider = await _person(session, "tom.bakker")
        with pytest.raises(NotPermitted):
            await referrals.link_for(session, call, outsider, DAY1)
        with pytest.raises(CallError) as bad:
            await referrals.record_share(session, call, sanne, "fax", DAY1)
        assert bad.value.field == "channel"
        await control.close(session, org.settings, call, asker)
        call = await service.get_call(session, call_id)
        assert call is not None
        with pytest.raises(CallError):
            await referrals.record_share(session, call, sanne, "copy", DAY1)
        question = await service.create_call(
            session,
            org.routing,
            org.settings,
            asker,
            CallCreate(kind="question", title="Wie weet iets van staalbouw?"),
        )
        with pytest.raises(NotFound):
            await referrals.link_for(session, question, sanne, DAY1)


async def _visits(ctx: AppContext, code: str) -> dict[date, int]:
    async with ctx.sessions() as session:
        rows = await session.execute(
            select(ShareVisits.day, ShareVisits.visits)
            .join(ShareLink, ShareLink.id == ShareVisits.link_id)
            .where(ShareLink.code == code)
        )
        return {day: visits for day, visits in rows.all()}


async def test_visits_are_counted_per_link_and_day(org: AppContext) -> None:
    call_id = await _referral(org)
    async with org.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        assert call is not None
        code = (
            await referrals.link_for(session, call, await _person(session, "sanne.visser"), DAY1)
        ).code
    for when in (DAY1, DAY1 + timedelta(hours=2), DAY2):
        async with org.sessions() as session, session.begin():
            assert await referrals.visit(session, code, when) == VACANCY
    async with org.sessions() as session, session.begin():
        # Not counted (a robot or a HEAD), but still led to the vacancy.
        assert await referrals.visit(session, code, DAY2, count=False) == VACANCY
        assert await referrals.visit(session, "no-such-code", DAY2) is None
    assert await _visits(org, code) == {DAY1.date(): 2, DAY2.date(): 1}
    async with org.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        assert call is not None
        await control.withdraw(
            session, org.settings, org.routing, call, await _person(session, "asker")
        )
    async with org.sessions() as session, session.begin():
        assert await referrals.visit(session, code, DAY2) is None
    assert await _visits(org, code) == {DAY1.date(): 2, DAY2.date(): 1}


@pytest.mark.parametrize(
    ("method", "headers", "noise"),
    [
        ("GET", {"user-agent": "Mozilla/5.0 (iPhone) AppleWebKit/605 Safari/604"}, False),
        ("GET", {"user-agent": "Mozilla/5.0 (iPhone) LinkedInApp/9.29"}, False),
        ("HEAD", {"user-agent": "Mozilla/5.0 Safari/604"}, True),
        ("GET", {"user-agent": "LinkedInBot/1.0 (compatible; Mozilla/5.0)"}, True),
        ("GET", {"user-agent": "Slackbot-LinkExpanding 1.0"}, True),
        ("GET", {"user-agent": "facebookexternalhit/1.1"}, True),
        ("GET", {"user-agent": "WhatsApp/2.23.20.0 A"}, True),
        ("GET", {"user-agent": "Chrome/120", "sec-purpose": "prefetch;prerender"}, True),
        ("GET", {"user-agent": "Firefox/120", "x-moz": "prefetch"}, True),
    ],
)
def test_robots_heads_and_prefetches_are_no_visitors(
    method: str, headers: dict[str, str], noise: bool
) -> None:
    assert referrals.is_noise(method, headers) is noise


async def test_the_asker_sees_shares_and_visits_per_sharer_and_per_day(org: AppContext) -> None:
    call_id = await _referral(org)
    async with org.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        assert call is not None
        sanne = await _person(session, "sanne.visser")
        mark = await _person(session, "mark.jones")
        amy = await _person(session, "amy.chen")
        await referrals.record_share(session, call, sanne, "linkedin", DAY1)
        await referrals.record_share(session, call, sanne, "linkedin", DAY1 + timedelta(hours=1))
        await referrals.record_share(session, call, sanne, "copy", DAY2)
        await referrals.record_share(session, call, mark, "email", DAY2)
        # Amy opened her page (her link exists) but shared nothing and nobody visited.
        await referrals.link_for(session, call, amy, DAY1)
        codes = {
            p.handle: (await referrals.link_for(session, call, p, DAY1)).code for p in (sanne, mark)
        }
    for handle, when, times in (
        ("sanne.visser", DAY1, 3),
        ("sanne.visser", DAY2, 2),
        ("mark.jones", DAY2, 1),
    ):
        for _ in range(times):
            async with org.sessions() as session, session.begin():
                await referrals.visit(session, codes[handle], when)
    async with org.sessions() as session:
        call = await service.get_call(session, call_id)
        assert call is not None
        found = await referrals.report(session, call, await _person(session, "asker"))
    assert [(s.person.handle, s.shared, dict(s.shares), s.visits) for s in found.sharers] == [
        ("sanne.visser", 3, {"linkedin": 2, "copy": 1}, 5),
        ("mark.jones", 1, {"email": 1}, 1),
    ]
    assert found.sharers[0].first_shared_at == DAY1
    assert [(d.day, d.shares, d.visits) for d in found.days] == [
        (DAY1.date(), 2, 3),
        (DAY2.date(), 2, 3),
    ]
    assert (found.shares, found.visits) == (4, 6)


# -- the API ----------------------------------------------------------------------------------


async def test_shares_api_is_for_the_asker_and_managers(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call_id = await _referral(org)
    sanne = await token_for(org, "sanne.visser")
    shared = await client.post(
        f"/api/calls/{call_id}/shares", json={"channel": "linkedin"}, headers=sanne
    )
    assert shared.status_code == 201, shared.text
    link = shared.json()["link"]
    assert link.startswith("http://askhub.test/r/") and shared.json()["shares"] == 1
    bad = await client.post(f"/api/calls/{call_id}/shares", json={"channel": "fax"}, headers=sanne)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "channel"
    mine = await client.get(f"/api/calls/{call_id}/share-link", headers=sanne)
    assert mine.status_code == 200 and mine.json()["link"] == link
    assert mine.json()["shares"] == 1  # getting the link is no share

    visit = await client.get(link.removeprefix("http://askhub.test"), follow_redirects=False)
    assert visit.status_code == 302 and visit.headers["location"] == VACANCY

    for handle, role in (("asker", None), ("tom.bakker", Role.MANAGER)):
        response = await client.get(
            f"/api/calls/{call_id}/shares", headers=await token_for(org, handle, role)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["shares"], body["visits"], body["url"]) == (1, 1, VACANCY)
        assert [(s["person"]["handle"], s["channels"], s["visits"]) for s in body["sharers"]] == [
            ("sanne.visser", {"linkedin": 1}, 1)
        ]
        assert len(body["days"]) >= 1 and sum(d["visits"] for d in body["days"]) == 1
    # The sharer herself and other colleagues do not see who shared.
    assert (await client.get(f"/api/calls/{call_id}/shares", headers=sanne)).status_code == 403
    assert (await client.get("/api/calls/999999/shares", headers=sanne)).status_code == 404
    question = await client.post(
        "/api/calls",
        json={"kind": "question", "title": "Wie weet iets van staalbouw?"},
        headers=await token_for(org, "asker"),
    )
    response = await client.get(
        f"/api/calls/{question.json()['id']}/shares", headers=await token_for(org, "asker")
    )
    assert response.status_code == 404


# -- the public landing page ------------------------------------------------------------------


async def _code_of(ctx: AppContext, call_id: int, handle: str) -> str:
    async with ctx.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        assert call is not None
        return (await referrals.link_for(session, call, await _person(session, handle), DAY1)).code


async def test_landing_page_counts_redirects_and_sets_no_cookie(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call_id = await _referral(org)
    code = await _code_of(org, call_id, "sanne.visser")
    browser = {"user-agent": "Mozilla/5.0 (Android 14) Chrome/120 Mobile Safari/537.36"}
    response = await client.get(f"/r/{code}", headers=browser, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == VACANCY
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert not client.cookies
    head = await client.head(f"/r/{code}", headers=browser, follow_redirects=False)
    assert head.status_code == 302 and head.headers["location"] == VACANCY
    robot = await client.get(
        f"/r/{code}", headers={"user-agent": "LinkedInBot/1.0"}, follow_redirects=False
    )
    assert robot.status_code == 302 and "set-cookie" not in robot.headers
    assert sum((await _visits(org, code)).values()) == 1


async def test_an_unknown_link_is_a_friendly_page_in_the_browsers_language(
    client: AsyncTestClient[Any],
) -> None:
    dutch = await client.get("/r/nergens", headers={"accept-language": "nl-NL,nl;q=0.9"})
    assert dutch.status_code == 404
    assert "text/html" in dutch.headers["content-type"]
    assert "Deze link leidt nergens (meer) heen" in dutch.text
    assert "set-cookie" not in dutch.headers
    english = await client.get("/r/nowhere", headers={"accept-language": "en-GB,en;q=0.8"})
    assert english.status_code == 404
    assert "This link leads nowhere (any more)" in english.text
    assert "set-cookie" not in english.headers


# -- your data is yours -----------------------------------------------------------------------


async def test_a_sharer_exports_and_erases_their_share_links(org: AppContext) -> None:
    from askhub.privacy.export import export_of
    from askhub.privacy.service import erase

    call_id = await _referral(org)
    async with org.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        assert call is not None
        sanne = await _person(session, "sanne.visser")
        code = (await referrals.record_share(session, call, sanne, "email", DAY1)).code
        sanne_id = sanne.id
    async with org.sessions() as session, session.begin():
        await referrals.visit(session, code, DAY2)
    async with org.sessions() as session:
        exported = await export_of(session, await _person(session, "sanne.visser"))
    [mine] = exported["share_links"]
    assert mine["call_id"] == call_id
    assert [s["channel"] for s in mine["shares"]] == ["email"]
    assert mine["visits"] == [{"day": DAY2.date().isoformat(), "visits": 1}]

    await erase(org.sessions, org.routing, sanne_id)
    async with org.sessions() as session, session.begin():
        assert await referrals.visit(session, code, DAY2) is None
        call = await service.get_call(session, call_id)
        assert call is not None
        found = await referrals.report(session, call, await _person(session, "asker"))
    assert found.sharers == [] and found.days == []


async def test_the_ask_for_a_referral_leads_to_the_share_page(org: AppContext) -> None:
    from models import Nudge, NudgeKind

    call_id = await _referral(org, now=datetime.now(UTC))
    async with org.sessions() as session:
        asks = (
            await session.scalars(
                select(Nudge).where(Nudge.call_id == call_id, Nudge.kind == NudgeKind.ASK)
            )
        ).all()
        people = {p.id: p for p in (await session.scalars(select(Person))).all()}
    assert asks
    for ask in asks:
        first = ask.payload["links"][0]
        assert first["url"] == f"http://askhub.test/calls/{call_id}/share"
        dutch = "nl" in (people[ask.person_id].languages or [])[:1]
        assert first["label"] == ("Deel het in je netwerk" if dutch else "Share it in your network")
