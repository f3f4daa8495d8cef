"""Better nobody than a stranger: the relevance floor, honest "nobody", readable evidence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from askhub.app import create_app
from askhub.context import AppContext
from askhub.i18n import translator
from indexer.lexical import STOPWORDS
from models import Availability, Nudge, Person
from tests.test_api import token_for


@pytest.fixture
async def client(org: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=org.settings, embedder=org.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def test_an_off_topic_call_asks_nobody_and_tells_the_asker_at_once(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    auth = await token_for(org, "asker")
    response = await client.post(
        "/api/calls",
        json={
            "kind": "question",
            "title": "Wie kan mijn harp stemmen voor het concert?",
            "body": "De snaren van mijn concertharp ontstemmen steeds.",
        },
        headers=auth,
    )
    assert response.status_code == 201, response.text
    call = response.json()
    assert call["matches"] == []
    async with org.sessions() as session:
        asker = await session.scalar(select(Person).where(Person.handle == "asker"))
        assert asker is not None
        told = (
            await session.scalars(
                select(Nudge).where(Nudge.person_id == asker.id, Nudge.call_id == call["id"])
            )
        ).all()
        everyone_else = (
            await session.scalars(select(Nudge).where(Nudge.person_id != asker.id))
        ).all()
    assert told, "the asker must hear at once that nobody was found"
    # In the asker's language (the test asker reads Dutch).
    subjects = {str(n.payload["subject"]) for n in told}
    assert subjects & {
        translator(lang)("Nobody found yet for: {title}", title=call["title"])
        for lang in ("en", "nl")
    }
    assert everyone_else == []


async def test_with_the_steel_experts_away_nobody_without_steel_evidence_is_asked(
    client: AsyncTestClient[Any], org: AppContext
) -> None:
    async with org.sessions() as session, session.begin():
        await session.execute(
            update(Person)
            .where(Person.handle.in_(["sanne.visser", "mark.jones"]))
            .values(availability=Availability.AWAY)
        )
    auth = await token_for(org, "asker")
    response = await client.post(
        "/api/calls",
        json={
            "kind": "question",
            "title": "Wie kan tekeningen van een stalen bordes controleren?",
            "body": "Voor de nieuwe entree hebben we een stalen bordes laten tekenen.",
            "tags": ["staalbouw"],
        },
        headers=auth,
    )
    assert response.status_code == 201, response.text
    matches = response.json()["matches"]
    handles = {m["person"]["handle"] for m in matches}
    assert not handles & {"sanne.visser", "mark.jones", "asker"}
    # Whoever is left may only be asked on evidence about steel, never to fill a wave.
    for match in matches:
        text = " ".join(f"{r['title']} {r['snippet']}".lower() for r in match["reasons"])
        assert "sta" in text or "steel" in text, match


async def test_stopwords_and_call_glue_never_show_as_matched_terms(org: AppContext) -> None:
    calls = [
        "Wie wil twee weken gezocht testers voor het nieuwe modem?",
        "Who would know anything about the firmware of our new routers?",
        "Iemand met ervaring in staalbouw gezocht voor twee weken",
    ]
    seen: set[str] = set()
    async with org.sessions() as session:
        for text in calls:
            for routed in await org.routing.route(session, text, k=5):
                for reason in routed.reasons:
                    seen.update(reason["matched_terms"])  # type: ignore[arg-type]
    assert seen, "the calls should match someone on their topic words"
    assert not seen & STOPWORDS
    assert not seen & {"wil", "gezocht", "twee", "weken", "the", "who", "would"}


async def test_the_ask_preview_marks_who_is_held_back_and_why(org: AppContext) -> None:
    from tests.test_web_support import sign_in, submit, web_client, with_passwords

    async with org.sessions() as session, session.begin():
        await session.execute(
            update(Person)
            .where(Person.handle == "sanne.visser")
            .values(availability=Availability.AWAY)
        )
    await with_passwords(org, ["asker"])
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        preview = await submit(
            asker,
            "/calls/new",
            "/calls/preview",
            {"kind": "question", "title": "Wie weet iets van staalbouw?", "body": "", "tags": ""},
        )
    assert preview.status_code == 200
    items = preview.text.split('<li class="match')[1:]
    by_name = {
        name: item for item in items for name in ("Sanne Visser", "Mark Jones") if name in item
    }
    # The asker reads Dutch: the reasons are in Dutch too.
    assert "niet gevraagd: afwezig" in by_name["Sanne Visser"]
    assert "wordt gevraagd" in by_name["Mark Jones"]
