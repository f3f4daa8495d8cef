"""Channels deliver for real: email into an SMTP server on loopback, webhooks into an HTTP
receiver on loopback; failures come back as permanent or temporary DeliveryErrors."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from askhub.context import AppContext
from askhub.nudges.channels.base import (
    Channel,
    DeliveryError,
    Link,
    OutboundMessage,
    Recipient,
)
from askhub.nudges.channels.email import EmailChannel, EmailSettings, message_id, render_email
from askhub.nudges.channels.inapp import InAppChannel
from askhub.nudges.channels.webhook import (
    WebhookChannel,
    WebhookSettings,
    build_payload,
    sign,
    verify_signature,
)
from askhub.nudges.dispatch import DispatchSettings, dispatch_due
from tests.sinks import SMTPSink, WebhookReceiver, free_port

SECRET = "test-webhook-secret"
XSS = "<script>alert('x')</script>"


def make_message(key: str = "nudge-1", **changes: Any) -> OutboundMessage:
    message = OutboundMessage(
        idempotency_key=key,
        kind="ask",
        recipient=Recipient(
            handle="zoe",
            name="Zoë de Vries",
            email="zoe@example.com",
            webhook_url=None,
        ),
        subject="Who knows staalbouw?",
        intro="Anna Bakker asks for your help with a question about staalbouw.",
        body="We need to weld S355 beams on site.\n\nAny tips on preheating?",
        reasons=["You answered 3 questions about staalbouw", "You wrote “Lassen van S355”"],
        links=[
            Link("Reply", "https://askhub.test/r/abc?t=1"),
            Link("Decline", "https://askhub.test/d/abc"),
        ],
        items=["Deadline: Friday 12:00"],
    )
    return replace(message, **changes)


def email_channel(port: int) -> EmailChannel:
    return EmailChannel(EmailSettings(host="127.0.0.1", port=port, timeout=5))


def parts(email: EmailMessage) -> tuple[str, str]:
    text = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


@pytest.fixture
async def webhook_channel() -> AsyncIterator[WebhookChannel]:
    # The receivers listen on loopback: allowed here as an on-premise chat server would be.
    channel = WebhookChannel(WebhookSettings(secret=SECRET, timeout=5, allow_hosts=("127.0.0.1",)))
    yield channel
    await channel.aclose()


def to_hook(receiver: WebhookReceiver | str) -> OutboundMessage:
    url = receiver if isinstance(receiver, str) else receiver.url
    message = make_message()
    return replace(message, recipient=replace(message.recipient, webhook_url=url))


async def test_every_channel_meets_the_protocol(webhook_channel: WebhookChannel) -> None:
    channels: list[Channel] = [EmailChannel(EmailSettings()), webhook_channel, InAppChannel()]
    assert [channel.name for channel in channels] == ["email", "webhook", "inapp"]


# --- email ---------------------------------------------------------------------------------


async def test_email_has_text_and_html_with_reasons_links_and_headers() -> None:
    with SMTPSink() as sink:
        await email_channel(sink.port).send(make_message())

        [email] = sink.wait_for(1)
        assert email["Subject"] == "Who knows staalbouw?"
        assert email["To"].addresses[0].display_name == "Zoë de Vries"
        assert email["To"].addresses[0].addr_spec == "zoe@example.com"
        assert email["From"] == "AskHub <askhub@localhost>"
        assert email["Message-ID"] == message_id("nudge-1")
        assert email["X-AskHub-Idempotency-Key"] == "nudge-1"
        assert email["Auto-Submitted"] == "auto-generated"
        assert email.get_content_type() == "multipart/alternative"

        text, html = parts(email)
        assert "Anna Bakker asks" in text and "Any tips on preheating?" in text
        assert "Why you:\n- You answered 3 questions about staalbouw\n" in text
        assert "- You wrote “Lassen van S355”" in text
        assert "Reply: https://askhub.test/r/abc?t=1" in text
        assert "Decline: https://askhub.test/d/abc" in text
        assert "- Deadline: Friday 12:00" in text

        assert ">Why you</h2>" in html
        assert ">You answered 3 questions about staalbouw</li>" in html
        assert 'href="https://askhub.test/r/abc?t=1"' in html
        assert ">Reply</a>" in html and ">Decline</a>" in html
        assert "Any tips on preheating?</p>" in html
        assert "Deadline: Friday 12:00" in html


async def test_email_message_id_is_stable_across_retries() -> None:
    with SMTPSink() as sink:
        channel = email_channel(sink.port)
        await channel.send(make_message("nudge-1"))
        await channel.send(make_message("nudge-1"))
        await channel.send(make_message("nudge-2"))

        sink.wait_for(3)
        assert sink.by_message_id() == {message_id("nudge-1"): 2, message_id("nudge-2"): 1}
        assert message_id("nudge-1") == message_id("nudge-1") != message_id("nudge-2")


async def test_email_html_escapes_user_text_but_plain_text_keeps_it() -> None:
    with SMTPSink() as sink:
        message = make_message(
            subject=f"Help {XSS}",
            intro=f"Intro {XSS}",
            body=f"Body {XSS}",
            reasons=[f"Reason {XSS}"],
            items=[f"Item {XSS}"],
            links=[Link(f"Go {XSS}", 'https://askhub.test/x?a=1&b="2"')],
        )
        await email_channel(sink.port).send(message)

        [email] = sink.wait_for(1)
        text, html = parts(email)
        assert "<script" not in html
        for shown in ("Help", "Intro", "Body", "Reason", "Item", "Go"):
            assert f"{shown} {escape(XSS)}" in html
        assert 'href="https://askhub.test/x?a=1&amp;b=&#34;2&#34;"' in html
        assert f"Intro {XSS}" in text and f"Reason {XSS}" in text


async def test_email_subject_and_name_cannot_inject_headers() -> None:
    with SMTPSink() as sink:
        message = make_message(subject="Hello\r\nBcc: victim@example.com")
        message = replace(
            message, recipient=replace(message.recipient, name="Zoë\nBcc: other@example.com")
        )
        await email_channel(sink.port).send(message)

        [email] = sink.wait_for(1)
        assert email["Subject"] == "Hello Bcc: victim@example.com"
        assert email["Bcc"] is None


@pytest.mark.parametrize("address", [None, "", "not-an-address", "two words@example.com"])
async def test_email_without_a_valid_address_is_permanent(address: str | None) -> None:
    with SMTPSink() as sink:
        message = make_message()
        message = replace(message, recipient=replace(message.recipient, email=address))
        with pytest.raises(DeliveryError) as failure:
            await email_channel(sink.port).send(message)
        assert failure.value.permanent
        assert sink.messages == []


async def test_lines_that_start_with_a_dot_arrive_as_written() -> None:
    """SMTP ends a message at a line holding a single dot, so the sender doubles every leading
    dot and the server takes one off again: a body with such lines arrives whole."""
    body = "Before you push:\n.env must stay out of git\n.\n..and this line starts with two\nEnd."
    with SMTPSink() as sink:
        channel = email_channel(sink.port)
        await channel.send(make_message("dots", body=body))
        await channel.send(make_message("after-dots"))
        await channel.end_session()
        [first, second] = sink.wait_for(2)
    text, html = parts(first)
    assert "\n.env must stay out of git\n.\n..and this line starts with two\nEnd." in text
    assert ".env must stay out of git" in html
    assert str(second["Message-ID"]) == message_id("after-dots")


async def test_email_550_refusal_is_permanent() -> None:
    with SMTPSink(reject={"zoe@example.com"}) as sink:
        with pytest.raises(DeliveryError) as failure:
            await email_channel(sink.port).send(make_message())
        assert failure.value.permanent
        assert "550" in str(failure.value)
        assert sink.messages == []


async def test_email_451_is_temporary_and_a_retry_delivers_once() -> None:
    with SMTPSink(fail_first=1) as sink:
        channel = email_channel(sink.port)
        with pytest.raises(DeliveryError) as failure:
            await channel.send(make_message())
        assert not failure.value.permanent
        assert "451" in str(failure.value)

        await channel.send(make_message())
        sink.wait_for(1)
        assert sink.by_message_id() == {message_id("nudge-1"): 1}


async def test_many_emails_share_one_smtp_session_until_it_is_ended() -> None:
    """Opening an SMTP session costs more than a message on it: a run of sends uses one
    session, and after end_session (the dispatch tick's last step) the next send opens another."""
    with SMTPSink() as sink:
        channel = email_channel(sink.port)
        for n in range(12):
            await channel.send(make_message(f"nudge-{n}"))
        await channel.end_session()
        await channel.send(make_message("nudge-after"))
        await channel.end_session()
        sink.wait_for(13)
        assert sink.sessions == 2
        assert len(sink.by_message_id()) == 13
        assert set(sink.by_message_id().values()) == {1}


async def test_a_session_the_server_dropped_is_reopened_and_the_message_sent_once() -> None:
    """A server that restarts (or drops idle clients) between two messages: the second one is
    sent over a new session, once."""
    port = free_port()
    with SMTPSink(port=port) as first:
        channel = email_channel(port)
        await channel.send(make_message("before-restart"))
        first.wait_for(1)
    with SMTPSink(port=port) as second:
        await channel.send(make_message("after-restart"))
        second.wait_for(1)
        assert second.by_message_id() == {message_id("after-restart"): 1}
        await channel.end_session()


async def test_a_refused_recipient_does_not_end_the_session_for_the_others() -> None:
    with SMTPSink(reject={"nobody@example.com"}) as sink:
        channel = email_channel(sink.port)
        refused = make_message("refused")
        refused = replace(refused, recipient=replace(refused.recipient, email="nobody@example.com"))
        await channel.send(make_message("one"))
        with pytest.raises(DeliveryError) as failure:
            await channel.send(refused)
        assert failure.value.permanent
        await channel.send(make_message("two"))
        await channel.end_session()
        sink.wait_for(2)
        assert sorted(sink.by_message_id()) == sorted([message_id("one"), message_id("two")])
        assert sink.sessions == 1


async def test_email_unreachable_server_is_temporary() -> None:
    with pytest.raises(DeliveryError) as failure:
        await email_channel(free_port()).send(make_message())
    assert not failure.value.permanent


def test_email_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "FROM", "USER", "PASSWORD", "STARTTLS", "TLS", "TIMEOUT"):
        monkeypatch.delenv(f"ASKHUB_SMTP_{name}", raising=False)
    assert EmailSettings.from_env() == EmailSettings()

    monkeypatch.setenv("ASKHUB_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("ASKHUB_SMTP_PORT", "587")
    monkeypatch.setenv("ASKHUB_SMTP_FROM", "Helpdesk <help@example.com>")
    monkeypatch.setenv("ASKHUB_SMTP_USER", "askhub")
    monkeypatch.setenv("ASKHUB_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("ASKHUB_SMTP_STARTTLS", "true")
    assert EmailSettings.from_env() == EmailSettings(
        host="mail.example.com",
        port=587,
        sender="Helpdesk <help@example.com>",
        username="askhub",
        password="s3cret",
        starttls=True,
    )

    monkeypatch.setenv("ASKHUB_SMTP_TLS", "1")
    with pytest.raises(ValueError, match="exclude each other"):
        EmailSettings.from_env()
    monkeypatch.setenv("ASKHUB_SMTP_PORT", "smtp")
    with pytest.raises(ValueError, match="ASKHUB_SMTP_PORT"):
        EmailSettings.from_env()


def test_render_email_is_usable_for_previews() -> None:
    email = render_email(make_message(), sender="Helpdesk <help@example.com>")
    assert email["From"] == "Helpdesk <help@example.com>"
    text, _ = parts(email)
    assert text.endswith("-- \nSent automatically by AskHub.\n")


# --- webhook -------------------------------------------------------------------------------


async def test_webhook_posts_slack_blocks_and_askhub_data_signed(
    webhook_channel: WebhookChannel,
) -> None:
    with WebhookReceiver() as receiver:
        before = int(time.time())
        await webhook_channel.send(to_hook(receiver))

        [request] = receiver.wait_for(1)
        headers = request.headers
        assert headers["content-type"] == "application/json"
        assert headers["x-askhub-idempotency-key"] == "nudge-1"
        assert before <= int(headers["x-askhub-timestamp"]) <= time.time()
        assert headers["x-askhub-signature"].startswith("sha256=")

        payload = request.json()
        assert payload["text"] == (
            "Who knows staalbouw? — Anna Bakker asks for your help with a question about staalbouw."
        )
        blocks = payload["blocks"]
        assert blocks[0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": "Who knows staalbouw?"},
        }
        sections = [block["text"]["text"] for block in blocks if block["type"] == "section"]
        assert sections[0].startswith("Anna Bakker asks")
        assert "*Why you*\n• You answered 3 questions about staalbouw\n• You wrote" in sections[-1]
        assert blocks[-1]["type"] == "actions"
        assert [(b["text"]["text"], b["url"]) for b in blocks[-1]["elements"]] == [
            ("Reply", "https://askhub.test/r/abc?t=1"),
            ("Decline", "https://askhub.test/d/abc"),
        ]
        assert payload["askhub"] == {
            "kind": "ask",
            "idempotency_key": "nudge-1",
            "subject": "Who knows staalbouw?",
            "intro": "Anna Bakker asks for your help with a question about staalbouw.",
            "body": "We need to weld S355 beams on site.\n\nAny tips on preheating?",
            "reasons": ["You answered 3 questions about staalbouw", "You wrote “Lassen van S355”"],
            "links": [
                {"label": "Reply", "url": "https://askhub.test/r/abc?t=1"},
                {"label": "Decline", "url": "https://askhub.test/d/abc"},
            ],
            "items": ["Deadline: Friday 12:00"],
            "recipient": "zoe",
        }


async def test_webhook_signature_verifies_only_with_the_secret_and_the_exact_body(
    webhook_channel: WebhookChannel,
) -> None:
    with WebhookReceiver() as receiver:
        await webhook_channel.send(to_hook(receiver))
        [request] = receiver.wait_for(1)
        timestamp = request.headers["x-askhub-timestamp"]
        signature = request.headers["x-askhub-signature"]

        assert verify_signature(SECRET, timestamp, request.body, signature)
        assert not verify_signature("wrong-secret", timestamp, request.body, signature)
        tampered = request.body.replace(b"nudge-1", b"nudge-2")
        assert tampered != request.body
        assert not verify_signature(SECRET, timestamp, tampered, signature)
        assert not verify_signature(SECRET, int(timestamp) + 1, request.body, signature)
        assert not verify_signature(SECRET, "yesterday", request.body, signature)

        # A captured request replayed later is refused even though it is correctly signed.
        old = str(int(time.time()) - 301)
        assert not verify_signature(SECRET, old, request.body, sign(SECRET, old, request.body))
        assert verify_signature(SECRET, old, request.body, sign(SECRET, old, request.body), 600)


def test_webhook_escapes_slack_markup() -> None:
    payload = build_payload(make_message(intro="<!channel> & <script>", reasons=["a < b"]))
    text = json.dumps(payload["blocks"])
    assert "&lt;!channel&gt; &amp; &lt;script&gt;" in text
    assert "a &lt; b" in text
    assert payload["askhub"]["intro"] == "<!channel> & <script>"


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (404, True), (410, True), (408, False), (429, False), (500, False), (503, False)],
)
async def test_webhook_status_decides_permanent_or_temporary(
    webhook_channel: WebhookChannel, status: int, permanent: bool
) -> None:
    with WebhookReceiver(status=status) as receiver:
        with pytest.raises(DeliveryError) as failure:
            await webhook_channel.send(to_hook(receiver))
        assert failure.value.permanent is permanent
        assert str(status) in str(failure.value)
        assert [r.status for r in receiver.requests] == [status]
        assert receiver.by_key() == {}


