"""Request and response shapes of the referral sharing API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import msgspec

from askhub.people.schemas import PersonBrief


class ShareIn(msgspec.Struct, forbid_unknown_fields=True):
    # The share button clicked.
    channel: Literal["linkedin", "email", "copy"]


class ShareLinkOut(msgspec.Struct):
    """Your personal link for a referral and where its share buttons go."""

    call_id: int
    link: str
    linkedin: str
    email: str
    # Share buttons you clicked so far.
    shares: int


class SharerOut(msgspec.Struct):
    person: PersonBrief
    link: str
    # Clicks on the share buttons, in all and per channel (linkedin, email, copy).
    shares: int
    channels: dict[str, int]
    visits: int
    first_shared_at: datetime | None


class ShareDayOut(msgspec.Struct):
    # A day in UTC.
    day: date
    shares: int
    visits: int


class SharesOut(msgspec.Struct):
    """How a referral spread: shares and visits in all, per sharer and per day (UTC)."""

    call_id: int
    offer: str
    url: str
    shares: int
    visits: int
    sharers: list[SharerOut]
    days: list[ShareDayOut]
