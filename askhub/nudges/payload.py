"""What a nudge says: the one contract between the domains that write messages and delivery.

Calls (and anything else that tells people something) build a ``NudgePayload``; the outbox
stores it as JSON; dispatch and the in-app inbox read it back. Nothing else travels in a
nudge: the recipient's address and webhook come from the person at delivery time.
"""

from __future__ import annotations

from typing import Any

import msgspec


class NudgeLink(msgspec.Struct, frozen=True):
    """A one-click action or a link to the call."""

    label: str
    url: str


class NudgePayload(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    # Plain-text paragraphs; channels escape them for HTML or markdown as needed.
    intro: str
    body: str = ""
    # "Why you": short evidence lines from routing.
    reasons: list[str] = []
    links: list[NudgeLink] = []
    # A list in the message: the replies of a summary, the calls of a digest.
    items: list[str] = []

    def stored(self) -> dict[str, Any]:
        """As the outbox keeps it (a JSON column)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out

    @classmethod
    def from_stored(cls, raw: dict[str, Any] | None) -> NudgePayload:
        """Read a stored payload; keys written by older versions (``call_url``) are ignored."""
        return msgspec.convert(raw or {"subject": "", "intro": ""}, cls)