async def test_webhook_503_is_temporary_and_a_retry_delivers_once(
    webhook_channel: WebhookChannel,
) -> None:
    with WebhookReceiver(fail_first=1) as receiver:
        with pytest.raises(DeliveryError) as failure:
            await webhook_channel.send(to_hook(receiver))
        assert not failure.value.permanent

        await webhook_channel.send(to_hook(receiver))
        receiver.wait_for(1)
        assert [r.status for r in receiver.requests] == [503, 200]
        assert receiver.by_key() == {"nudge-1": 1}


async def test_webhook_unreachable_port_is_temporary(webhook_channel: WebhookChannel) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(DeliveryError) as failure:
        await webhook_channel.send(to_hook(url))
    assert not failure.value.permanent


@pytest.mark.parametrize("url", [None, "", "ftp://example.com/hook", "hook.example.com"])
async def test_webhook_without_a_usable_url_is_permanent(
    webhook_channel: WebhookChannel, url: str | None
) -> None:
    message = make_message()
    message = replace(message, recipient=replace(message.recipient, webhook_url=url))
    with pytest.raises(DeliveryError) as failure:
        await webhook_channel.send(message)
    assert failure.value.permanent


def test_webhook_channel_refuses_to_send_unsigned() -> None:
    with pytest.raises(ValueError, match="ASKHUB_WEBHOOK_SECRET"):
        WebhookChannel(WebhookSettings(secret=""))


