"""Rules that must hold when many requests arrive at once, through a real server (requests in
flight together, as in production), on SQLite and PostgreSQL: a volunteers call never takes
more than it needs, one person counts once, an address has one owner, a sign-in limit holds
however many guesses arrive at once, and a one-click link acts once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from askhub.auth import accounts
from askhub.calls.links import action_url
from askhub.calls.service import ALREADY_VOLUNTEERED, CALL_FULL
from askhub.context import AppContext
from askhub.routing.availability import asks_in_window, hold_asking
from models import Call, CallKind, CallStatus, Match, Person, Reply, ReplyKind
from tests.served import people_with_tokens, served
from tests.test_api import STAALBOUW, token_for
from tests.test_web_support import PASSWORD, csrf_of, with_passwords

pytestmark = pytest.mark.db

VOLUNTEERS = {
    "kind": "volunteers",
    "title": "Wie test het nieuwe modem binnen 14 dagen?",
    "body": "We zoeken collega's die thuis het KPN1 Connect modem willen testen.",
}


async def _volunteer_rows(ctx: AppContext, call_id: int) -> list[int]:
    async with ctx.sessions() as session:
        return list(
            await session.scalars(
                select(Reply.person_id).where(
                    Reply.call_id == call_id, Reply.kind == ReplyKind.VOLUNTEER
                )
            )
        )


async def test_fifty_concurrent_volunteers_fill_five_places_exactly(org: AppContext) -> None:
    volunteers = await people_with_tokens(org, "vol", 50)
    async with served(org) as client:
        created = await client.post(
            "/api/calls", json={**VOLUNTEERS, "needed": 5}, headers=await token_for(org, "asker")
        )
        assert created.status_code == 201, created.text
        call_id = created.json()["id"]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/api/calls/{call_id}/replies", json={"kind": "volunteer"}, headers=auth
                )
                for auth in volunteers
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 45, statuses
    assert all(r.json()["detail"] == CALL_FULL for r in responses if r.status_code == 409)
    rows = await _volunteer_rows(org, call_id)
    assert len(rows) == len(set(rows)) == 5
    async with org.sessions() as session:
        call = await session.get(Call, call_id)
        assert call is not None and call.status == CallStatus.FILLED


async def test_twenty_concurrent_volunteer_posts_by_one_person_make_one_row(
    org: AppContext,
) -> None:
    [auth] = await people_with_tokens(org, "eager", 1)
    async with served(org) as client:
        created = await client.post(
            "/api/calls", json={**VOLUNTEERS, "needed": 3}, headers=await token_for(org, "asker")
        )
        call_id = created.json()["id"]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/api/calls/{call_id}/replies", json={"kind": "volunteer"}, headers=auth
                )
                for _ in range(20)
            )
        )
        call = (await client.get(f"/api/calls/{call_id}", headers=auth)).json()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, statuses
    assert all(r.json()["detail"] == ALREADY_VOLUNTEERED for r in responses if r.status_code == 409)
    assert len(await _volunteer_rows(org, call_id)) == 1
    assert call["volunteers"] == 1 and call["status"] == "open"
    async with org.sessions() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Reply).where(Reply.call_id == call_id)
            )
            == 1
        )


ADDRESS = "new.colleague@example.com"


async def test_ten_people_claiming_one_address_at_once_leave_it_with_one(
    org: AppContext,
) -> None:
    claimants = await people_with_tokens(org, "claim", 10)
    async with served(org) as client:
        responses = await asyncio.gather(
            *(
                client.put(
                    "/api/people/me",
                    json={"email": "NEW.COLLEAGUE@EXAMPLE.COM" if n % 2 else ADDRESS},
                    headers=auth,
                )
                for n, auth in enumerate(claimants)
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 9, statuses
    assert all(r.json()["errors"][0]["field"] == "email" for r in responses if r.status_code == 409)
    async with org.sessions() as session:
        owners = await session.scalar(
            select(func.count()).select_from(Person).where(func.lower(Person.email) == ADDRESS)
        )
    assert owners == 1


async def test_sixty_concurrent_sign_ins_get_at_most_the_limit_checked(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 guesses at once, the right password 50th: only the limit's worth of passwords may be
    checked at all (it used to be every one of them, and the 50th signed in)."""
    await with_passwords(org, ["asker"])
    checked = []
    verify = accounts._verify

    def counting(stored: str, password: str) -> bool:
        checked.append(password)
        return verify(stored, password)

    monkeypatch.setattr(accounts, "_verify", counting)
    async with served(org) as client:
        token = csrf_of((await client.get("/login")).text)
        guesses = [f"wrong guess {n}" for n in range(60)]
        guesses[49] = PASSWORD
        responses = await asyncio.gather(
            *(
                client.post(
                    "/login",
                    data={"_csrf_token": token, "handle": "asker", "password": guess},
                    follow_redirects=False,
                )
                for guess in guesses
            )
        )
    limit = 5  # ASKHUB_LOGIN_MAX_FAILURES
    statuses = [r.status_code for r in responses]
    assert len(checked) <= limit, len(checked)
    assert statuses.count(429) >= len(guesses) - limit
    assert statuses.count(401) + statuses.count(303) == len(checked)
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)


