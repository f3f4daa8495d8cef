"""Email channel: one SMTP delivery per message (aiosmtplib), plain text plus an HTML alternative.

Both bodies come from the Jinja2 templates in ``askhub/nudges/templates/``. The Message-ID is
derived from the idempotency key, so a resend after a crash carries the same Message-ID and
mail clients (and the test sink) can tell it is the same message.
"""

from __future__ import annotations

import hashlib
import re
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


class EmailChannel:
    name = "email"

    def __init__(self, settings: EmailSettings | None = None) -> None:
        self.settings = settings or EmailSettings.from_env()

    async def send(self, message: OutboundMessage) -> None:
        email = render_email(message, sender=self.settings.sender)
        settings = self.settings
        try:
            await aiosmtplib.send(
                email,
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=settings.password,
                start_tls=settings.starttls,
                use_tls=settings.use_tls,
                timeout=settings.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise _delivery_error(exc) from exc
        except OSError as exc:  # refused or unreachable before aiosmtplib wraps it
            raise DeliveryError(f"SMTP connection failed: {exc}", permanent=False) from exc
