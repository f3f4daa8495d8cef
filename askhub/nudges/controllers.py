"""``/api/inbox``: the in-app channel, read by the person it is for."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.nudges import outbox
from askhub.nudges.schemas import InboxItem, item_out
from askhub.openapi import BEARER, Id, Limit, Offset, errors
from askhub.validation import NotFound
from models import Nudge, Person


class InboxController(Controller):
    path = "/api/inbox"
    tags = ("inbox",)
    security = BEARER

    @get("/", responses=errors())
    async def list_inbox(
        self,
        db: AsyncSession,
        me: Person,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[InboxItem]:
        return [item_out(n) for n in await outbox.inbox(db, me.id, limit, offset)]

    @post("/{nudge_id:int}/seen", status_code=200, responses=errors(404))
    async def mark_seen(self, db: AsyncSession, me: Person, nudge_id: Id) -> InboxItem:
        nudge = await db.get(Nudge, nudge_id)
        if nudge is None or nudge.person_id != me.id:
            raise NotFound("no inbox item {id}", id=nudge_id)
        if nudge.seen_at is None:
            nudge.seen_at = datetime.now(UTC)
        return item_out(nudge)
