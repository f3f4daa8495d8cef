"""The nudge loop over a real SMTP server: waves, replies through email links, deadlines,
volunteer quotas, and the rules that protect people. Ticks run with an explicit clock."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from askhub.app import create_app
from askhub.calls import service
from askhub.calls.scheduled import lifecycle_tick
from askhub.calls.schemas import CallCreate, ReplyCreate
from askhub.context import AppContext
from askhub.i18n import Translator, translator
from askhub.nudges.channels.base import Channel
from askhub.nudges.channels.email import EmailChannel, EmailSettings
from askhub.nudges.channels.inapp import InAppChannel
from askhub.nudges.dispatch import DispatchSettings, dispatch_due
from askhub.people.service import get_by_handle
from models import Availability, Match, MatchState, Nudge, NudgeChannel, NudgeState, Person
from tests.conftest import ORG
from tests.sinks import SMTPSink


@dataclass
class Loop:
    ctx: AppContext
    channels: dict[str, Channel]
    sink: SMTPSink

    async def post(self, asker: str, **fields: Any) -> int:
        async with self.ctx.sessions() as session, session.begin():
            person = await get_by_handle(session, asker)
            assert person is not None
            call = await service.create_call(
                session, self.ctx.routing, self.ctx.settings, person, CallCreate(**fields)
            )
            return call.id

    async def deliver(self, now: datetime | None = None) -> list[EmailMessage]:
        # Simulated time never lags the real clock: rows written now are due "now".
        now = max(now, datetime.now(UTC)) if now else None
        before = len(self.sink.messages)
        await dispatch_due(self.ctx.sessions, self.channels, DispatchSettings(), now=now)
        return self.sink.messages[before:]

    async def tick(self, now: datetime) -> list[EmailMessage]:
        now = max(now, datetime.now(UTC))
        await lifecycle_tick(self.ctx.sessions, self.ctx.settings, now)
        return await self.deliver(now)

    async def reply(self, call_id: int, handle: str, **fields: Any) -> None:
        async with self.ctx.sessions() as session, session.begin():
            call = await service.get_call(session, call_id)
            person = await get_by_handle(session, handle)
            assert call and person
            await service.add_reply(session, self.ctx.settings, call, person, ReplyCreate(**fields))

    def with_settings(self, **changes: Any) -> Loop:
        settings = replace(self.ctx.settings, **changes)
        return Loop(replace(self.ctx, settings=settings), self.channels, self.sink)

    async def matches(self, call_id: int) -> dict[str, Match]:
        async with self.ctx.sessions() as session:
            call = await service.get_call(session, call_id)
            assert call
            return {m.person.handle: m for m in call.matches}


@pytest.fixture
async def loop(org: AppContext, smtp_sink: SMTPSink) -> AsyncIterator[Loop]:
    settings = replace(
        org.settings,
        smtp_enabled=True,
        wave_size=2,
        max_waves=3,
        wave_interval=600,
        reminder_after=100_000,
    )
    ctx = AppContext(
        settings=settings, engine=org.engine, sessions=org.sessions, routing=org.routing
    )
    channels: dict[str, Channel] = {
        "inapp": InAppChannel(),
        "email": EmailChannel(EmailSettings(host=smtp_sink.host, port=smtp_sink.port)),
    }
    yield Loop(ctx, channels, smtp_sink)


def recipients(messages: list[EmailMessage]) -> set[str]:
    return {str(m["To"]).split("<")[-1].rstrip(">") for m in messages}


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


# The language each test person reads: the first language they speak (tests/data/org.jsonl).
READS = {
    person["email"]: person["languages"][0]
    for person in map(json.loads, ORG.read_text().splitlines())
    if person.get("email")
}


def words(message: EmailMessage) -> Translator:
    """``t`` in the language of the message's recipient (the test organisation's people are
    known; generated colleagues are read from the header AskHub sets)."""
    address = str(message["To"]).split("<")[-1].rstrip(">")
    if address in READS:
        return translator(READS[address])
    return translator(str(message["Content-Language"]))


def link(message: EmailMessage, label: str) -> str:
    label = words(message)(label)
    found = re.search(rf"{re.escape(label)}: (\S+)", text_of(message))
    assert found, f"no {label!r} link in:\n{text_of(message)}"
    return found.group(1).removeprefix("http://askhub.test")


async def test_question_waves_reply_by_email_link_and_deadline_summary(loop: Loop) -> None:
    t0 = datetime.now(UTC)
    call_id = await loop.post(
        "asker",
        kind="question",
        title="Wie weet iets van staalbouw?",
        body="Voor een nieuw datacenter zoek ik ervaring met stalen draagconstructies.",
        deadline=t0 + timedelta(days=1),
    )
    wave1 = await loop.deliver()
    assert recipients(wave1) == {"sanne@example.com", "mark@example.com"}
    for message in wave1:
        body, t = text_of(message), words(message)
        # Every word in the reader's language: Sanne (nl) reads Dutch, Mark (en) English.
        subject = t("{name} asks: {title}", name="Anna Asker", title="Wie weet iets van staalbouw?")
        assert str(message["Subject"]) == subject
        dutch = "sanne@example.com" in str(message["To"])
        assert subject.startswith("Anna Asker vraagt:" if dutch else "Anna Asker asks:")
        assert t("Why you") in body and ("staalbouw" in body.lower() or "steel" in body.lower())
        assert t("Sent automatically by AskHub.") in body
        assert "/act/" in link(message, "Answer")
        html = message.get_body(preferencelist=("html",))
        assert html is not None and "/act/" in str(html.get_content())

    # Nobody replies within the wave interval: the next in line who still pass the relevance
    # floor are asked (at most a wave); the first two are not asked again.
    assert await loop.tick(t0 + timedelta(seconds=300)) == []
    wave2 = await loop.tick(t0 + timedelta(seconds=601))
    wave2_people = recipients(wave2)
    assert 1 <= len(wave2_people) <= 2 and not wave2_people & recipients(wave1)
    assert "anna@example.com" not in wave2_people

    # One expert answers through the link in the email, without logging in.
    expert_mail = next(m for m in wave2 if words(m)("Why you") in text_of(m))
    answer_link = link(expert_mail, "Answer")
    app = create_app(settings=loop.ctx.settings, embedder=loop.ctx.routing.embedder)
    async with AsyncTestClient(app=app) as client:
        page = await client.get(answer_link)
        assert page.status_code == 200 and "Wie weet iets van staalbouw?" in page.text
        done = await client.post(
            answer_link, data={"body": "Bel me: ik heb de hal in Zwolle begeleid."}
        )
        assert done.status_code == 200 and "Thank you" in done.text
        tampered = await client.get(answer_link[:-3] + "xyz")
        assert tampered.status_code == 403

    to_asker = await loop.deliver()
    assert recipients(to_asker) == {"anna@example.com"}
    assert "hal in Zwolle" in text_of(to_asker[0])

    # An answered question gets no further waves; at the deadline the asker gets a summary.
    assert await loop.tick(t0 + timedelta(seconds=1300)) == []
    summary = await loop.tick(t0 + timedelta(days=1, seconds=1))
    assert recipients(summary) == {"anna@example.com"}
    # Anna reads Dutch: the summary, its headline and the reply's kind are Dutch too.
    assert str(summary[0]["Subject"]) == "Gesloten: Wie weet iets van staalbouw?"
    assert "1 antwoord." in text_of(summary[0]) and "(antwoord): Bel me" in text_of(summary[0])
    async with loop.ctx.sessions() as session:
        call = await service.get_call(session, call_id)
        assert call is not None and call.status == "closed"


async def test_volunteers_call_fills_and_the_others_are_told(loop: Loop) -> None:
    # Half of the people asked are expected to volunteer: 3 needed asks 6 at once, the two
    # with evidence about modems first; the rest of the audience is open too (no floor).
    loop = loop.with_settings(volunteer_rate_bp=5000)
    t0 = datetime.now(UTC)
    call_id = await loop.post(
        "asker",
        kind="volunteers",
        title="Testers gezocht voor het nieuwe modem",
        body="Wie test twee weken het nieuwe modem en de firmware thuis?",
        needed=3,
    )
    wave1 = await loop.deliver()
    asked = recipients(wave1)
    assert len(asked) == 6 and {"amy@example.com", "joost@example.com"} <= asked
    assert "anna@example.com" not in asked
    for message in wave1:
        assert words(message)("I'll volunteer") in text_of(message)
    matched = await loop.matches(call_id)
    assert [h for h, m in sorted(matched.items(), key=lambda x: x[1].rank)][:2] == [
        "amy.chen",
        "joost.smit",
    ]
    await loop.reply(call_id, "amy.chen", kind="volunteer")
    await loop.deliver()
    # The six asked are still expected to fill it: no second wave yet.
    assert not recipients(await loop.tick(t0 + timedelta(seconds=601))) - {"anna@example.com"}
    await loop.reply(call_id, "henk.mulder", kind="volunteer")
    await loop.deliver()
    await loop.reply(call_id, "tom.bakker", kind="volunteer")
    notices = await loop.deliver()
    assert "anna@example.com" in recipients(notices)
    told = recipients(notices) - {"anna@example.com"}
    volunteered = {"amy@example.com", "henk@example.com", "tom@example.com"}
    assert told == asked - volunteered  # asked, did not volunteer: hear it is full
    full = next(m for m in notices if "joost@example.com" in str(m["To"]))
    assert str(full["Subject"]) == "Vol, dank je: Testers gezocht voor het nieuwe modem"
    async with loop.ctx.sessions() as session:
        call = await service.get_call(session, call_id)
        assert call is not None and call.status == "filled"
    assert await loop.tick(t0 + timedelta(seconds=1300)) == []


async def test_reminder_only_for_people_who_did_not_open_the_call(loop: Loop) -> None:
    loop = loop.with_settings(reminder_after=300)
    t0 = datetime.now(UTC)
    call_id = await loop.post("asker", kind="question", title="Modem firmware testing: who knows?")
    wave1 = await loop.deliver()
    assert len(wave1) == 2
    opened, other = sorted(recipients(wave1))
    async with loop.ctx.sessions() as session, session.begin():
        call = await service.get_call(session, call_id)
        person = await session.scalar(select(Person).where(Person.email == opened))
        assert call and person
        await service.mark_seen(loop.ctx.sessions, call, person, t0)
    reminders = await loop.tick(t0 + timedelta(seconds=301))
    assert recipients(reminders) == {other}
    reminder = words(reminders[0])("Reminder: {name} asks: {title}", name="", title="")
    assert str(reminders[0]["Subject"]).startswith(reminder.split(" ")[0])
    assert await loop.tick(t0 + timedelta(seconds=400)) == []  # one reminder, not a stream


async def test_budget_away_and_opt_out_move_the_call_to_the_next_candidate(loop: Loop) -> None:
    async with loop.ctx.sessions() as session, session.begin():
        sanne = await get_by_handle(session, "sanne.visser")
        mark = await get_by_handle(session, "mark.jones")
        assert sanne and mark
        sanne.nudge_budget_per_week = 1
        mark.availability = Availability.OPTED_OUT
    await loop.post("asker", kind="question", title="Staalbouw: wie kent stalen liggers?")
    assert "sanne@example.com" in recipients(await loop.deliver())
    second = await loop.post("tom.bakker", kind="question", title="Staalbouw en stalen liggers?")
    asked = recipients(await loop.deliver())
    assert "sanne@example.com" not in asked and "mark@example.com" not in asked
    matched = await loop.matches(second)
    assert matched["sanne.visser"].state == MatchState.PROPOSED  # over budget: passed over


async def test_quiet_hours_delay_email_but_not_the_inbox(loop: Loop) -> None:
    now = datetime.now(UTC)
    async with loop.ctx.sessions() as session, session.begin():
        henk = await get_by_handle(session, "henk.mulder")
        assert henk
        henk.timezone = "UTC"
        henk.quiet_hours_start = now.hour
        henk.quiet_hours_end = (now.hour + 2) % 24
    await loop.post("asker", kind="question", title="Glasvezel in nieuwbouwwijken aanleggen?")
    assert "henk@example.com" not in recipients(await loop.deliver())
    async with loop.ctx.sessions() as session:
        nudges = (
            await session.scalars(select(Nudge).join(Person).where(Person.handle == "henk.mulder"))
        ).all()
    by_channel = {n.channel: n for n in nudges}
    assert by_channel[NudgeChannel.INAPP].state == NudgeState.SENT
    assert by_channel[NudgeChannel.EMAIL].state == NudgeState.PENDING
    assert by_channel[NudgeChannel.EMAIL].next_attempt_at > now + timedelta(minutes=50)
    later = await loop.deliver(
        by_channel[NudgeChannel.EMAIL].next_attempt_at + timedelta(seconds=1)
    )
    assert recipients(later) == {"henk@example.com"}


async def test_a_call_that_runs_out_of_candidates_says_so_once(loop: Loop) -> None:
    t0 = datetime.now(UTC)
    await loop.post("asker", kind="question", title="Kubernetes cluster upgrades zonder downtime")
    asked = recipients(await loop.deliver())
    assert "liam@example.com" in asked
    notices: list[EmailMessage] = []
    for step in range(1, 6):
        notices += await loop.tick(t0 + timedelta(seconds=601 * step))
    to_asker = [m for m in notices if "anna@example.com" in str(m["To"])]
    assert len(to_asker) == 1
    assert str(to_asker[0]["Subject"]).strip().startswith("Nog niemand gevonden voor:")
    assert "Maak de oproep breder" in text_of(to_asker[0])


async def test_forward_through_a_link_asks_the_colleague_with_the_forwarder_as_reason(
    loop: Loop,
) -> None:
    call_id = await loop.post(
        "asker", kind="question", title="Who knows about solar panels on roofs?"
    )
    mail = next(m for m in await loop.deliver() if "eva@example.com" in str(m["To"]))
    app = create_app(settings=loop.ctx.settings, embedder=loop.ctx.routing.embedder)
    async with AsyncTestClient(app=app) as client:
        forward = link(mail, "Forward to a colleague")
        unknown = await client.post(forward, data={"forward_to": "nobody.here"})
        assert unknown.status_code == 422 and "nobody.here" in unknown.text
        done = await client.post(
            forward, data={"forward_to": "@henk.mulder", "body": "Henk did the roof in Groningen."}
        )
        assert done.status_code == 200
    forwarded = await loop.deliver()
    henk = next(m for m in forwarded if "henk@example.com" in str(m["To"]))
    # Henk reads Dutch: who forwarded it, in his words.
    assert "Eva Brown heeft dit naar je doorgestuurd" in text_of(henk)
    matches = await loop.matches(call_id)
    assert matches["eva.brown"].state == MatchState.FORWARDED
    assert matches["henk.mulder"].state == MatchState.NUDGED


async def test_digest_people_get_one_daily_mail_instead_of_single_nudges(loop: Loop) -> None:
    t0 = datetime.now(UTC)
    async with loop.ctx.sessions() as session, session.begin():
        amy = await get_by_handle(session, "amy.chen")
        assert amy
        amy.digest = True
    await loop.post("asker", kind="question", title="Modem firmware field trial: who knows?")
    await loop.post("tom.bakker", kind="question", title="Recruiting home testers for routers?")
    assert "amy@example.com" not in recipients(await loop.deliver())
    digest = [
        m for m in await loop.tick(t0 + timedelta(seconds=1)) if "amy@example.com" in str(m["To"])
    ]
    assert len(digest) == 1
    body = text_of(digest[0])
    assert "Modem firmware field trial" in body and "Recruiting home testers" in body
    assert [
        m for m in await loop.tick(t0 + timedelta(hours=2)) if "amy@example.com" in str(m["To"])
    ] == []


async def test_temporary_smtp_failures_are_retried_with_backoff(org: AppContext) -> None:
    with SMTPSink(fail_first=1) as sink:
        settings = replace(org.settings, smtp_enabled=True, wave_size=1)
        ctx = AppContext(
            settings=settings, engine=org.engine, sessions=org.sessions, routing=org.routing
        )
        loop = Loop(
            ctx,
            {
                "inapp": InAppChannel(),
                "email": EmailChannel(EmailSettings(host=sink.host, port=sink.port)),
            },
            sink,
        )
        await loop.post("asker", kind="question", title="Privacy rules for customer data?")
        assert await loop.deliver() == []
        async with ctx.sessions() as session:
            failed = await session.scalar(select(Nudge).where(Nudge.channel == NudgeChannel.EMAIL))
        assert failed is not None and failed.state == NudgeState.FAILED and failed.attempts == 1
        assert await loop.deliver() == []  # not due yet: backoff
        retried = await loop.deliver(failed.next_attempt_at + timedelta(seconds=1))
        assert recipients(retried) == {"fatima@example.com"}
        assert sink.by_message_id() == {str(retried[0]["Message-ID"]): 1}


async def test_the_inbox_lists_my_nudges(loop: Loop) -> None:
    await loop.post("asker", kind="question", title="Who knows about laying fibre in new estates?")
    await loop.deliver()
    app = create_app(settings=loop.ctx.settings, embedder=loop.ctx.routing.embedder)
    from askhub.auth.service import create_token

    async with loop.ctx.sessions() as session, session.begin():
        henk = await get_by_handle(session, "henk.mulder")
        assert henk
        token = await create_token(session, henk)
    headers = {"Authorization": f"Bearer {token}"}
    async with AsyncTestClient(app=app) as client:
        inbox = (await client.get("/api/inbox", headers=headers)).json()
        assert inbox and inbox[0]["kind"] == "ask" and inbox[0]["reasons"]
        seen = await client.post(f"/api/inbox/{inbox[0]['id']}/seen", headers=headers)
        assert seen.status_code == 200 and seen.json()["seen_at"]
        other = await client.post(f"/api/inbox/{inbox[0]['id'] + 999}/seen", headers=headers)
        assert other.status_code == 404


async def test_one_click_pages_look_like_the_site_in_the_readers_language(loop: Loop) -> None:
    call_id = await loop.post(
        "asker",
        kind="question",
        title="Wie weet iets van staalbouw?",
        body="Ik zoek **ervaring** met stalen draagconstructies.\n\n<script>alert(1)</script>",
    )
    wave1 = await loop.deliver()
    sanne = next(m for m in wave1 if "sanne@example.com" in str(m["To"]))
    await loop.reply(call_id, "mark.jones", kind="answer", body="Vraag *mij* maar.")
    await loop.reply(call_id, "joost.smit", kind="decline", body="Geen idee, privé notitie")
    app = create_app(settings=loop.ctx.settings, embedder=loop.ctx.routing.embedder)
    async with AsyncTestClient(app=app) as client:
        page = (await client.get(link(sanne, "Answer"))).text
    assert '<html lang="nl">' in page and 'href="/static/askhub.css"' in page
    # Markdown rendered and sanitised as on the site; raw HTML stays text.
    assert "<strong>ervaring</strong>" in page and "<script>alert" not in page
    assert "Waarom jij" in page and "Reacties tot nu toe (1)" in page
    assert "<em>mij</em>" in page and f'href="/calls/{call_id}"' in page
    assert "privé notitie" not in page  # a decline note is for the asker only
    for english in ("Why you", "Your answer", "Send answer", "Replies so far"):
        assert english not in page
