"""Delivery at volume (issue 13, item 3): the bytes of an email, senders in parallel whose
crash window stays one message each, in-app rows written without a dispatch round trip, and
the dispatch round's time budget."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from askhub.calls import service
from askhub.calls.schemas import CallCreate
from askhub.context import AppContext
from askhub.nudges.channels.base import Channel, OutboundMessage, Recipient
from askhub.nudges.channels.email import message_id, render_bytes
from askhub.nudges.dispatch import DispatchSettings, dispatch_due
from askhub.nudges.outbox import enqueue
from askhub.nudges.payload import NudgePayload
from askhub.people.service import get_by_handle
from askhub.scheduler import dispatch
from askhub.settings import EmailSettings, SettingError, Settings
from models import Match, Nudge, NudgeChannel, NudgeKind, NudgeState, Person


async def seed(context: AppContext, total: int, prefix: str) -> list[str]:
    """``total`` due email asks spread over the people with an address; their keys."""
    keys = [f"{prefix}:{n}" for n in range(total)]
    async with context.sessions() as session, session.begin():
        people = (await session.scalars(select(Person).where(Person.email.is_not(None)))).all()
        for n, key in enumerate(keys):
            assert await enqueue(
                session,
                key=key,
                person_id=people[n % len(people)].id,
                channel=NudgeChannel.EMAIL,
                kind=NudgeKind.ASK,
                payload=NudgePayload(subject=f"Vraag {n}", intro="Een collega vraagt:"),
            )
    return keys


async def sent_rows(context: AppContext, prefix: str) -> int:
    async with context.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Nudge)
            .where(Nudge.idempotency_key.like(f"{prefix}:%"), Nudge.state == NudgeState.SENT)
        )
    return int(count or 0)


class Recording:
    """An email channel that accepts everything and remembers what, in order."""

    name = "email"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: OutboundMessage) -> None:
        self.sent.append(message.idempotency_key)


# --- the email's bytes -----------------------------------------------------------------------


def test_email_bytes_encode_dutch_names_and_subjects_and_fold_every_line() -> None:
    subject = (
        "Zoë’s vraag over één enquête: wie weet hoe we glasvezel in monumentale panden leggen?"
    )
    message = OutboundMessage(
        idempotency_key="ask:12:34:email",
        kind="ask",
        recipient=Recipient(handle="zoe", name="Zoë van ’t Hoff-Ëlsen", email="zoe@example.com"),
        subject=subject,
        intro="Anna vraagt je hulp: “Glasvezel?”.",
        body="Een regel met ë.\n\n. Een regel die met een punt begint",
        language="nl",
    )
    rendered = render_bytes(message)
    assert rendered.data.isascii()  # 7-bit: RFC 2047 headers, quoted-printable bodies
    lines = rendered.data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 78
    assert b"\n" not in rendered.data.replace(b"\r\n", b"")  # CRLF line ends only
    assert (rendered.sender, rendered.recipient) == ("askhub@localhost", "zoe@example.com")

    parsed = email.message_from_bytes(rendered.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage) and not parsed.defects
    assert parsed["Subject"] == subject
    assert parsed["To"].addresses[0].display_name == "Zoë van ’t Hoff-Ëlsen"
    assert parsed["Message-ID"] == message_id("ask:12:34:email")
    assert parsed["Content-Language"] == "nl"
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content().replace("\r\n", "\n")
    assert "Een regel met ë.\n\n. Een regel die met een punt begint" in text
    # A retry of the same outbox row: the same Message-ID.
    again = email.message_from_bytes(render_bytes(message).data, policy=email.policy.default)
    assert again["Message-ID"] == parsed["Message-ID"]


def test_a_name_with_specials_is_quoted_and_a_plain_long_subject_folded() -> None:
    message = OutboundMessage(
        idempotency_key="k",
        kind="notice",
        recipient=Recipient(handle="jan", name='Jan "JJ" de Vries, ICT', email="jan@example.com"),
        subject=" ".join(["glasvezel"] * 20),
        intro="",
    )
    rendered = render_bytes(message)
    assert max(len(line) for line in rendered.data.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(rendered.data, policy=email.policy.default)
    assert parsed["To"].addresses[0].display_name == 'Jan "JJ" de Vries, ICT'
    assert parsed["To"].addresses[0].addr_spec == "jan@example.com"
    assert parsed["Subject"] == " ".join(["glasvezel"] * 20)


# --- senders in parallel -----------------------------------------------------------------------


async def test_parallel_senders_each_have_at_most_one_accepted_message_unrecorded(
    org: AppContext,
) -> None:
    """A kill costs a resend of what the receiver accepted and the outbox had not recorded yet:
    with K senders that is at most K messages, never a whole batch. Each send checks, in a
    session of its own, how many earlier accepted messages are not yet recorded as sent."""
    senders, total = 3, 60
    keys = await seed(org, total, "parallel")
    accepted: list[str] = []
    unrecorded: list[int] = []
    in_flight = 0
    most_in_flight = 0

    class Checking:
        name = "email"

        async def send(self, message: OutboundMessage) -> None:
            nonlocal in_flight, most_in_flight
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            # What was accepted before this send began (others may add to it while we read).
            before = set(accepted)
            async with org.sessions() as session:
                recorded = set(
                    (
                        await session.scalars(
                            select(Nudge.idempotency_key).where(
                                Nudge.idempotency_key.in_(before),
                                Nudge.state == NudgeState.SENT,
                            )
                        )
                    ).all()
                )
            unrecorded.append(len(before - recorded))
            await asyncio.sleep(0.002)
            accepted.append(message.idempotency_key)
            in_flight -= 1

    channels: dict[str, Channel] = {"email": Checking()}
    result = await dispatch_due(
        org.sessions, channels, DispatchSettings(batch=25, concurrency=senders)
    )
    assert result.sent == total and sorted(Counter(accepted)) == sorted(keys)
    assert set(Counter(accepted).values()) == {1}
    assert most_in_flight == senders  # the senders did overlap
    # At the start of a send, the sender's own last message is recorded; the other senders
    # may each have one accepted and not yet recorded.
    assert max(unrecorded) <= senders - 1, unrecorded
    assert await sent_rows(org, "parallel") == total


# --- in-app rows -------------------------------------------------------------------------------


async def test_a_new_call_puts_its_asks_in_the_inbox_before_any_dispatch(org: AppContext) -> None:
    """The reader notices nothing but speed: the in-app ask is in the inbox as the call's
    transaction commits, one per match, while email still goes through the outbox."""
    settings = replace(org.settings, smtp_enabled=True, wave_size=3)
    async with org.sessions() as session, session.begin():
        asker = await get_by_handle(session, "asker")
        assert asker
        call = await service.create_call(
            session,
            org.routing,
            settings,
            asker,
            CallCreate(kind="question", title="Wie weet iets van staalbouw en lassen van S355?"),
        )
        call_id = call.id
    async with org.sessions() as session:
        rows = (await session.scalars(select(Nudge).where(Nudge.call_id == call_id))).all()
        asked = set(
            (
                await session.scalars(
                    select(Match.person_id).where(
                        Match.call_id == call_id, Match.nudged_at.is_not(None)
                    )
                )
            ).all()
        )
    assert asked
    inapp = [row for row in rows if row.channel == NudgeChannel.INAPP]
    assert sorted(row.person_id for row in inapp) == sorted(asked)  # one per ask
    assert {row.state for row in inapp} == {NudgeState.SENT}
    assert all(row.sent_at is not None for row in inapp)
    emails = [row for row in rows if row.channel == NudgeChannel.EMAIL]
    assert emails and {row.state for row in emails} == {NudgeState.PENDING}

    channel = Recording()
    result = await dispatch_due(org.sessions, {"email": channel}, DispatchSettings())
    assert result.sent == len(emails) and result.failed == result.dead == 0


# --- the time budget ---------------------------------------------------------------------------


def _dispatch_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, str]]:
    return [
        dict(pair.split("=", 1) for pair in record.getMessage().split())
        for record in caplog.records
        if record.name == "askhub.ticks"
    ]


async def test_a_round_stops_on_its_budget_and_the_next_rounds_deliver_the_rest_once(
    org: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    """A round that has spent its budget takes no new batch (the first batch is always taken,
    so a round makes progress); its log line says so and how many wait. The rounds after it
    deliver the rest, and nothing twice."""
    total = 120  # the dispatch batch is 50: three batches
    keys = await seed(org, total, "budget")
    channel = Recording()
    ctx = replace(org, settings=replace(org.settings, tick_budget_seconds=0.001))
    with caplog.at_level(logging.INFO, logger="askhub.ticks"):
        for _ in range(4):
            await dispatch(ctx, {"email": channel})
    lines = _dispatch_lines(caplog)

    assert [line.get("sent") for line in lines[:3]] == ["50", "50", "20"]
    assert [line.get("stopped") for line in lines[:3]] == ["budget", "budget", None]
    assert [line.get("remaining") for line in lines[:3]] == ["70", "20", None]
    assert len(lines) == 3  # the fourth round had nothing to do (logged at DEBUG only)
    assert sorted(channel.sent) == sorted(keys)
    assert set(Counter(channel.sent).values()) == {1}
    assert await sent_rows(org, "budget") == total


async def test_without_a_budget_one_round_delivers_everything(org: AppContext) -> None:
    keys = await seed(org, 120, "unbounded")
    channel = Recording()
    before = datetime.now(UTC)
    result = await dispatch_due(org.sessions, {"email": channel}, DispatchSettings())
    after = datetime.now(UTC)
    assert (result.sent, result.stopped, result.remaining) == (120, "", 0)
    assert sorted(channel.sent) == sorted(keys)
    # Each row says when it went out (written by the driver-level UPDATE, read back as UTC).
    async with org.sessions() as session:
        rows = (
            await session.scalars(select(Nudge).where(Nudge.idempotency_key.like("unbounded:%")))
        ).all()
    assert {row.state for row in rows} == {NudgeState.SENT}
    assert all(row.sent_at is not None and before <= row.sent_at <= after for row in rows)
    assert all(row.claimed_until is None and row.last_error is None for row in rows)


# --- the settings ------------------------------------------------------------------------------


def test_the_delivery_settings_are_read_in_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASKHUB_TICK_BUDGET_SECONDS", raising=False)
    monkeypatch.delenv("ASKHUB_DELIVERY_CONCURRENCY", raising=False)
    settings = Settings()
    assert (settings.tick_budget_seconds, settings.delivery_concurrency) == (20.0, 1)
    assert EmailSettings.from_env().sessions == 1

    monkeypatch.setenv("ASKHUB_TICK_BUDGET_SECONDS", "2.5")
    monkeypatch.setenv("ASKHUB_DELIVERY_CONCURRENCY", "4")
    settings = Settings()
    assert (settings.tick_budget_seconds, settings.delivery_concurrency) == (2.5, 4)
    assert EmailSettings.from_env().sessions == 4  # a session per message in flight

    for name, value in (("ASKHUB_TICK_BUDGET_SECONDS", "0"), ("ASKHUB_DELIVERY_CONCURRENCY", "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingError, match=name):
            Settings()
        monkeypatch.setenv(name, "1")
