"""The channels this process delivers through, from the environment."""

from __future__ import annotations

from askhub.nudges.channels.base import Channel
from askhub.nudges.channels.email import EmailChannel
from askhub.nudges.channels.inapp import InAppChannel
from askhub.nudges.channels.webhook import WebhookChannel
from askhub.settings import EmailSettings, WebhookSettings


def build_channels(email: bool, webhook: bool) -> dict[str, Channel]:
    """In-app always; email when an SMTP host is configured; webhooks (to people who set a
    URL) when a signing secret is."""
    channels: dict[str, Channel] = {"inapp": InAppChannel()}
    if email:
        channels["email"] = EmailChannel(EmailSettings.from_env())
    if webhook:
        channels["webhook"] = WebhookChannel(WebhookSettings.from_env())
    return channels


async def close_channels(channels: dict[str, Channel]) -> None:
    for channel in channels.values():
        close = getattr(channel, "aclose", None)
        if close is not None:
            await close()
