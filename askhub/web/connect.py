"""Facilitation on the pages: a manager introduces a colleague to a call or to another
colleague, makes someone an ambassador, and a colleague opens an ambassador's invitation
link. The rules are the services' (``calls.introductions``, ``people.ambassadors``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.introductions import (
    BudgetSpent,
    IntroductionIn,
    introduce,
    introductions_left,
)
from askhub.calls.service import CallError, forward_handle
from askhub.context import AppContext
from askhub.i18n import Translator, translator
from askhub.people import ambassadors
from askhub.people.service import get_by_handle
from askhub.validation import ConflictError, InputError, NotFound
from askhub.web.calls import call_page, load_call
from askhub.web.core import convert, flash, redirect, request_language, text
from askhub.web.people import person_page_for
from models import Person


def _t(request: Request[Any, Any, Any], viewer: Person) -> Translator:
    return translator(request_language(request, viewer))


async def _introduce(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    fields: dict[str, Any],
) -> tuple[str | None, dict[str, str | Exception], int]:
    """Make the introduction; the note to flash, or the errors keyed by form field and the
    page's status (409 when the state refuses it: spent budget, someone unreachable)."""
    data, invalid = convert(fields, IntroductionIn)
    if data is None:
        return None, {f"introduce_{name}": message for name, message in invalid.items()}, 422
    t = _t(request, viewer)
    try:
        async with db.begin_nested():
            made = await introduce(db, context.settings, viewer, data, t=t)
    except BudgetSpent as exc:
        return None, {"introduce_form": str(exc)}, 409
    except (CallError, InputError) as exc:
        status = 409 if isinstance(exc, ConflictError) or not exc.field else 422
        return None, {f"introduce_{exc.field or 'form'}": str(exc)}, status
    return (
        t(
            "Introduced. They hear who introduced them and why. "
            "You have {n} introductions left this week.",
            n=made.left_this_week,
        ),
        {},
        200,
    )


@post("/calls/{call_id:int}/introduce", status_code=200)
async def introduce_to_call(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    form = await request.form()
    note = text(form, "note", 2000)
    done, errors, status = await _introduce(
        request,
        db,
        context,
        viewer,
        {
            "call_id": call_id,
            "person": await forward_handle(db, text(form, "person", 200)) or "",
            "note": note,
        },
    )
    if done is None:
        return call_page(
            request,
            await load_call(db, call_id),
            viewer,
            context.settings.max_waves,
            status=status,
            errors=errors,
            introductions_left=await introductions_left(db, context.settings, viewer),
            introduce_note=note,
        )
    flash(request, done)
    return redirect(f"/calls/{call_id}")


@post("/people/{handle:str}/introduce", status_code=200)
async def introduce_people(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    handle: str,
) -> Response[Any]:
    form = await request.form()
    note = text(form, "note", 2000)
    done, errors, status = await _introduce(
        request,
        db,
        context,
        viewer,
        {
            "person": handle,
            "other": await forward_handle(db, text(form, "other", 200)) or "",
            "note": note,
        },
    )
    if done is None:
        return await person_page_for(
            request, db, context, viewer, handle, status=status, errors=errors, note=note
        )
    flash(request, done)
    return redirect(f"/people/{handle}")


@post("/people/{handle:str}/ambassador", status_code=200)
async def toggle_ambassador(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, handle: str
) -> Response[Any]:
    """Managers and admins: make someone an ambassador, or no longer."""
    person = await get_by_handle(db, handle)
    if person is None:
        raise NotFoundException(f"nobody with handle {handle!r}")
    t = _t(request, viewer)
    if text(await request.form(), "make", 5) == "1":
        await ambassadors.appoint(db, viewer, person)
        flash(
            request,
            t("{name} is an ambassador now, with a personal invitation link.", name=person.name),
        )
    else:
        await ambassadors.dismiss(db, viewer, person)
        flash(request, t("{name} is no longer an ambassador.", name=person.name))
    return redirect(f"/people/{handle}")


@get("/join/{code:str}")
async def join(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, code: str
) -> Response[Any]:
    """An ambassador's invitation link. Opened while signed in (the sign-in page comes first
    otherwise), it records that the colleague came through this ambassador, once."""
    found = await ambassadors.by_code(db, code)
    if found is None:
        raise NotFound("no invitation with this code")
    arrival = await ambassadors.arrive(db, viewer, found)
    t = _t(request, viewer)
    if arrival.own:
        flash(request, t("This is your own invitation link: share it with colleagues."))
    else:
        flash(
            request,
            t(
                "Welcome! {name} invited you. Complete your profile so colleagues with a question "
                "can find you.",
                name=arrival.ambassador.name,
            ),
        )
    return redirect("/profile")
