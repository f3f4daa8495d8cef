"""The tables. Enums are stored as strings (no native enum types) so migrations stay simple
on both SQLite and PostgreSQL, and JSON columns hold short lists (tags, skills, languages)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import false, func, text

# Stable constraint names, so Alembic can alter them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on every database (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; AskHub stores UTC-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Role(enum.StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    ADMIN = "admin"


class Availability(enum.StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OPTED_OUT = "opted_out"


# The people who may be unavailable now (away, opted out), read by every routing call: the
# partial index ix_person_not_available holds just them. A query must name this very predicate
# (``person_maybe_unavailable``), as a literal, for PostgreSQL's planner and SQLite's to use it.
MAYBE_UNAVAILABLE = "availability <> 'available'"


class PostKind(enum.StrEnum):
    PROFILE = "profile"
    POST = "post"
    QUESTION = "question"
    ANSWER = "answer"
    CALL = "call"


class CallKind(enum.StrEnum):
    QUESTION = "question"
    VOLUNTEERS = "volunteers"
    REFERRAL = "referral"


class CallStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    FILLED = "filled"
    CLOSED = "closed"
    EXPIRED = "expired"
    # The asker took the call back: it takes no replies and is no earlier answer to anyone.
    WITHDRAWN = "withdrawn"


class MatchState(enum.StrEnum):
    PROPOSED = "proposed"
    NUDGED = "nudged"
    SEEN = "seen"
    REPLIED = "replied"
    DECLINED = "declined"
    FORWARDED = "forwarded"
    EXPIRED = "expired"


class ReplyKind(enum.StrEnum):
    ANSWER = "answer"
    VOLUNTEER = "volunteer"
    DECLINE = "decline"
    FORWARD = "forward"


class NudgeChannel(enum.StrEnum):
    INAPP = "inapp"
    EMAIL = "email"
    WEBHOOK = "webhook"


class NudgeKind(enum.StrEnum):
    ASK = "ask"
    REMINDER = "reminder"
    SUMMARY = "summary"
    DIGEST = "digest"
    # To the asker or a volunteer: a reply arrived, the call is full, nobody was found.
    NOTICE = "notice"


class NudgeState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


class Person(Base):
    __tablename__ = "person"
    # Every routing call reads who may be unavailable (away, opted out): a partial index holds
    # just them (migration 0011), so the call reads those rows instead of the whole table.
    __table_args__ = (
        Index(
            "ix_person_not_available",
            "id",
            postgresql_where=text(MAYBE_UNAVAILABLE),
            sqlite_where=text(MAYBE_UNAVAILABLE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    department: Mapped[str | None] = mapped_column(String(200), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The language AskHub writes to this person in (the NL/EN switch); None: the first
    # language they speak that AskHub has. Separate from ``languages`` (what they speak).
    ui_language: Mapped[str | None] = mapped_column(String(8))
    bio: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    availability: Mapped[Availability] = mapped_column(
        _enum(Availability), default=Availability.AVAILABLE
    )
    away_until: Mapped[datetime | None]
    nudge_budget_per_week: Mapped[int] = mapped_column(Integer, default=3)
    quiet_hours_start: Mapped[int | None] = mapped_column(Integer)
    quiet_hours_end: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["inapp", "email"])
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # One digest a day instead of single nudges.
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_digest_at: Mapped[datetime | None]
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.MEMBER)
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2id; web sign-in
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    posts: Mapped[list[Post]] = relationship(back_populates="author", passive_deletes=True)


# One person per address, whatever its case: an address may say who signs in (trusted-header
# mode with ASKHUB_AUTH_HEADER_FIELD=email), so two people must never share one.
Index("uq_person_lower_email", func.lower(Person.email), unique=True)


class ApiToken(Base):
    """An API bearer token; only its SHA-256 is stored (tokens are random, not passwords)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    # None: the token works until it is revoked (`askhub token revoke`).
    expires_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()


