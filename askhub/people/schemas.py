"""What the API and the import accept and return for people and posts.

msgspec structs: Litestar validates request bodies against them and names the failing field;
the import runs the same validation per line, so both speak with one voice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Handle = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
        description="lowercase letters, digits, '.', '_' or '-'; at most 64",
    ),
]
Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Title = Annotated[str, msgspec.Meta(max_length=300)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
Bio = Annotated[str, msgspec.Meta(max_length=10_000)]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}$")]


class PostIn(msgspec.Struct, forbid_unknown_fields=True):
    body: Body
    title: Title = ""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []
    created_at: datetime | None = None
    # Set by importers of other systems (Stack Exchange ids); keeps re-imports idempotent.
    external_id: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    kind: Literal["post", "question", "answer"] = "post"


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
    """``PUT /api/people/me``: fields left out keep their value."""

    name: Name | None = None
    email: Email | None = None
    department: ShortText | None = None
    location: ShortText | None = None
    languages: Annotated[list[Language], msgspec.Meta(max_length=10)] | None = None
    bio: Bio | None = None
    skills: Annotated[list[Tag], msgspec.Meta(max_length=50)] | None = None


class PostCreate(msgspec.Struct, forbid_unknown_fields=True):
    body: Body
    title: Title = ""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []


class PersonOut(msgspec.Struct):
    handle: str
    name: str
    email: str | None
    department: str | None
    location: str | None
    languages: list[str]
    bio: str
    skills: list[str]
    role: str


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