async def test_one_click_link_posted_ten_times_at_once_acts_once(org: AppContext) -> None:
    async with served(org) as client:
        created = await client.post(
            "/api/calls", json=STAALBOUW, headers=await token_for(org, "asker")
        )
        call = created.json()
        asked = next(m["person"]["handle"] for m in call["matches"] if m["state"] == "nudged")
        async with org.sessions() as session:
            person = await session.scalar(select(Person).where(Person.handle == asked))
        assert person is not None
        link = action_url(org.settings, call["id"], person.id, "reply")
        path = link.removeprefix(org.settings.base_url)
        responses = await asyncio.gather(
            *(client.post(path, data={"body": f"Antwoord {n}"}) for n in range(10))
        )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 9
    async with org.sessions() as session:
        replies = await session.scalar(
            select(func.count()).select_from(Reply).where(Reply.call_id == call["id"])
        )
    assert replies == 1


@pytest.mark.parametrize("kind", ["question", "volunteers"])
async def test_thirty_calls_posted_at_once_ask_nobody_beyond_their_limits(
    org: AppContext, kind: str
) -> None:
    """Each post reads how often its candidates were asked, then asks: thirty posts on one
    topic at once must not all see the same experts as free and ask them thirty times. Nobody
    ends with more open asks than ASKHUB_MAX_OPEN_ASKS, nor more asks this week than their
    budget."""
    call = STAALBOUW if kind == "question" else {**VOLUNTEERS, "needed": 4}
    askers = await people_with_tokens(org, "asker", 30)
    async with org.sessions() as session, session.begin():
        await session.execute(update(Person).values(nudge_budget_per_week=3))
    async with served(org, max_open_asks=2) as client:
        responses = await asyncio.gather(
            *(
                client.post("/api/calls", json={**call, "title": f"{call['title']} {n}"}, headers=a)
                for n, a in enumerate(askers)
            )
        )
    assert [r.status_code for r in responses] == [201] * 30, [r.text[:200] for r in responses]
    async with org.sessions() as session:
        asked = dict(
            (
                await session.execute(
                    select(Match.person_id, func.count())
                    .where(Match.nudged_at.is_not(None), Match.introduced.is_(False))
                    .group_by(Match.person_id)
                )
            ).all()
        )
    assert asked, "nobody was asked at all"
    assert max(asked.values()) <= 2, sorted(asked.values(), reverse=True)[:10]


async def test_a_decider_counts_the_asks_of_one_that_held_the_lock_before_it(
    org: AppContext,
) -> None:
    """The scheduler's next wave and a post decide whom to ask in separate transactions: the
    second to take the asking lock counts the first one's asks once that commits, instead of
    counting before them and asking someone past their budget (on SQLite a tick read its
    counts before taking the write lock)."""
    async with org.sessions() as session, session.begin():
        expert = await session.scalar(select(Person).where(Person.handle == "bram.devries"))
        asker = await session.scalar(select(Person).where(Person.handle == "asker"))
        assert expert is not None and asker is not None
        call = Call(asker_id=asker.id, kind=CallKind.QUESTION, title="Staalbouw?")
        session.add(call)
        await session.flush()
        call_id, expert_id = call.id, expert.id
    now = datetime.now(UTC)
    first_holds = asyncio.Event()
    first_may_commit = asyncio.Event()

    async def first() -> None:
        async with org.sessions() as session, session.begin():
            await hold_asking(session)
            first_holds.set()
            await first_may_commit.wait()
            session.add(
                Match(call_id=call_id, person_id=expert_id, rank=1, score=1.0, nudged_at=now)
            )

    async def second() -> int:
        await first_holds.wait()
        async with org.sessions() as session, session.begin():
            await hold_asking(session)
            return (await asks_in_window(session, [expert_id], now)).get(expert_id, 0)

    holding = asyncio.create_task(first())
    counting = asyncio.create_task(second())
    await first_holds.wait()
    # Give the second decider every chance to count before the first one's ask exists.
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert not counting.done(), "the second decider counted while the first held the lock"
    first_may_commit.set()
    await holding
    assert await counting == 1