class WebSession(Base):
    """A web sign-in. The browser's cookie holds a random id whose SHA-256 is stored here;
    deleting the row (sign-out, password change, "sign out everywhere") ends the session."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Post(Base):
    __tablename__ = "post"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind), default=PostKind.POST)
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(32), default="askhub")
    external_id: Mapped[str | None] = mapped_column(String(200))
    # The external id of the question this post answers (same source); fitting learns from it.
    in_reply_to: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Person] = relationship(back_populates="posts")


class Embedding(Base):
    """One passage vector of a post. Kept in the database so FAISS can be rebuilt or replicated
    without re-encoding; ``model_id`` prevents vectors of two models from ever mixing."""

    __tablename__ = "embedding"
    __table_args__ = (UniqueConstraint("post_id", "model_id", "chunk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[str] = mapped_column(String(200), index=True)
    chunk: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Call(Base):
    __tablename__ = "call"
    # One call per (asker, request key): a retried post finds the first (migration 0013).
    __table_args__ = (
        UniqueConstraint("asker_id", "request_key", name="uq_call_asker_request_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asker_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CallKind] = mapped_column(_enum(CallKind))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    needed: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[datetime | None]
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[CallStatus] = mapped_column(
        _enum(CallStatus), default=CallStatus.OPEN, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The nudge loop's progress: last wave sent and when; when it closed; when the asker was
    # told that no candidates were left.
    wave: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    wave_started_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    exhausted_at: Mapped[datetime | None]
    # A question without a deadline closes a set time after this (or after created_at).
    reopened_at: Mapped[datetime | None]
    # The client's name for the request that posted it (``Idempotency-Key``), if it gave one.
    request_key: Mapped[str | None] = mapped_column(String(100))

    asker: Mapped[Person] = relationship()
    matches: Mapped[list[Match]] = relationship(
        back_populates="call", order_by="Match.rank", passive_deletes=True
    )
    replies: Mapped[list[Reply]] = relationship(
        back_populates="call", order_by="Reply.id", passive_deletes=True
    )


class Match(Base):
    __tablename__ = "match"
    __table_args__ = (UniqueConstraint("call_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    # Calibrated probability that the person answers (None: ranked by the hand-set weights).
    p_answer: Mapped[float | None] = mapped_column(Float)
    wave: Mapped[int] = mapped_column(Integer, default=1)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[MatchState] = mapped_column(_enum(MatchState), default=MatchState.PROPOSED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    nudged_at: Mapped[datetime | None]
    seen_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    forwarded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    # Asked because a manager introduced the call to this person (``models.connect``): such an
    # ask counts against the manager's introduction budget, never the person's weekly budget.
    introduced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    call: Mapped[Call] = relationship(back_populates="matches")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class Reply(Base):
    __tablename__ = "reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReplyKind] = mapped_column(_enum(ReplyKind), default=ReplyKind.ANSWER)
    body: Mapped[str] = mapped_column(Text, default="")
    forward_to_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    helpful: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="replies")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])


# A person's asks in the budget window and asks in flight, by index however many matches they
# had (migration 0012; askhub.routing.availability.asks_and_waiting).
Index("ix_match_person_nudged", Match.person_id, Match.nudged_at)
Index("ix_match_person_state", Match.person_id, Match.state)

# One volunteer reply per person per call: a duplicate post cannot count twice.
_VOLUNTEER = text("kind = 'volunteer'")
Index(
    "uq_reply_one_volunteer",
    Reply.call_id,
    Reply.person_id,
    unique=True,
    sqlite_where=_VOLUNTEER,
    postgresql_where=_VOLUNTEER,
)


class Deflection(Base):
    """Someone about to ask took an earlier call's answers instead of asking anyone."""

    __tablename__ = "deflection"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The earlier call whose answers did it.
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # What they were about to ask (the title they typed).
    query: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LinkUse(Base):
    """A one-click link that has acted: links act once. The token's SHA-256 is unique, so of
    two posts of one link only one can record its use."""

    __tablename__ = "link_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("reply.id", ondelete="SET NULL"))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class Nudge(Base):
    """The outbox: every message a person receives is a row here before any channel sends it."""

    __tablename__ = "nudge"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    channel: Mapped[NudgeChannel] = mapped_column(_enum(NudgeChannel))
    kind: Mapped[NudgeKind] = mapped_column(_enum(NudgeKind))
    state: Mapped[NudgeState] = mapped_column(
        _enum(NudgeState), default=NudgeState.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A row in "sending" whose lease has passed was claimed by a process that died: retry it.
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    seen_at: Mapped[datetime | None]


class RoutingModel(Base):
    """A fitted ranker (``indexer.ranker.FittedRanker`` as JSON); the newest one ranks."""

    __tablename__ = "routing_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    questions: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)


class IndexChange(Base):
    """One changed post's vectors, appended by triggers on ``embedding`` (migration 0007).

    Each process replays the rows after the last id it saw, so its in-memory index follows
    every edit and deletion; ids are never reused and become visible in id order.
    """

    __tablename__ = "index_change"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(Integer)


def person_maybe_unavailable() -> Any:
    """``WHERE`` people who may be unavailable now, in the form the partial index matches."""
    return text(f"person.{MAYBE_UNAVAILABLE}")
