"""The asker in control, through the API: close, reopen, edit, extend, withdraw, accept and
thank; the volunteers' list, CSV and message; who may do it; and what the people asked are
told. Messages are read from the outbox (in-app here; tests/test_nudge_loop.py covers email)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from askhub.app import create_app
from askhub.calls.scheduled import lifecycle_tick
from askhub.context import AppContext
from askhub.i18n import translator
from askhub.people.service import get_by_handle
from models import Call, Deflection, Nudge, NudgeKind, Role
from tests.served import served
from tests.test_api import STAALBOUW, token_for

MODEM = {
    "kind": "volunteers",
    "title": "Testers gezocht voor het nieuwe modem",
    "body": "Wie test twee weken het nieuwe modem en de firmware thuis?",
    "needed": 2,
}


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


def says(subject: str, message: str) -> bool:
    """``subject`` is the catalogue message ``message`` (its title left out), in the reader's
    language: English or Dutch, whichever the person reads."""
    return any(subject.startswith(translator(lang)(message, title="")) for lang in ("en", "nl"))


async def messages(ctx: AppContext, handle: str, kind: NudgeKind | None = None) -> list[str]:
    """The subjects of what ``handle`` was sent, in order."""
    async with ctx.sessions() as session:
        person = await get_by_handle(session, handle)
        assert person is not None
        query = select(Nudge).where(Nudge.person_id == person.id).order_by(Nudge.id)
        if kind is not None:
            query = query.where(Nudge.kind == kind)
        rows = (await session.scalars(query)).all()
    # One message per idempotency key, whatever the channels it went through.
    sent = {row.idempotency_key.rsplit(":", 1)[0]: str(row.payload["subject"]) for row in rows}
    return list(sent.values())


def asked(call: dict[str, Any]) -> list[str]:
    return [m["person"]["handle"] for m in call["matches"] if m["state"] in ("asked", "nudged")]


async def post_call(
    client: AsyncTestClient[Any], org: AppContext, body: dict[str, Any], handle: str = "asker"
) -> dict[str, Any]:
    response = await client.post("/api/calls", json=body, headers=await token_for(org, handle))
    assert response.status_code == 201, response.text
    call: dict[str, Any] = response.json()
    return call


async def test_closing_tells_the_people_still_asked_and_stops_replies_and_reminders(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    asker = await token_for(org, "asker")
    call = await post_call(client, org, STAALBOUW)
    waiting = asked(call)
    assert waiting, "the first wave asked somebody"

    closed = await client.post(f"/api/calls/{call['id']}/close", headers=asker)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed" and body["closed_at"]
    assert all(m["state"] == "expired" for m in body["matches"])
    for handle in waiting:
        assert any(says(s, "No longer needed: {title}") for s in await messages(org, handle)), (
            handle
        )

    late = await client.post(
        f"/api/calls/{call['id']}/replies",
        json={"body": "Te laat?"},
        headers=await token_for(org, waiting[0]),
    )
    assert late.status_code == 409
    again = await client.post(f"/api/calls/{call['id']}/close", headers=asker)
    # The asker reads Dutch.
    assert again.status_code == 409 and "al gesloten" in again.json()["detail"]

    # Long after, the ticks send nobody a reminder or a next wave about it.
    before = {h: await messages(org, h) for h in waiting}
    result = await lifecycle_tick(org.sessions, org.settings, datetime.now(UTC) + timedelta(days=3))
    assert result.reminders == 0 and result.waves == 0
    assert {h: await messages(org, h) for h in waiting} == before


async def test_only_the_asker_or_a_manager_controls_a_call(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call = await post_call(client, org, MODEM)
    expert = await token_for(org, asked(call)[0])
    bystander = await token_for(org, "bram.devries")
    path = f"/api/calls/{call['id']}"
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    for headers in (expert, bystander):
        for method, url, body in [
            ("POST", f"{path}/close", None),
            ("POST", f"{path}/reopen", None),
            ("POST", f"{path}/withdraw", None),
            ("POST", f"{path}/extend", {"deadline": future}),
            ("PATCH", path, {"title": "Niet van jou"}),
            ("GET", f"{path}/volunteers", None),
            ("GET", f"{path}/volunteers.csv", None),
            ("POST", f"{path}/message", {"body": "Hallo allemaal"}),
        ]:
            response = await client.request(method, url, json=body, headers=headers)
            assert response.status_code == 403, (method, url, response.text)
            # In the reader's language (the people asked read Dutch or English).
            assert response.json()["detail"] in {
                "Only the asker or a manager may do this.",
                "Alleen de vrager of een manager mag dit doen.",
                "Only the asker may do this.",
                "Alleen de vrager mag dit doen.",
            }
    unchanged = (await client.get(path, headers=await token_for(org, "asker"))).json()
    assert unchanged["status"] == "open" and unchanged["title"] == MODEM["title"]

    # A manager may close and extend (facilitating), but the words stay the asker's.
    manager = await token_for(org, "noor.jansen", Role.MANAGER)
    assert (
        await client.post(f"{path}/extend", json={"deadline": future}, headers=manager)
    ).status_code == 200
    assert (
        await client.patch(path, json={"title": "Van de manager"}, headers=manager)
    ).status_code == 403
    assert (await client.post(f"{path}/close", headers=manager)).status_code == 200


async def test_reopen_extend_and_edit(client: AsyncTestClient[Any], org: AppContext) -> None:
    asker = await token_for(org, "asker")
    deadline = datetime.now(UTC) + timedelta(days=1)
    call = await post_call(client, org, {**STAALBOUW, "deadline": deadline.isoformat()})
    path = f"/api/calls/{call['id']}"

    later = deadline + timedelta(days=6)
    extended = await client.post(
        f"{path}/extend", json={"deadline": later.isoformat()}, headers=asker
    )
    assert extended.status_code == 200
    assert datetime.fromisoformat(extended.json()["deadline"]) == later
    past = await client.post(
        f"{path}/extend", json={"deadline": "2020-01-01T00:00:00+00:00"}, headers=asker
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "deadline"
    naive = await client.post(
        f"{path}/extend", json={"deadline": "2030-01-01T00:00:00"}, headers=asker
    )
    assert naive.status_code == 422 and "deadline" in naive.text

    assert (await client.post(f"{path}/reopen", headers=asker)).status_code == 409  # not closed
    await client.post(f"{path}/close", headers=asker)
    assert (
        await client.post(f"{path}/extend", json={"deadline": later.isoformat()}, headers=asker)
    ).status_code == 409
    reopened = await client.post(f"{path}/reopen", headers=asker)
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    assert reopened.json()["closed_at"] is None

    edited = await client.patch(
        path,
        json={"title": "Wie kent de nieuwe glasvezel-splitters?", "tags": ["glasvezel"]},
        headers=asker,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"].startswith("Wie kent") and edited.json()["tags"] == ["glasvezel"]
    assert edited.json()["body"] == STAALBOUW["body"]
    blank = await client.patch(path, json={"title": "   "}, headers=asker)
    assert blank.status_code == 422 and "title" in blank.text
    assert (
        await client.patch("/api/calls/999999", json={"title": "abc"}, headers=asker)
    ).status_code == 404


async def test_a_call_whose_deadline_passed_reopens_only_with_a_new_one(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    asker = await token_for(org, "asker")
    call = await post_call(
        client, org, {**STAALBOUW, "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    )
    # The hour passes: the deadline lies behind us and the tick closes the call.
    async with org.sessions() as session, session.begin():
        stored = await session.get(Call, call["id"])
        assert stored is not None
        stored.deadline = datetime.now(UTC) - timedelta(minutes=1)
    await lifecycle_tick(org.sessions, org.settings, datetime.now(UTC))
    path = f"/api/calls/{call['id']}"
    assert (await client.get(path, headers=asker)).json()["status"] == "expired"
    refused = await client.post(f"{path}/reopen", headers=asker)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "deadline"
    new = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    again = await client.post(f"{path}/reopen", json={"deadline": new}, headers=asker)
    assert again.status_code == 200 and again.json()["status"] == "open"


async def test_accepting_an_answer_closes_the_question_unless_kept_open(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    asker = await token_for(org, "asker")
    for keep_open in (False, True):
        call = await post_call(client, org, STAALBOUW)
        first, *others = asked(call)
        reply = (
            await client.post(
                f"/api/calls/{call['id']}/replies",
                json={"body": "Bel me over de hal in Zwolle."},
                headers=await token_for(org, first),
            )
        ).json()
        accepted = await client.post(
            f"/api/calls/{call['id']}/replies/{reply['id']}/accept",
            json={"keep_open": keep_open},
            headers=asker,
        )
        assert accepted.status_code == 200 and accepted.json()["accepted"] is True
        after = (await client.get(f"/api/calls/{call['id']}", headers=asker)).json()
        if keep_open:
            assert after["status"] == "answered"
        else:
            assert after["status"] == "closed"
            for handle in others:
                told = [
                    s for s in await messages(org, handle) if says(s, "No longer needed: {title}")
                ]
                assert told, handle
        await client.post(f"/api/calls/{call['id']}/close", headers=asker)


async def test_thanking_a_reply_tells_its_author_once(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call = await post_call(client, org, STAALBOUW)
    expert = asked(call)[0]
    reply = (
        await client.post(
            f"/api/calls/{call['id']}/replies",
            json={"body": "Zie mijn rapport."},
            headers=await token_for(org, expert),
        )
    ).json()
    other = await client.post(
        f"/api/replies/{reply['id']}/thank", headers=await token_for(org, expert)
    )
    assert other.status_code == 403
    for _ in range(2):
        thanked = await client.post(
            f"/api/replies/{reply['id']}/thank", headers=await token_for(org, "asker")
        )
        assert thanked.status_code == 200 and thanked.json()["thanked"] is True
    assert [s for s in await messages(org, expert) if "bedankt je" in s] == [
        f"Anna Asker bedankt je: {STAALBOUW['title']}"
    ]
    assert (
        await client.post("/api/replies/999999/thank", headers=await token_for(org, "asker"))
    ).status_code == 404


async def test_withdrawing_a_call_tells_the_asked_and_the_volunteers(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call = await post_call(client, org, {**MODEM, "needed": 5})
    waiting = asked(call)
    await client.post(
        f"/api/calls/{call['id']}/replies",
        json={"kind": "volunteer"},
        headers=await token_for(org, waiting[0]),
    )
    withdrawn = await client.post(
        f"/api/calls/{call['id']}/withdraw", headers=await token_for(org, "asker")
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert any(says(s, "Called off: {title}") for s in await messages(org, waiting[0]))
    for handle in waiting[1:]:
        assert any(says(s, "No longer needed: {title}") for s in await messages(org, handle))
    refused = await client.post(
        f"/api/calls/{call['id']}/replies",
        json={"kind": "volunteer"},
        headers=await token_for(org, "tom.bakker"),
    )
    assert refused.status_code == 409
    board = await client.get("/api/calls", headers=await token_for(org, "tom.bakker"))
    assert call["id"] not in [c["id"] for c in board.json()]


async def test_a_volunteer_withdraws_and_the_asker_hears_again_when_it_refills(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call = await post_call(client, org, MODEM)
    path = f"/api/calls/{call['id']}"
    first, second = "amy.chen", "henk.mulder"
    waiting = [h for h in asked(call) if h not in (first, second)]
    for handle in (first, second):
        response = await client.post(
            f"{path}/replies", json={"kind": "volunteer"}, headers=await token_for(org, handle)
        )
        assert response.status_code == 201, response.text
    asker = await token_for(org, "asker")
    assert (await client.get(path, headers=asker)).json()["status"] == "filled"
    assert len([s for s in await messages(org, "asker") if says(s, "Filled: {title}")]) == 1
    for handle in waiting:
        assert any(says(s, "Full, thank you: {title}") for s in await messages(org, handle))

    gone = await client.delete(f"{path}/volunteering", headers=await token_for(org, second))
    assert gone.status_code == 200 and gone.json()["status"] == "open"
    assert gone.json()["volunteers"] == 1
    again = await client.delete(f"{path}/volunteering", headers=await token_for(org, second))
    assert again.status_code == 409
    reopened = (await client.get(path, headers=asker)).json()
    for handle in waiting:
        # Asked again as before, and told a place came free.
        state = next(m["state"] for m in reopened["matches"] if m["person"]["handle"] == handle)
        assert state in ("nudged", "seen"), (handle, state)
        assert any(says(s, "A place came free: {title}") for s in await messages(org, handle))

    refill = await client.post(
        f"{path}/replies", json={"kind": "volunteer"}, headers=await token_for(org, "tom.bakker")
    )
    assert refill.status_code == 201
    assert (await client.get(path, headers=asker)).json()["status"] == "filled"
    assert len([s for s in await messages(org, "asker") if says(s, "Filled: {title}")]) == 2


async def test_volunteers_list_csv_and_one_message_to_all(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call = await post_call(client, org, {**MODEM, "needed": 10})
    path = f"/api/calls/{call['id']}"
    asker = await token_for(org, "asker")
    assert (
        await client.post(f"{path}/message", json={"body": "Hallo"}, headers=asker)
    ).status_code == 409
    notes = {"amy.chen": '=HYPERLINK("http://evil")', "tom.bakker": "Ik heb glasvezel thuis"}
    for handle, note in notes.items():
        await client.post(
            f"{path}/replies",
            json={"kind": "volunteer", "body": note},
            headers=await token_for(org, handle),
        )
    listed = (await client.get(f"{path}/volunteers", headers=asker)).json()
    assert [v["person"]["handle"] for v in listed] == ["amy.chen", "tom.bakker"]
    assert listed[0]["email"] == "amy@example.com"

    exported = await client.get(f"{path}/volunteers.csv", headers=asker)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["handle"] for r in rows] == ["amy.chen", "tom.bakker"]
    assert rows[1]["email"] == "tom@example.com" and rows[1]["note"] == notes["tom.bakker"]
    assert rows[0]["note"].startswith("'=")  # no formula runs in a spreadsheet

    sent = await client.post(
        f"{path}/message", json={"body": "Het pakket komt maandag."}, headers=asker
    )
    assert sent.status_code == 200 and sent.json() == {"sent_to": 2}
    for handle in notes:
        assert any("Anna Asker about" in s for s in await messages(org, handle))
    assert not any("Anna Asker about" in s for s in await messages(org, "bram.devries"))
    empty = await client.post(f"{path}/message", json={"body": "   "}, headers=asker)
    assert empty.status_code == 422 and "body" in empty.text


async def test_a_question_without_a_deadline_closes_after_the_set_period(
    org: AppContext,
) -> None:
    settings = replace(org.settings, close_undated_after=7 * 24 * 3600)
    app = create_app(settings=settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as client:
        call = await post_call(client, org, STAALBOUW)
        waiting = asked(call)
        now = datetime.now(UTC)
        early = await lifecycle_tick(org.sessions, settings, now + timedelta(days=6))
        assert early.closed == 0
        done = await lifecycle_tick(org.sessions, settings, now + timedelta(days=8))
        assert done.closed == 1
        after = (
            await client.get(f"/api/calls/{call['id']}", headers=await token_for(org, "asker"))
        ).json()
        assert after["status"] == "expired"
    summaries = await messages(org, "asker", NudgeKind.SUMMARY)
    assert summaries == [f"Gesloten: {STAALBOUW['title']}"]
    for handle in waiting:
        assert any(says(s, "No longer needed: {title}") for s in await messages(org, handle))
    # Ticks again: nothing twice.
    await lifecycle_tick(org.sessions, settings, now + timedelta(days=9))
    assert await messages(org, "asker", NudgeKind.SUMMARY) == summaries


async def test_an_audience_limited_call_takes_answers_from_its_audience_and_the_asked(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    call = await post_call(client, org, {**STAALBOUW, "audience": {"location": "Utrecht"}})
    path = f"/api/calls/{call['id']}/replies"
    # joost.smit is in Utrecht and was not asked: he may answer without being asked.
    inside = await client.post(
        path, json={"body": "Ik weet wat"}, headers=await token_for(org, "joost.smit")
    )
    assert inside.status_code == 201, inside.text
    outside = await client.post(
        path, json={"body": "Ik ook"}, headers=await token_for(org, "bram.devries")
    )
    assert outside.status_code == 403  # in Bram's language, Dutch
    assert outside.json()["detail"] == (
        "Deze oproep is bedoeld voor collega's van een andere afdeling of locatie."
    )
    # The board lists it for people in the audience only when they ask for theirs.
    for handle, listed in (("joost.smit", True), ("bram.devries", False)):
        board = await client.get(
            "/api/calls", params={"open-to-me": "true"}, headers=await token_for(org, handle)
        )
        assert (call["id"] in [c["id"] for c in board.json()]) is listed, handle


async def test_the_board_filters_and_pages_with_a_total(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    ids = []
    for n in range(3):
        ids.append(
            (await post_call(client, org, {**STAALBOUW, "title": f"Staalbouw vraag {n}"}))["id"]
        )
    modem = (await post_call(client, org, MODEM))["id"]
    me = await token_for(org, "bram.devries")
    page = await client.get("/api/calls", params={"kind": "question", "limit": 2}, headers=me)
    assert page.status_code == 200 and page.headers["x-total-count"] == "3"
    assert [c["id"] for c in page.json()] == ids[::-1][:2]
    rest = await client.get(
        "/api/calls", params={"kind": "question", "limit": 2, "offset": 2}, headers=me
    )
    assert [c["id"] for c in rest.json()] == [ids[0]]
    found = await client.get("/api/calls", params={"q": "modem"}, headers=me)
    assert [c["id"] for c in found.json()] == [modem] and found.headers["x-total-count"] == "1"
    by_body = await client.get("/api/calls", params={"q": "FIRMWARE"}, headers=me)
    assert [c["id"] for c in by_body.json()] == [modem]
    wild = await client.get("/api/calls", params={"q": "%"}, headers=me)
    assert wild.json() == [] and wild.headers["x-total-count"] == "0"
    bad = await client.get("/api/calls", params={"kind": "poll"}, headers=me)
    assert bad.status_code in (400, 422)
    # Anyone may volunteer from the board without being asked.
    joined = await client.post(
        f"/api/calls/{modem}/replies", json={"kind": "volunteer"}, headers=me
    )
    assert joined.status_code == 201


@pytest.mark.db
async def test_fifty_simultaneous_close_reopen_extend_keep_the_call_consistent(
    org: AppContext,
) -> None:
    """Through a real server, all at once: every request either acts or is refused (409),
    each close that acts follows a reopen that acted, and the call ends in one consistent
    state; the people asked are told once."""
    asker = await token_for(org, "asker")
    start = datetime.now(UTC)
    async with served(org) as client:
        created = await client.post(
            "/api/calls",
            json={**STAALBOUW, "deadline": (start + timedelta(days=1)).isoformat()},
            headers=asker,
        )
        assert created.status_code == 201, created.text
        call = created.json()
        path = f"/api/calls/{call['id']}"
        deadlines = [(start + timedelta(days=2, hours=n)).isoformat() for n in range(50)]

        def request(n: int) -> Any:
            if n % 3 == 0:
                return client.post(f"{path}/close", headers=asker)
            if n % 3 == 1:
                return client.post(f"{path}/reopen", headers=asker)
            return client.post(f"{path}/extend", json={"deadline": deadlines[n]}, headers=asker)

        responses = await asyncio.gather(*(request(n) for n in range(50)))
        final = (await client.get(path, headers=asker)).json()
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 409}, codes
    closes = sum(1 for n, r in enumerate(responses) if n % 3 == 0 and r.status_code == 200)
    reopens = sum(1 for n, r in enumerate(responses) if n % 3 == 1 and r.status_code == 200)
    assert closes >= 1
    # Closing needs an open call and reopening a closed one: they alternate.
    assert closes - reopens == (1 if final["status"] == "closed" else 0), (closes, reopens)
    assert (final["closed_at"] is None) == (final["status"] == "open")
    extended = [
        r.json()["deadline"] for n, r in enumerate(responses) if n % 3 == 2 and r.status_code == 200
    ]
    if extended:
        assert final["deadline"] in extended
    for handle in asked(call):
        told = [s for s in await messages(org, handle) if says(s, "No longer needed: {title}")]
        assert len(told) == 1, (handle, told)


async def test_asked_before_offers_answered_calls_and_records_a_deflection(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    asker = await token_for(org, "asker")
    call = await post_call(client, org, STAALBOUW)
    modem = await post_call(client, org, MODEM)  # open, not filled: nothing to take yet
    expert = asked(call)[0]
    reply = (
        await client.post(
            f"/api/calls/{call['id']}/replies",
            json={"body": "Gebruik geboute verbindingen; ik heb de hal in Zwolle begeleid."},
            headers=await token_for(org, expert),
        )
    ).json()
    bram = await token_for(org, "bram.devries")
    typed = {"kind": "question", "title": "Who knows about steel construction?"}
    before = await client.post("/api/calls/similar", json=typed, headers=bram)
    assert before.status_code == 200 and before.json() == []  # no accepted answer yet
    await client.post(f"/api/calls/{call['id']}/replies/{reply['id']}/accept", headers=asker)

    found = await client.post("/api/calls/similar", json=typed, headers=bram)
    assert found.status_code == 200, found.text
    offered = found.json()
    assert [s["id"] for s in offered] == [call["id"]]
    assert offered[0]["answers"][0]["body"].startswith("Gebruik geboute")
    assert offered[0]["answers"][0]["accepted"] is True
    unrelated = await client.post(
        "/api/calls/similar",
        json={"kind": "question", "title": "How do I request parental leave?"},
        headers=bram,
    )
    assert unrelated.json() == []
    bad = await client.post("/api/calls/similar", json={"kind": "question"}, headers=bram)
    assert bad.status_code == 422 and "title" in bad.text

    taken = await client.post(
        f"/api/calls/{call['id']}/deflections", json={"query": typed["title"]}, headers=bram
    )
    assert taken.status_code == 201 and taken.json() == {"call_id": call["id"], "deflections": 1}
    async with org.sessions() as session:
        row = await session.scalar(select(Deflection))
        assert row is not None and row.query == typed["title"]
        assert row.person_id == (await get_by_handle(session, "bram.devries")).id  # type: ignore[union-attr]
    refused = await client.post(f"/api/calls/{modem['id']}/deflections", headers=bram)
    assert refused.status_code == 409
    # Nobody was asked for the typed question: no call was stored for it.
    mine = await client.get("/api/calls", params={"mine": "true"}, headers=bram)
    assert mine.json() == []
