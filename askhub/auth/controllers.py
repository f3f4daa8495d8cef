"""``/api/tokens``: your own API tokens, as ``askhub token list/revoke`` shows them to admins."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, delete, get
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.auth.service import list_tokens, revoke_own_token
from askhub.openapi import BEARER, Id, errors
from askhub.validation import NotFound
from models import Person


class TokenOut(msgspec.Struct):
    """A token's record; the token itself is not stored and cannot be shown again."""

    id: int
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class TokensController(Controller):
    path = "/api/tokens"
    tags = ("tokens",)
    security = BEARER

    @get("/", responses=errors())
    async def list_mine(self, db: AsyncSession, me: Person) -> list[TokenOut]:
        return [
            TokenOut(t.id, t.created_at, t.last_used_at, t.expires_at)
            for t, _ in await list_tokens(db, me.handle)
        ]

    @delete("/{token_id:int}", status_code=204, responses=errors(404))
    async def revoke(self, db: AsyncSession, me: Person, token_id: Id) -> None:
        """Revoke one of your tokens; it is refused from the next request on."""
        if not await revoke_own_token(db, me, token_id):
            raise NotFound("no token {id} of yours", id=token_id)
