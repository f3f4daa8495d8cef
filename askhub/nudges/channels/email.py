"""Email channel: plain text plus an HTML alternative over SMTP (aiosmtplib), many messages per
SMTP session.

Both bodies come from the Jinja2 templates in ``askhub/nudges/templates/``. The Message-ID is
derived from the idempotency key, so a resend after a crash carries the same Message-ID and
mail clients (and the test sink) can tell it is the same message.

Opening an SMTP session (TCP, greeting, EHLO, maybe STARTTLS and AUTH) costs far more than one
message on it, so the channel keeps its session open between sends and the dispatch tick closes
it (QUIT) when the outbox is empty (:meth:`EmailChannel.end_session`). A session idle for longer than
``IDLE_SECONDS`` is replaced rather than trusted (servers drop idle clients), one that carried
``MAX_PER_SESSION`` messages is renewed, and a reused session the server has dropped is reopened
and the message sent once more on the new one: the server had not accepted it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import aiosmtplib
import jinja2

from askhub.i18n import translator
from askhub.nudges.channels.base import DeliveryError, OutboundMessage
from askhub.settings import DEFAULT_SENDER, EmailSettings

__all__ = ["DEFAULT_SENDER", "EmailChannel", "EmailSettings", "message_id", "render_email"]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    # Only the HTML template escapes: the plain-text part must show "<" and "&" as typed.
    autoescape=lambda name: name is not None and name.endswith(".html.j2"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def message_id(idempotency_key: str) -> str:
    """The Message-ID for a key: the same on every retry of the same outbox row."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@askhub>"


def _one_line(text: str) -> str:
    # Header values may not contain line breaks; a call title pasted with newlines still sends.
    return " ".join(text.split())


def _paragraphs(body: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n\s*\n", body) if part.strip()]


def render_email(message: OutboundMessage, sender: str = DEFAULT_SENDER) -> EmailMessage:
    """Build the email for ``message``; raises a permanent DeliveryError for a bad address."""
    recipient = message.recipient
    address = (recipient.email or "").strip()
    if not address:
        raise DeliveryError(f"{recipient.handle} has no email address", permanent=True)
    try:
        to = Address(display_name=_one_line(recipient.name), addr_spec=address)
    except (ValueError, HeaderParseError) as exc:
        raise DeliveryError(
            f"{recipient.handle} has an invalid email address {recipient.email!r}: {exc}",
            permanent=True,
        ) from exc

    context = {
        "message": message,
        "paragraphs": _paragraphs(message.body),
        "t": translator(message.language),
    }
    email = EmailMessage()
    email["From"] = sender
    email["To"] = to
    email["Subject"] = _one_line(message.subject)
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id(message.idempotency_key)
    email["X-AskHub-Idempotency-Key"] = _one_line(message.idempotency_key)
    # Tells vacation responders and ticket systems not to answer (RFC 3834).
    email["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps non-ASCII names and long lines safe on servers without 8BITMIME.
    email.set_content(_env.get_template("email.txt.j2").render(context), cte="quoted-printable")
    email.add_alternative(
        _env.get_template("email.html.j2").render(context), subtype="html", cte="quoted-printable"
    )
    # The reader's language (RFC 3282), set last: set_content drops Content-* headers.
    email["Content-Language"] = message.language
    return email


def _delivery_error(exc: aiosmtplib.SMTPException) -> DeliveryError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return DeliveryError(
            f"SMTP refused the recipient: {detail}", permanent=all(code >= 500 for code in codes)
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        # 5xx to this recipient or this message will not change on a retry.
        return DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500)
    # Everything else (connection, timeout, 4xx, and also a refused sender or failed login,
    # which are server settings rather than this message) is worth retrying once fixed.
    return DeliveryError(f"SMTP delivery failed: {type(exc).__name__}: {exc}", permanent=False)


IDLE_SECONDS = 20.0
MAX_PER_SESSION = 1000


class EmailChannel:
    name = "email"

    def __init__(self, settings: EmailSettings | None = None) -> None:
        self.settings = settings or EmailSettings.from_env()
        self._client: aiosmtplib.SMTP | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._sent_on_session = 0
        self._last_used = 0.0

    def _session_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            # A session and its lock belong to one event loop; a new loop starts afresh.
            self._lock, self._loop, self._client = asyncio.Lock(), loop, None
        return self._lock

    async def send(self, message: OutboundMessage) -> None:
        email = render_email(message, sender=self.settings.sender)
        async with self._session_lock():
            try:
                client, reused = await self._session()
                try:
                    await client.send_message(email)
                except aiosmtplib.SMTPServerDisconnected:
                    if not reused:
                        raise
                    # The server dropped a session we kept open: the message never went out.
                    await self._discard()
                    client, _ = await self._session()
                    await client.send_message(email)
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
                # The server answered (and aiosmtplib reset the envelope): the session stays.
                raise _delivery_error(exc) from exc
            except aiosmtplib.SMTPException as exc:
                await self._discard()
                raise _delivery_error(exc) from exc
            except OSError as exc:  # refused or unreachable before aiosmtplib wraps it
                await self._discard()
                raise DeliveryError(f"SMTP connection failed: {exc}", permanent=False) from exc
            self._sent_on_session += 1
            self._last_used = time.monotonic()

    async def end_session(self) -> None:
        """End the SMTP session politely (QUIT); the next send opens a new one."""
        async with self._session_lock():
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()

    async def _session(self) -> tuple[aiosmtplib.SMTP, bool]:
        client = self._client
        stale = time.monotonic() - self._last_used > IDLE_SECONDS
        fresh = not stale and self._sent_on_session < MAX_PER_SESSION
        if client is not None and client.is_connected and fresh:
            return client, True
        await self._discard(polite=client is not None and not stale)
        settings = self.settings
        client = aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            start_tls=settings.starttls,
            use_tls=settings.use_tls,
            timeout=settings.timeout,
        )
        await client.connect()
        self._client, self._sent_on_session = client, 0
        self._last_used = time.monotonic()
        return client, False

    async def _discard(self, polite: bool = False) -> None:
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        if polite:
            try:
                await client.quit()
                return
            except (aiosmtplib.SMTPException, OSError):
                pass
        client.close()
