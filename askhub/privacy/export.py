"""The data export (GDPR art. 15 and 20): everything kept about a person, in one document.

It reads people, calls and the inbox, so it lives here, above those domains, with erasure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from askhub.calls.service import call_out, list_calls
from askhub.nudges.outbox import inbox
from askhub.nudges.schemas import item_out
from askhub.people.expertise import hidden_topics
from askhub.people.service import person_out, post_out
from models import (
    Ambassador,
    ApiToken,
    Call,
    Introduction,
    Invitation,
    Match,
    Person,
    Post,
    PostKind,
    Reply,
    Share,
    ShareLink,
    ShareVisits,
)


async def export_of(db: AsyncSession, viewer: Person) -> dict[str, Any]:
    """Everything AskHub keeps about ``viewer`` (but no secrets: no password or token hashes):
    the profile page's download and ``GET /api/people/me/export``."""
    posts = (
        await db.scalars(
            select(Post).where(Post.author_id == viewer.id).order_by(Post.created_at, Post.id)
        )
    ).all()
    replies = (
        await db.execute(
            select(Reply, Call.title)
            .join(Call, Call.id == Reply.call_id)
            .where(Reply.person_id == viewer.id)
            .order_by(Reply.id)
        )
    ).all()
    matches = (
        await db.scalars(
            select(Match)
            .where(Match.person_id == viewer.id)
            .options(selectinload(Match.call))
            .order_by(Match.id)
        )
    ).all()
    tokens = (await db.scalars(select(ApiToken).where(ApiToken.person_id == viewer.id))).all()
    introductions = (
        await db.scalars(
            select(Introduction)
            .where(
                or_(
                    Introduction.introducer_id == viewer.id,
                    Introduction.person_id == viewer.id,
                    Introduction.other_id == viewer.id,
                )
            )
            .order_by(Introduction.id)
        )
    ).all()
    ambassador = await db.get(Ambassador, viewer.id)
    invited_by = await db.scalar(
        select(Person.handle)
        .join(Invitation, Invitation.ambassador_id == Person.id)
        .where(Invitation.colleague_id == viewer.id)
    )
    links = (
        await db.execute(
            select(ShareLink, Call.title)
            .join(Call, Call.id == ShareLink.call_id)
            .where(ShareLink.person_id == viewer.id)
            .order_by(ShareLink.id)
        )
    ).all()
    ids = [link.id for link, _ in links]
    shares = (await db.scalars(select(Share).where(Share.link_id.in_(ids)))).all() if ids else []
    visits = (
        (await db.scalars(select(ShareVisits).where(ShareVisits.link_id.in_(ids)))).all()
        if ids
        else []
    )
    return {
        "exported_at": datetime.now(UTC),
        "person": person_out(viewer, private=True),
        "hidden_topics": hidden_topics(viewer),
        "posts": [post_out(p, viewer) for p in posts if p.kind != PostKind.PROFILE],
        "calls_asked": [
            call_out(c, viewer) for c in await list_calls(db, viewer, mine=True, limit=100_000)
        ],
        "replies": [
            {
                "call_id": r.call_id,
                "call_title": title,
                "kind": str(r.kind),
                "body": r.body,
                "accepted": r.accepted,
                "thanked": r.helpful,
                "created_at": r.created_at,
            }
            for r, title in replies
        ],
        "asked_of_me": [
            {
                "call_id": m.call_id,
                "call_title": m.call.title,
                "state": str(m.state),
                "wave": m.wave,
                "nudged_at": m.nudged_at,
                "seen_at": m.seen_at,
                "replied_at": m.replied_at,
                "reasons": m.evidence,
            }
            for m in matches
        ],
        "inbox": [item_out(n) for n in await inbox(db, viewer.id, limit=100_000)],
        "introductions": [
            {
                "introducer_id": i.introducer_id,
                "made_by_me": i.introducer_id == viewer.id,
                "call_id": i.call_id,
                "person_id": i.person_id,
                "other_id": i.other_id,
                "note": i.note,
                "created_at": i.created_at,
            }
            for i in introductions
        ],
        "ambassador_since": ambassador.created_at if ambassador is not None else None,
        "invited_by": invited_by,
        # Referral links you shared: when you clicked which button, and visits per day (only
        # counts: nothing is kept about the visitors).
        "share_links": [
            {
                "call_id": link.call_id,
                "call_title": title,
                "created_at": link.created_at,
                "shares": [
                    {"channel": str(s.channel), "at": s.created_at}
                    for s in shares
                    if s.link_id == link.id
                ],
                "visits": [
                    {"day": v.day.isoformat(), "visits": v.visits}
                    for v in visits
                    if v.link_id == link.id
                ],
            }
            for link, title in links
        ],
        "api_tokens": [
            {
                "created_at": tok.created_at,
                "last_used_at": tok.last_used_at,
                "expires_at": tok.expires_at,
            }
            for tok in tokens
        ],
    }
