"""Request and response shapes of the calls API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from askhub.people.schemas import Language, PersonBrief, ShortText, Tag
from askhub.validation import NO_NUL, VISIBLE, check_utc

# At least one character that is not a space; no NUL anywhere.
CallTitle = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=300,
        pattern=VISIBLE,
        description="what the call is about: not only spaces",
    ),
]
CallText = Annotated[str, msgspec.Meta(max_length=20_000, pattern=NO_NUL)]


class Audience(msgspec.Struct, forbid_unknown_fields=True):
    """Limit a call to a department, location (case-insensitive) and/or profile language
    (``nl``, ``en``). No audience: open to everyone."""

    department: ShortText | None = None
    location: ShortText | None = None
    language: Language | None = None


# The public address of a referral's vacancy or event (http or https; checked by the service).
PublicUrl = Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)]


class CallCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["question", "volunteers", "referral"]
    title: CallTitle
    body: CallText = ""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []
    needed: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    deadline: datetime | None = None
    audience: Audience | None = None
    # A referral shares a vacancy or an event: its public http(s) address (required for a
    # referral, refused for other calls) and which of the two it is (default "vacancy").
    url: PublicUrl | None = None
    offer: Literal["vacancy", "event"] | None = None

    def __post_init__(self) -> None:
        check_utc(self.deadline, "deadline")


class CallEdit(msgspec.Struct, forbid_unknown_fields=True):
    """What the asker may change of a call's words; fields left out stay as they are."""

    title: CallTitle | None = None
    body: CallText | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] | None = None


class DeadlineIn(msgspec.Struct, forbid_unknown_fields=True):
    deadline: datetime

    def __post_init__(self) -> None:
        check_utc(self.deadline, "deadline")


class ReopenIn(msgspec.Struct, forbid_unknown_fields=True):
    # Needed when the call's deadline has passed.
    deadline: datetime | None = None

    def __post_init__(self) -> None:
        check_utc(self.deadline, "deadline")


class AcceptIn(msgspec.Struct, forbid_unknown_fields=True):
    # A question closes when its asker accepts an answer, unless this is true.
    keep_open: bool = False


class MessageIn(msgspec.Struct, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, pattern=VISIBLE)]


class MessageOut(msgspec.Struct):
    sent_to: int


class VolunteerOut(msgspec.Struct):
    person: PersonBrief
    email: str | None
    note: str
    volunteered_at: datetime
    reply_id: int


class ReplyCreate(msgspec.Struct, forbid_unknown_fields=True):
    body: CallText = ""
    kind: Literal["answer", "volunteer", "decline", "forward"] = "answer"
    # With kind "forward": the handle of the colleague who knows better.
    forward_to: Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)] | None = None


class Reason(msgspec.Struct):
    post_id: int
    kind: str
    title: str
    snippet: str
    matched_terms: list[str]
    similarity: float


class MatchOut(msgspec.Struct):
    person: PersonBrief
    score: float
    # Calibrated chance that this person answers (null while the hand-set weights rank).
    p_answer: float | None
    rank: int
    wave: int
    state: str
    reasons: list[Reason]


class ReplyOut(msgspec.Struct):
    id: int
    person: PersonBrief
    kind: str
    body: str
    accepted: bool
    created_at: datetime
    # The asker thanked them for it.
    thanked: bool = False


class ReachOut(msgspec.Struct):
    """How far the call has got: people asked so far, asked in all as planned now, and
    useful replies (answers or volunteers) expected by the deadline (those in included)."""

    asked: int
    planned: int
    expected: float
    audience: int


class ForecastOut(msgspec.Struct):
    """What posting the call would do (``POST /api/calls/preview``)."""

    audience: int
    may_ask_now: int
    ask_now: int
    planned: int
    expected: float
    at_most: float
    rate: float
    needed: int | None
    warnings: list[str]


class CallPreview(msgspec.Struct):
    forecast: ForecastOut


class ReferralOut(msgspec.Struct):
    """What a referral call shares: a vacancy or an event at its public address."""

    offer: str
    url: str


class CallOut(msgspec.Struct):
    id: int
    kind: str
    title: str
    body: str
    tags: list[str]
    needed: int | None
    deadline: datetime | None
    status: str
    wave: int
    asker: PersonBrief
    created_at: datetime
    replies: list[ReplyOut]
    closed_at: datetime | None
    # Who was asked is shown to the asker and managers; others see only their own match.
    matches: list[MatchOut]
    volunteers: int
    # Shown on a single call (GET /api/calls/{id} and the POST that created it).
    reach: ReachOut | None = None
    # A referral call's vacancy or event (null for other calls).
    referral: ReferralOut | None = None


class SimilarOut(msgspec.Struct):
    """An earlier call that matches one being typed, answered or filled: take its answers
    instead of asking (``POST /api/calls/{id}/deflections``)."""

    id: int
    kind: str
    title: str
    status: str
    asker: PersonBrief
    created_at: datetime
    score: float
    # Its accepted answers (a question) or its volunteers (a filled call).
    answers: list[ReplyOut]


class DeflectIn(msgspec.Struct, forbid_unknown_fields=True):
    # What the person was about to ask.
    query: Annotated[str, msgspec.Meta(max_length=300, pattern=NO_NUL)] = ""


class DeflectionOut(msgspec.Struct):
    call_id: int
    deflections: int


class RouteMatch(msgspec.Struct):
    handle: str
    name: str
    department: str | None
    score: float
    rank: int
    reasons: list[Reason]
