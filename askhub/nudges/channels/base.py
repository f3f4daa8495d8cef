"""What every channel receives and how it reports failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Recipient:
    handle: str
    name: str
    email: str | None = None
    webhook_url: str | None = None


@dataclass(frozen=True)
class Link:
    """A one-click action shown in the message (reply, volunteer, decline, forward, snooze)."""

    label: str
    url: str


@dataclass(frozen=True)
class OutboundMessage:
    """One message for one person, rendered by a channel.

    ``idempotency_key`` is stable across retries: email uses it for the Message-ID, webhooks
    send it as a header, so a receiver can drop a resend after a crash.
    """

    idempotency_key: str
    kind: str  # ask, reminder, summary, digest, notice
    recipient: Recipient
    subject: str
    # Plain-text paragraphs; channels escape them for HTML/markdown as needed.
    intro: str
    body: str = ""
    # "Why you": short evidence lines from routing.
    reasons: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    # Extra lines listed after the body (e.g. replies in a summary, calls in a digest).
    items: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # The reader's language ("en", "nl") for the words a channel adds ("Why you", the footer).
    language: str = "en"


class DeliveryError(Exception):
    """Delivery failed. ``permanent`` failures (bad address, 4xx) are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str

    async def send(self, message: OutboundMessage) -> None:
        """Deliver or raise DeliveryError."""
        ...


@runtime_checkable
class SessionChannel(Protocol):
    """A channel that keeps a session open between sends (SMTP); the dispatch tick ends it
    when the outbox is empty, so no connection idles between ticks."""

    async def end_session(self) -> None: ...
