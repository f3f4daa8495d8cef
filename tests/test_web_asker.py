"""The asker's controls and the board on the web pages: the buttons do what the API does
(the same service), refusals are pages in the reader's language, and the board lists and
filters calls."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from askhub.calls import control, service
from askhub.calls.schemas import CallCreate, ReplyCreate
from askhub.context import AppContext
from askhub.people.service import get_by_handle
from models import Call, CallStatus, Deflection
from tests.test_web_support import sign_in, submit, text_of, web_client, with_passwords

MODEM = CallCreate(
    kind="volunteers",
    title="Testers gezocht voor het nieuwe modem",
    body="Wie test twee weken het nieuwe modem en de firmware thuis?",
    needed=5,
)


async def _post(ctx: AppContext, data: CallCreate, handle: str = "asker") -> int:
    async with ctx.sessions() as session, session.begin():
        asker = await get_by_handle(session, handle)
        assert asker is not None
        call = await service.create_call(session, ctx.routing, ctx.settings, asker, data)
        return call.id


async def _volunteer(ctx: AppContext, call_id: int, handle: str) -> None:
    async with ctx.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        person = await get_by_handle(session, handle)
        assert call and person
        await service.add_reply(session, ctx.settings, call, person, ReplyCreate(kind="volunteer"))


async def _status(ctx: AppContext, call_id: int) -> CallStatus:
    async with ctx.sessions() as session:
        status = await session.scalar(select(Call.status).where(Call.id == call_id))
        assert status is not None
        return status


async def test_the_asker_closes_reopens_edits_and_exports_on_the_call_page(
    org: AppContext,
) -> None:
    await with_passwords(org, ["asker", "bram.devries"])
    call_id = await _post(org, MODEM)
    await _volunteer(org, call_id, "tom.bakker")
    page = f"/calls/{call_id}"
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        shown = await asker.get(page)
        assert "Oproep sluiten" in shown.text and "Downloaden als CSV" in shown.text
        assert "Tom Bakker" in text_of(shown.text)

        exported = await asker.get(f"{page}/volunteers.csv")
        assert exported.status_code == 200
        assert [r["handle"] for r in csv.DictReader(io.StringIO(exported.text))] == ["tom.bakker"]

        sent = await submit(asker, page, f"{page}/message", {"body": "Pakket komt maandag"})
        assert sent.status_code == 303
        assert "Verstuurd naar 1 vrijwilligers." in (await asker.get(page)).text

        closed = await submit(asker, page, f"{page}/close")
        assert closed.status_code == 303 and await _status(org, call_id) == CallStatus.CLOSED
        again = await asker.get(page)
        assert "Heropenen" in again.text and "Oproep sluiten" not in again.text
        twice = await submit(asker, page, f"{page}/extend", {"deadline": "2099-01-01T10:00"})
        assert twice.status_code == 409
        assert "Deze oproep is gesloten: heropen hem met een nieuwe deadline." in twice.text

        reopened = await submit(asker, page, f"{page}/reopen", {"deadline": "2099-01-01T10:00"})
        assert reopened.status_code == 303 and await _status(org, call_id) == CallStatus.OPEN
        bad = await submit(asker, page, f"{page}/extend", {"deadline": "morgen"})
        assert bad.status_code == 422 and "Geef een datum en tijd" in bad.text

        edited = await submit(
            asker,
            f"{page}/edit",
            f"{page}/edit",
            {
                "title": "Testers voor de nieuwe router",
                "body": "Twee weken thuis",
                "tags": "router",
            },
        )
        assert edited.status_code == 303
        assert "Testers voor de nieuwe router" in (await asker.get(page)).text

    async with web_client(org) as bram:
        await sign_in(bram, "bram.devries")
        shown = await bram.get(page)
        assert "Oproep sluiten" not in shown.text
        refused = await submit(bram, page, f"{page}/close")
        assert refused.status_code == 403
        assert "Alleen de vrager of een manager mag dit doen." in refused.text
        assert (await bram.get(f"{page}/volunteers.csv")).status_code == 403
        assert (await bram.get(f"{page}/edit")).status_code == 403
    assert await _status(org, call_id) == CallStatus.OPEN


async def test_the_board_lists_and_filters_calls_open_to_me(org: AppContext) -> None:
    await with_passwords(org, ["bram.devries"])
    modem = await _post(org, MODEM)
    steel = await _post(
        org,
        CallCreate(kind="question", title="Wie weet iets van staalbouw?", body="Stalen hallen"),
    )
    elsewhere = await _post(
        org,
        CallCreate(
            kind="question",
            title="Wie kent het Utrechtse kantoor?",
            audience={"location": "Utrecht"},  # type: ignore[arg-type]
        ),
    )
    async with web_client(org) as bram:
        await sign_in(bram, "bram.devries")
        board = await bram.get("/calls")
        assert board.status_code == 200
        assert f"/calls/{modem}" in board.text and f"/calls/{steel}" in board.text
        assert f"/calls/{elsewhere}" not in board.text  # bram is in Maastricht
        volunteers = await bram.get("/calls", params={"kind": "volunteers"})
        assert f"/calls/{modem}" in volunteers.text and f"/calls/{steel}" not in volunteers.text
        found = await bram.get("/calls", params={"q": "staalbouw"})
        assert f"/calls/{steel}" in found.text and f"/calls/{modem}" not in found.text
        assert "1 oproepen" in found.text
        # From the board, anyone in the audience volunteers without being asked.
        joined = await submit(
            bram, f"/calls/{modem}", f"/calls/{modem}/reply", {"kind": "volunteer"}
        )
        assert joined.status_code == 303


async def test_the_ask_page_shows_answered_calls_like_the_one_typed_and_takes_one(
    org: AppContext,
) -> None:
    await with_passwords(org, ["bram.devries"])
    steel = await _post(
        org,
        CallCreate(
            kind="question",
            title="Wie weet iets van innovatie in staalbouw?",
            body="Ik zoek collega's die met stalen constructies hebben gewerkt.",
        ),
    )
    async with org.sessions() as session, session.begin():
        call = await service.get_call(session, steel)
        sanne = await get_by_handle(session, "sanne.visser")
        asker = await get_by_handle(session, "asker")
        assert call and sanne and asker
        reply = await service.add_reply(
            session, org.settings, call, sanne, ReplyCreate(body="Bel me over de hal in Zwolle.")
        )
        await control.accept(session, org.settings, org.routing, call, reply.id, asker)
    typed = {"kind": "question", "title": "Who knows about steel construction?", "body": ""}
    async with web_client(org) as bram:
        await sign_in(bram, "bram.devries")
        fragment = await submit(bram, "/calls/new", "/calls/similar", typed)
        assert fragment.status_code == 200
        assert f"/calls/{steel}" in fragment.text and "hal in Zwolle" in fragment.text
        other = await submit(
            bram, "/calls/new", "/calls/similar", {**typed, "title": "Parental leave request?"}
        )
        assert f"/calls/{steel}" not in other.text
        assert "Zoiets is nog niet eerder beantwoord." in other.text
        # Without JavaScript the preview button shows the same list.
        no_js = await submit(bram, "/calls/new", "/calls/new", {**typed, "action": "preview"})
        assert "Al eens gevraagd?" in no_js.text and "hal in Zwolle" in no_js.text

        taken = await submit(bram, "/calls/new", f"/calls/{steel}/take", {"query": typed["title"]})
        assert taken.status_code == 303 and taken.headers["location"] == f"/calls/{steel}"
        assert "Er is niemand gevraagd." in (await bram.get(f"/calls/{steel}")).text
    async with org.sessions() as session:
        rows = (await session.scalars(select(Deflection))).all()
        assert [(r.call_id, r.query) for r in rows] == [(steel, typed["title"])]
        assert await session.scalar(select(func.count()).select_from(Call)) == 1
