"""In-app channel: always on, and delivery is a no-op."""

from __future__ import annotations

from askhub.nudges.channels.base import OutboundMessage


class InAppChannel:
    name = "inapp"

    async def send(self, message: OutboundMessage) -> None:
        """Nothing to send: the outbox row itself is the inbox entry that ``GET /api/inbox`` lists."""
