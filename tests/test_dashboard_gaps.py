"""Knowledge gaps on real embeddings, and the managers' weekly digest through the outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from askhub.calls.service import index_call
from askhub.context import AppContext
from askhub.dashboard import gaps
from askhub.dashboard.scheduled import send_manager_digests
from askhub.dashboard.service import Scope
from askhub.nudges.payload import NudgePayload
from askhub.people.service import get_by_handle
from models import Call, CallKind, CallStatus, Nudge, NudgeKind, Person, Reply, ReplyKind, Role

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)  # a Wednesday

# Nobody in the test organisation has written about the EU AI Act; two people know steel.
AI_ACT = [
    "Valt onze chatbot onder de AI-verordening?",
    "Who knows the EU AI Act obligations for our prediction model?",
    "Wat moeten we documenteren voor de AI Act?",
    "Is our AI credit check high-risk under the EU AI Act?",
    "Welke AI Act-regels gelden voor onze klantenservice-bot?",
    "EU AI Act: who checks our models for compliance?",
]
STEEL = [
    "Wie weet iets van staalbouw voor een antennemast?",
    "Kan iemand een staalconstructie narekenen?",
    "Who can review steel construction drawings for the exchange?",
    "Welke boutverbindingen gebruiken we in staalbouw?",
    "Steel frame design for a new technical building, who knows?",
]


async def _ask(ctx: AppContext, titles: list[str], asker: str, days: int) -> list[int]:
    ids = []
    async with ctx.sessions() as session, session.begin():
        person = await get_by_handle(session, asker)
        assert person is not None
        for n, title in enumerate(titles):
            call = Call(
                asker_id=person.id,
                kind=CallKind.QUESTION,
                title=title,
                created_at=NOW - timedelta(days=days, hours=n),
            )
            session.add(call)
            await session.flush()
            await index_call(session, ctx.routing, call)
            ids.append(call.id)
    return ids


async def test_a_topic_asked_often_that_nobody_knows_is_named_first(org: AppContext) -> None:
    ai = await _ask(org, AI_ACT, "asker", 3)
    steel = await _ask(org, STEEL, "eva.brown", 5)
    async with org.sessions() as session, session.begin():
        sanne = await get_by_handle(session, "sanne.visser")
        assert sanne is not None
        for call_id in steel:
            session.add(Reply(call_id=call_id, person_id=sanne.id, body="Zo.", created_at=NOW))
    async with org.sessions() as session:
        found = await gaps.knowledge_gaps(
            session, org.routing, Scope(NOW - timedelta(days=28), NOW)
        )
    first = found[0]
    assert first.gap
    assert sorted(first.call_ids) == sorted(ai)
    assert {"ai", "act"} <= set(first.terms)
    assert first.people_with_evidence == 0 and first.answered == 0
    steel_topic = next(g for g in found if set(g.call_ids) & set(steel))
    assert not steel_topic.gap
    assert steel_topic.answered == len(steel_topic.call_ids)
    # Sanne answered; her and Mark's profiles and posts are about steel.
    assert steel_topic.people_with_evidence >= 2
    assert "staalbouw" in steel_topic.terms or "steel" in steel_topic.terms
    # Outside the period nothing is found.
    async with org.sessions() as session:
        assert not await gaps.knowledge_gaps(
            session, org.routing, Scope(NOW - timedelta(days=60), NOW - timedelta(days=30))
        )


def test_labels_are_the_terms_telling_of_a_topic() -> None:
    labels = gaps.telling_terms(
        [
            ["Wie weet iets van eSIM activeren?", "eSIM activation for customers", "eSIM fails"],
            ["Power BI report", "Power BI dashboard with DAX", "DAX measure in Power BI"],
        ]
    )
    assert labels[0][0] == "esim"
    assert set(labels[1][:2]) == {"power", "bi"}
    assert not {"wie", "weet", "iets", "van", "for", "with"} & {t for ts in labels for t in ts}


async def test_managers_get_their_departments_week_once(org: AppContext) -> None:
    async with org.sessions() as session, session.begin():
        boss = await get_by_handle(session, "noor.jansen")
        assert boss is not None
        boss.role, boss.department, boss.ui_language = Role.MANAGER, "HR", "nl"
        hr = await get_by_handle(session, "bram.devries")
        helper = await get_by_handle(session, "tom.bakker")
        assert hr is not None and helper is not None
        hr.department = "hr"  # departments match without case
        helper.department = "Hr"  # the digest names HR's own helpers
        last_week = NOW - timedelta(days=7)  # in the week of Monday 2026-05-25
        calls = []
        for n in range(3):
            call = Call(
                asker_id=hr.id,
                kind=CallKind.QUESTION,
                title=f"Vraag {n}",
                created_at=last_week + timedelta(hours=n),
                status=CallStatus.ANSWERED if n < 2 else CallStatus.OPEN,
            )
            session.add(call)
            calls.append(call)
        # Another department's call is not in HR's digest.
        other = await get_by_handle(session, "eva.brown")
        assert other is not None
        session.add(
            Call(
                asker_id=other.id, kind=CallKind.QUESTION, title="Facilities", created_at=last_week
            )
        )
        await session.flush()
        for call in calls[:2]:
            session.add(
                Reply(
                    call_id=call.id,
                    person_id=helper.id,
                    kind=ReplyKind.ANSWER,
                    body="…",
                    created_at=call.created_at + timedelta(minutes=30),
                )
            )
        member_ids = [p.id for p in (await session.scalars(select(Person))).all()]
    assert await send_manager_digests(org.sessions, org.settings, NOW) == 1
    # Again in the same week, from this or another process: nothing more.
    assert await send_manager_digests(org.sessions, org.settings, NOW + timedelta(hours=5)) == 0
    async with org.sessions() as session:
        digests = (await session.scalars(select(Nudge).where(Nudge.kind == NudgeKind.DIGEST))).all()
    assert {n.person_id for n in digests} == {boss.id}
    assert boss.id in member_ids
    payload = NudgePayload.from_stored(digests[0].payload)
    # In the manager's language (Dutch), with HR's figures: 3 calls, 2 answered.
    assert "HR" in payload.subject and "afgelopen week" in payload.subject
    assert "3 oproepen geplaatst" in payload.intro
    assert "2 beantwoord" in payload.intro
    assert "67%" in payload.intro
    assert any("Vraag 2" in item for item in payload.items)  # still waiting
    assert not any("Facilities" in item for item in payload.items)
    assert any("Tom Bakker" in item and "2 keer" in item for item in payload.items)
    assert payload.links[0].url.endswith("/dashboard")
    # Next week: a new digest.
    assert await send_manager_digests(org.sessions, org.settings, NOW + timedelta(days=7)) == 1


async def test_concurrent_ticks_send_one_digest(org: AppContext) -> None:
    """Every process runs the tick: however many run at once, a manager gets one digest a week."""
    async with org.sessions() as session, session.begin():
        boss = await get_by_handle(session, "noor.jansen")
        assert boss is not None
        boss.role = Role.MANAGER
    results = await asyncio.gather(
        *(send_manager_digests(org.sessions, org.settings, NOW) for _ in range(50)),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    async with org.sessions() as session:
        digests = (await session.scalars(select(Nudge).where(Nudge.kind == NudgeKind.DIGEST))).all()
    assert [n.person_id for n in digests] == [boss.id]


async def test_a_write_elsewhere_while_a_digest_is_built_does_not_lose_it(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other ticks write while a digest is built (at every start they run together): the
    digest used to fail on SQLite with "database is locked" and wait a round; now it waits its
    turn to write and goes out."""
    from askhub.dashboard import scheduled

    async with org.sessions() as session, session.begin():
        boss = await get_by_handle(session, "noor.jansen")
        assert boss is not None
        boss.role = Role.MANAGER
    built = scheduled.digest_for

    async def built_while_another_writes(*args: object, **kwargs: object) -> NudgePayload:
        payload = await built(*args, **kwargs)  # type: ignore[arg-type]
        async with org.sessions() as other, other.begin():
            person = await get_by_handle(other, "eva.brown")
            assert person is not None
            person.bio = (person.bio or "") + " "
        return payload

    monkeypatch.setattr(scheduled, "digest_for", built_while_another_writes)
    assert await send_manager_digests(org.sessions, org.settings, NOW) == 1
    async with org.sessions() as session:
        digests = (await session.scalars(select(Nudge).where(Nudge.kind == NudgeKind.DIGEST))).all()
    assert [n.person_id for n in digests] == [boss.id]