async def test_webhook_error_does_not_leak_the_url_secret(webhook_channel: WebhookChannel) -> None:
    url = f"http://127.0.0.1:{free_port()}/services/T000/B000/SECRET-TOKEN"
    with pytest.raises(DeliveryError) as failure:
        await webhook_channel.send(to_hook(url))
    assert "SECRET-TOKEN" not in str(failure.value)


# --- in-app --------------------------------------------------------------------------------


async def test_an_inapp_nudge_is_sent_by_being_listed_in_the_inbox(org: AppContext) -> None:
    """The in-app channel sends nothing anywhere: the row is written as sent, in the transaction
    that adds it (no dispatch round trip), and the row itself is what the person's inbox lists
    (and nobody else's). Adding it again under the same key adds nothing."""
    from askhub.nudges.outbox import enqueue, inbox
    from askhub.nudges.payload import NudgePayload
    from askhub.people.service import get_by_handle
    from models import Nudge, NudgeChannel, NudgeKind, NudgeState

    async with org.sessions() as session, session.begin():
        sanne, tom = (
            await get_by_handle(session, "sanne.visser"),
            await get_by_handle(session, "tom.bakker"),
        )
        assert sanne and tom
        await enqueue(
            session,
            key="inapp-test",
            person_id=sanne.id,
            channel=NudgeChannel.INAPP,
            kind=NudgeKind.NOTICE,
            payload=NudgePayload(subject="Hallo Sanne", intro="Een bericht."),
        )
        again = await enqueue(
            session,
            key="inapp-test",
            person_id=sanne.id,
            channel=NudgeChannel.INAPP,
            kind=NudgeKind.NOTICE,
            payload=NudgePayload(subject="Hallo Sanne", intro="Een bericht."),
        )
        assert not again
    async with org.sessions() as session:
        row = await session.scalar(select(Nudge).where(Nudge.idempotency_key == "inapp-test"))
        assert row is not None and row.state == NudgeState.SENT and row.sent_at is not None
        assert [n.payload["subject"] for n in await inbox(session, sanne.id)] == ["Hallo Sanne"]
    result = await dispatch_due(org.sessions, {"inapp": InAppChannel()}, DispatchSettings())
    assert (result.sent, result.failed) == (0, 0)  # nothing left to deliver
    async with org.sessions() as session:
        row = await session.scalar(select(Nudge).where(Nudge.idempotency_key == "inapp-test"))
        assert row is not None and row.state == NudgeState.SENT and row.sent_at is not None
        assert [n.payload["subject"] for n in await inbox(session, sanne.id)] == ["Hallo Sanne"]
        assert await inbox(session, tom.id) == []


def test_the_nudge_payload_is_one_typed_contract_stored_as_json() -> None:
    """What calls write is what dispatch and the inbox read; an old row's extra keys
    (``call_url``, never read) do not break it."""
    from askhub.nudges.payload import NudgeLink, NudgePayload

    payload = NudgePayload(
        subject="s", intro="i", links=[NudgeLink(label="Answer", url="http://askhub.test/act/x")]
    )
    stored = payload.stored()
    assert stored == {
        "subject": "s",
        "intro": "i",
        "body": "",
        "reasons": [],
        "links": [{"label": "Answer", "url": "http://askhub.test/act/x"}],
        "items": [],
    }
    assert NudgePayload.from_stored(stored) == payload
    assert NudgePayload.from_stored({**stored, "call_url": "http://askhub.test/calls/1"}) == payload
