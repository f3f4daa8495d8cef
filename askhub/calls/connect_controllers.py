"""HTTP endpoints for facilitation: introductions, ambassadors and their invitations, and
profile completeness. The rules live in ``calls.introductions``, ``people.ambassadors`` and
``people.completeness``; these only translate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException, TooManyRequestsException
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import introductions
from askhub.calls.introductions import BudgetSpent, IntroductionIn, IntroductionOut
from askhub.context import AppContext
from askhub.openapi import BEARER, TOTAL, Limit, Offset, errors
from askhub.people import ambassadors
from askhub.people.ambassadors import AmbassadorOut
from askhub.people.completeness import Completeness, completeness
from askhub.people.schemas import PersonBrief
from askhub.people.service import get_by_handle, person_brief
from models import Person

Code = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
HandlePath = Annotated[str, Parameter(max_length=64)]


class ArrivalOut(msgspec.Struct):
    """Who you count for: the ambassador whose link you opened first (perhaps before this
    one), and whether this visit recorded it."""

    ambassador: PersonBrief
    recorded: bool


async def _person(db: AsyncSession, handle: str) -> Person:
    person = await get_by_handle(db, handle)
    if person is None:
        raise NotFoundException(f"no person with handle {handle!r}")
    return person


class ConnectController(Controller):
    path = "/api"
    security = BEARER

    @post("/introductions", tags=("introductions",), responses=errors(403, 409, 413, 429))
    async def introduce(
        self, db: AsyncSession, context: AppContext, me: Person, data: IntroductionIn
    ) -> IntroductionOut:
        """Managers and admins: introduce ``person`` to the call ``call_id``, or to the
        colleague ``other``, with a ``note`` saying why. They hear it in their own language,
        with your name and note; it counts against your weekly introductions
        (``ASKHUB_INTRODUCTIONS_PER_WEEK``, 429 when spent), never against their budget.
        Someone who opted out or is away is not introduced (409 naming the field)."""
        now = datetime.now(UTC)
        try:
            made = await introductions.introduce(db, context.settings, me, data, now)
        except BudgetSpent as exc:
            wait = max(int((exc.free_at - now).total_seconds()), 1)
            raise TooManyRequestsException(str(exc), headers={"Retry-After": str(wait)}) from None
        return introductions.introduction_out(await introductions.loaded(db, made))

    @get(
        "/introductions",
        tags=("introductions",),
        responses=errors(),
        response_headers=[
            ResponseHeader(
                name=TOTAL, description="introductions, all pages", documentation_only=True
            )
        ],
    )
    async def list_introductions(
        self,
        db: AsyncSession,
        context: AppContext,
        me: Person,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response[list[IntroductionOut]]:
        """The introductions you made or were introduced in, newest first, with their notes;
        ``left_this_week`` is how many you may still make (0 for members). The total over all
        pages is in the X-Total-Count header."""
        found, total = await introductions.involving(db, context.settings, me, limit, offset)
        return Response(
            [introductions.introduction_out(i) for i in found], headers={TOTAL: str(total)}
        )

    @get("/people/me/completeness", tags=("people",), responses=errors())
    async def my_completeness(self, db: AsyncSession, me: Person) -> Completeness:
        """How complete your profile is (percent) and what is missing: ``bio``, ``skills``,
        ``languages``, ``post`` (a first post of your own)."""
        return await completeness(db, me)

    @get("/ambassadors", tags=("ambassadors",), responses=errors(403))
    async def list_ambassadors(
        self, db: AsyncSession, context: AppContext, me: Person
    ) -> list[AmbassadorOut]:
        """Managers and admins: every ambassador with their reach (colleagues who came
        through their link, and how many of those completed their profile)."""
        return await ambassadors.all_ambassadors(db, context.settings.base_url, me)

    @get("/ambassadors/me", tags=("ambassadors",), responses=errors(404))
    async def my_ambassadorship(
        self, db: AsyncSession, context: AppContext, me: Person
    ) -> AmbassadorOut:
        """Your invitation link and how many colleagues came through it and completed their
        profile (404 when you are not an ambassador)."""
        found = await ambassadors.ambassador_of(db, me)
        if found is None:
            raise NotFoundException("you are not an ambassador")
        return await ambassadors.ambassador_out(db, context.settings.base_url, found)

    @put("/ambassadors/{handle:str}", tags=("ambassadors",), responses=errors(403, 404))
    async def appoint(
        self, db: AsyncSession, context: AppContext, me: Person, handle: HandlePath
    ) -> AmbassadorOut:
        """Managers and admins: make someone an ambassador (again: same link)."""
        person = await _person(db, handle)
        found = await ambassadors.appoint(db, me, person)
        return await ambassadors.ambassador_out(db, context.settings.base_url, found)

    @delete(
        "/ambassadors/{handle:str}",
        tags=("ambassadors",),
        status_code=204,
        responses=errors(403, 404),
    )
    async def dismiss(self, db: AsyncSession, me: Person, handle: HandlePath) -> None:
        """Managers and admins: someone is no longer an ambassador; their link stops working
        (the colleagues who came through it stay counted)."""
        person = await _person(db, handle)
        if not await ambassadors.dismiss(db, me, person):
            raise NotFoundException(f"{handle!r} is not an ambassador")

    @post("/invitations/{code:str}", tags=("ambassadors",), status_code=200, responses=errors(404))
    async def arrive(self, db: AsyncSession, me: Person, code: Code) -> ArrivalOut:
        """Record that you came through this ambassador's link (what opening ``/join/{code}``
        does on the web): once per colleague, the first ambassador wins."""
        found = await ambassadors.by_code(db, code)
        if found is None:
            raise NotFoundException("no invitation with this code")
        arrival = await ambassadors.arrive(db, me, found)
        return ArrivalOut(ambassador=person_brief(arrival.ambassador), recorded=arrival.recorded)
