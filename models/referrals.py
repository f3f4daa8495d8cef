"""Referral calls that spread: the vacancy or event a referral call carries, each sharer's
personal link, the shares they made and the visits their link brought.

A visit is stored as a count per link per day and nothing else: no address, no browser, no
cookie, nothing that tells one visitor from another."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from models.entities import Base, Call, _enum, utcnow


class Offer(enum.StrEnum):
    """What a referral call shares."""

    VACANCY = "vacancy"
    EVENT = "event"


class ShareChannel(enum.StrEnum):
    """The share button someone clicked."""

    LINKEDIN = "linkedin"
    EMAIL = "email"
    COPY = "copy"


class Referral(Base):
    """The vacancy or event of a referral call, with its public address (http or https)."""

    __tablename__ = "referral"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("call.id", ondelete="CASCADE"), primary_key=True
    )
    offer: Mapped[Offer] = mapped_column(_enum(Offer), default=Offer.VACANCY)
    url: Mapped[str] = mapped_column(String(2000))

    # Loaded with every call (one query per batch of calls), so any call at hand knows its
    # referral: read it with :func:`referral_of`.
    call: Mapped[Call] = relationship(
        backref=backref("referral", uselist=False, lazy="selectin", passive_deletes=True)
    )


def referral_of(call: Call) -> Referral | None:
    """The vacancy or event of a referral call (None for other calls and old referrals)."""
    found = getattr(call, "referral", None)
    return found if isinstance(found, Referral) else None


class ShareLink(Base):
    """One person's link for one referral call: ``/r/{code}``. One per person and call."""

    __tablename__ = "share_link"
    __table_args__ = (UniqueConstraint("call_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # Random and unguessable (secrets.token_urlsafe); the public address carries only this.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Share(Base):
    """A click on a share button (LinkedIn, e-mail, copy) on the sharer's page."""

    __tablename__ = "share"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(
        ForeignKey("share_link.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[ShareChannel] = mapped_column(_enum(ShareChannel))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShareVisits(Base):
    """Visits through one link on one day (UTC): a counter, raised in one statement."""

    __tablename__ = "share_visits"

    link_id: Mapped[int] = mapped_column(
        ForeignKey("share_link.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visits: Mapped[int] = mapped_column(Integer, default=0)
