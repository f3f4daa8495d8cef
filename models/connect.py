"""Facilitation: introductions made by managers, and ambassadors who bring colleagues in.

Kept apart from ``models.entities`` (one module per domain). An ambassador is a row here, not
a role: a manager can be an ambassador too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.entities import Base, Call, Person, utcnow


class Introduction(Base):
    """A manager (or admin) introduced a call to a person, or two people to each other.

    ``call_id`` set: ``person_id`` was introduced to that call (and became a match on it).
    ``other_id`` set: ``person_id`` and ``other_id`` were introduced to each other. The
    manager's weekly budget counts these rows by ``introducer_id`` and ``created_at``.
    """

    __tablename__ = "introduction"

    id: Mapped[int] = mapped_column(primary_key=True)
    introducer_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("call.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    introducer: Mapped[Person] = relationship(foreign_keys=[introducer_id])
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    other: Mapped[Person | None] = relationship(foreign_keys=[other_id])
    call: Mapped[Call | None] = relationship()


# The manager's budget counts their introductions of the last seven days.
Index("ix_introduction_introducer_created", Introduction.introducer_id, Introduction.created_at)


class Ambassador(Base):
    """A person who invites colleagues with a personal link (``/join/{code}``)."""

    __tablename__ = "ambassador"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    # Random (secrets.token_urlsafe), so a link cannot be guessed from a handle.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    appointed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class Invitation(Base):
    """A colleague came in through an ambassador's link. One row per colleague (unique): the
    first ambassador whose link they opened keeps them."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    colleague_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), unique=True
    )
    ambassador_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
