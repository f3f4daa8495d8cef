"""Home (what is waiting for me, my calls, calls to join, notifications) and search."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.service import CallFilter, board, in_audience, list_calls, search_calls
from askhub.i18n import translator
from askhub.nudges.outbox import inbox
from askhub.people.completeness import completeness, prompt
from askhub.people.expertise import visible_skills
from askhub.people.service import search_people
from askhub.web.core import page, request_language
from models import Call, CallKind, CallStatus, Match, Person, ReplyKind

LIVE = (CallStatus.OPEN, CallStatus.ANSWERED, CallStatus.FILLED)


async def asked_of(db: AsyncSession, viewer: Person, limit: int = 20) -> list[tuple[Call, Match]]:
    """Calls that asked ``viewer`` (newest first) with their match: the *why you*."""
    calls = await list_calls(db, viewer, routed_to_me=True, limit=limit * 2)
    out = []
    for call in calls:
        match = next((m for m in call.matches if m.person_id == viewer.id), None)
        if match is not None and match.nudged_at is not None and call.status in LIVE:
            out.append((call, match))
    return out[:limit]


async def joinable(db: AsyncSession, viewer: Person, limit: int = 20) -> list[Call]:
    calls = await list_calls(db, viewer, status=str(CallStatus.OPEN), limit=200)
    return [
        c
        for c in calls
        if c.kind == CallKind.VOLUNTEERS
        and c.asker_id != viewer.id
        and in_audience(c, viewer)
        and not any(r.person_id == viewer.id and r.kind == ReplyKind.VOLUNTEER for r in c.replies)
    ][:limit]


@get("/", name="web:home")
async def home(request: Request[Any, Any, Any], db: AsyncSession, viewer: Person) -> Response[Any]:
    return page(
        request,
        viewer,
        "home.html",
        asked=await asked_of(db, viewer),
        mine=await list_calls(db, viewer, mine=True, limit=20),
        joinable=await joinable(db, viewer),
        inbox=list(await inbox(db, viewer.id, limit=8)),
        profile_prompt=prompt(
            translator(request_language(request, viewer)), await completeness(db, viewer)
        ),
    )


BOARD_PAGE = 20
BOARD_STATUSES = ("open", "answered", "filled", "closed", "expired")
BOARD_KINDS = ("question", "volunteers", "referral")


@get("/calls")
async def board_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Person,
    q: str = "",
    kind: str = "",
    status: str = "open",
    offset: int = 0,
) -> Response[Any]:
    """The board: calls open to the viewer (their audience includes them), newest first."""
    wanted = CallFilter(
        status=status if status in BOARD_STATUSES else "open",
        kind=kind if kind in BOARD_KINDS else None,
        text=q.strip()[:200] or None,
        open_to_me=True,
    )
    offset = max(0, min(offset, 1_000_000))
    calls, total = await board(db, viewer, wanted, BOARD_PAGE, offset)

    def page_url(at: int) -> str:
        query = {"q": wanted.text or "", "kind": wanted.kind or "", "status": wanted.status or ""}
        return "/calls?" + urlencode({**query, "offset": max(at, 0)})

    return page(
        request,
        viewer,
        "board.html",
        calls=calls,
        total=total,
        wanted=wanted,
        offset=offset,
        limit=BOARD_PAGE,
        page_url=page_url,
    )


@get("/search")
async def search(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, q: str = ""
) -> Response[Any]:
    term = q.strip()[:200]
    return page(
        request,
        viewer,
        "search.html",
        query=term,
        people=await search_people(db, term) if term else [],
        calls=await search_calls(db, term) if term else [],
        skills_of=visible_skills,
    )


@get("/suggest/people")
async def suggest_people(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, q: str = ""
) -> Response[Any]:
    """``<option>``s for the forward field's autocomplete."""
    term = q.strip().lstrip("@")[:100]
    people = [p for p in await search_people(db, term, 9) if p.id != viewer.id] if term else []
    return page(request, viewer, "fragments/people_options.html", people=people[:8])
