"""What the API and the import accept and return for people and posts.

msgspec structs: Litestar validates request bodies against them and names the failing field;
the import runs the same validation per line, so both speak with one voice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from askhub.validation import NO_NUL, check_utc

Handle = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
        description="lowercase letters, digits, '.', '_' or '-'; at most 64",
    ),
]
# No spaces or control characters (spelled out: "\\s" differs between Python and JSON Schema).
Email = Annotated[
    str,
    msgspec.Meta(pattern=r"^[^@\x00-\x20]+@[^@\x00-\x20]+\.[^@\x00-\x20]+$", max_length=320),
]
# Every text field refuses NUL (PostgreSQL cannot store it; 422 names the field).
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
ShortText = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NO_NUL)]
Title = Annotated[str, msgspec.Meta(max_length=300, pattern=NO_NUL)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=100_000, pattern=NO_NUL)]
Bio = Annotated[str, msgspec.Meta(max_length=10_000, pattern=NO_NUL)]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}$")]


class PostIn(msgspec.Struct, forbid_unknown_fields=True):
    body: Body
    title: Title = ""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []
    created_at: datetime | None = None
    # Set by importers of other systems (Stack Exchange ids); keeps re-imports idempotent.
    external_id: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] | None = None
    kind: Literal["post", "question", "answer"] = "post"
    # For an answer: the external id of the question it answers (same import source).
    in_reply_to: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] | None = None

    def __post_init__(self) -> None:
        check_utc(self.created_at, "created_at")


class PersonIn(msgspec.Struct, forbid_unknown_fields=True):
    """One line of ``askhub import people`` and the body of ``POST /api/people``."""

    handle: Handle
    name: Name
    email: Email | None = None
    department: ShortText | None = None
    location: ShortText | None = None
    languages: Annotated[list[Language], msgspec.Meta(max_length=10)] = []
    bio: Bio = ""
    skills: Annotated[list[Tag], msgspec.Meta(max_length=50)] = []
    posts: Annotated[list[PostIn], msgspec.Meta(max_length=10_000)] = []


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/people/me``: fields left out keep their value; ``null`` clears one."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    department: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    location: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    languages: Annotated[list[Language], msgspec.Meta(max_length=10)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    bio: Bio | msgspec.UnsetType = msgspec.UNSET
    skills: Annotated[list[Tag], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    # Nudge preferences: how often, when and how AskHub may ask you.
    timezone: Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    availability: Literal["available", "away", "opted_out"] | msgspec.UnsetType = msgspec.UNSET
    away_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    nudge_budget_per_week: Annotated[int, msgspec.Meta(ge=0, le=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    quiet_hours_start: Annotated[int, msgspec.Meta(ge=0, le=23)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    quiet_hours_end: Annotated[int, msgspec.Meta(ge=0, le=23)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    channels: list[Literal["inapp", "email", "webhook"]] | msgspec.UnsetType = msgspec.UNSET
    digest: bool | msgspec.UnsetType = msgspec.UNSET
    # The language AskHub writes to you in (pages, nudges, messages); null: the first of
    # ``languages`` that AskHub has. Apart from ``languages``, which route calls.
    ui_language: Literal["en", "nl"] | msgspec.UnsetType | None = msgspec.UNSET
    webhook_url: (
        Annotated[str, msgspec.Meta(pattern=r"^https?://[^\x00-\x20]+$", max_length=500)]
        | msgspec.UnsetType
        | None
    ) = msgspec.UNSET

    def __post_init__(self) -> None:
        check_utc(self.away_until, "away_until")


class Preferences(msgspec.Struct):
    timezone: str
    availability: str
    away_until: datetime | None
    nudge_budget_per_week: int
    quiet_hours_start: int | None
    quiet_hours_end: int | None
    channels: list[str]
    digest: bool
    webhook_url: str | None
    ui_language: str | None = None


class PostCreate(msgspec.Struct, forbid_unknown_fields=True):
    body: Body
    title: Title = ""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []


class PostUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A change to one of your posts: the fields given replace the old ones."""

    body: Body | msgspec.UnsetType = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET


class PersonOut(msgspec.Struct, omit_defaults=True):
    handle: str
    name: str
    email: str | None
    department: str | None
    location: str | None
    languages: list[str]
    bio: str
    skills: list[str]
    role: str
    # Only in your own profile.
    preferences: Preferences | None = None


class PersonBrief(msgspec.Struct):
    handle: str
    name: str
    department: str | None


class PostOut(msgspec.Struct):
    id: int
    author: str
    kind: str
    title: str
    body: str
    tags: list[str]
    created_at: datetime
