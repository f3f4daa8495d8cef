"""HTTP endpoints for sharing referral calls; the rules live in ``referrals.service``."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.service import get_call
from askhub.context import AppContext
from askhub.i18n import reader_language, translator
from askhub.openapi import BEARER, Id, errors
from askhub.people.service import person_brief
from askhub.referrals import service
from askhub.referrals.schemas import (
    ShareDayOut,
    ShareIn,
    ShareLinkOut,
    SharerOut,
    SharesOut,
)
from askhub.settings import Settings
from askhub.validation import NotFound
from models import Call, Person, ShareLink


async def _call(db: AsyncSession, call_id: int) -> Call:
    call = await get_call(db, call_id)
    if call is None:
        raise NotFound("no call with id {id}", id=call_id)
    return call


async def _link_out(
    db: AsyncSession, settings: Settings, call: Call, me: Person, link: ShareLink
) -> ShareLinkOut:
    buttons = service.buttons(settings, call, link, translator(reader_language(me)))
    return ShareLinkOut(
        call_id=call.id,
        link=buttons.link,
        linkedin=buttons.linkedin,
        email=buttons.email,
        shares=await service.shares_made(db, link),
    )


class SharesController(Controller):
    path = "/api/calls"
    tags = ("referrals",)
    security = BEARER

    @get("/{call_id:int}/share-link", responses=errors(403, 404, 409))
    async def share_link(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id
    ) -> ShareLinkOut:
        """Your personal link for an open referral (made the first time), with the LinkedIn
        and e-mail share addresses. Getting it is no share."""
        call = await _call(db, call_id)
        link = await service.link_for(db, call, me, datetime.now(UTC))
        return await _link_out(db, context.settings, call, me, link)

    @post("/{call_id:int}/shares", status_code=201, responses=errors(403, 404, 409, 413))
    async def share(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id, data: ShareIn
    ) -> ShareLinkOut:
        """Record that you shared the referral (the share button you clicked)."""
        call = await _call(db, call_id)
        link = await service.record_share(db, call, me, data.channel, datetime.now(UTC))
        return await _link_out(db, context.settings, call, me, link)

    @get("/{call_id:int}/shares", responses=errors(403, 404))
    async def shares(
        self, db: AsyncSession, context: AppContext, me: Person, call_id: Id
    ) -> SharesOut:
        """How the referral spread, for the asker and managers: shares and visits per sharer
        (most visits first) and per day (UTC)."""
        call = await _call(db, call_id)
        found = await service.report(db, call, me)
        return SharesOut(
            call_id=call.id,
            offer=str(found.referral.offer),
            url=found.referral.url,
            shares=found.shares,
            visits=found.visits,
            sharers=[
                SharerOut(
                    person=person_brief(s.person),
                    link=service.public_link(context.settings, s.link),
                    shares=s.shared,
                    channels=dict(s.shares),
                    visits=s.visits,
                    first_shared_at=s.first_shared_at,
                )
                for s in found.sharers
            ],
            days=[ShareDayOut(day=d.day, shares=d.shares, visits=d.visits) for d in found.days],
        )
