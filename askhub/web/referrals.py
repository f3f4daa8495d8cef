"""Referral pages: the sharer's page with their personal link and one-click share buttons,
the small POST those buttons make, and the public landing page ``/r/{code}``.

The landing page needs no sign-in and is outside the web session and CSRF cookies
(``NOT_WEB`` in ``askhub.web``): it sets no cookie and stores nothing about the visitor; it
counts the visit on the link and redirects to the vacancy (``referrals.service.visit``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, head, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.service import get_call, mark_seen
from askhub.context import AppContext
from askhub.i18n import translator
from askhub.referrals import service
from askhub.web.core import page, request_language, text
from models import Call, Person, referral_of


async def _load(db: AsyncSession, call_id: int) -> Call:
    call = await get_call(db, call_id)
    if call is None:
        raise NotFoundException(f"no call {call_id}")
    return call


@get("/calls/{call_id:int}/share")
async def share_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    """The sharer's page: their own link and the buttons (made for a phone first)."""
    call = await _load(db, call_id)
    now = datetime.now(UTC)
    # The ask's first link leads here: opening it is opening the call (no reminder).
    await mark_seen(context.sessions, call, viewer, now)
    link = await service.link_for(db, call, viewer, now)
    t = translator(request_language(request, viewer))
    return page(
        request,
        viewer,
        "share.html",
        call=call,
        referral=referral_of(call),
        buttons=service.buttons(context.settings, call, link, t),
        shared=await service.shares_made(db, link),
    )


@post("/calls/{call_id:int}/shares", status_code=204)
async def record_share(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, call_id: int
) -> Response[None]:
    """A share button was clicked (posted by the page's script as the button acts)."""
    call = await _load(db, call_id)
    channel = text(await request.form(), "channel", 20)
    await service.record_share(db, call, viewer, channel, datetime.now(UTC))
    return Response(content=None, status_code=204)


async def _land(request: Request[Any, Any, Any], db: AsyncSession, code: str) -> Response[Any]:
    counted = not service.is_noise(request.method, request.headers)
    url = await service.visit(db, code, datetime.now(UTC), count=counted)
    if url is None:
        # In the browser's language (or ?lang=); no sign-in, no cookie.
        return page(request, None, "share_missing.html", status=404)
    return Redirect(path=url, status_code=302)


@get("/r/{code:str}")
async def landing(request: Request[Any, Any, Any], db: AsyncSession, code: str) -> Response[Any]:
    """The public landing page of a share link: count the visit, go to the vacancy."""
    return await _land(request, db, code)


@head("/r/{code:str}")
async def landing_head(
    request: Request[Any, Any, Any], db: AsyncSession, code: str
) -> Response[None]:
    """The same answer to HEAD (robots checking a link), without a body, never counted."""
    url = await service.visit(db, code, datetime.now(UTC), count=False)
    if url is None:
        return Response(content=None, status_code=404)
    return Response(content=None, status_code=302, headers={"Location": url})
