"""My profile: about me, nudge preferences, the expertise AskHub inferred (and my corrections),
password, and a download of everything AskHub keeps about me. Every route here acts on the
signed-in person only: there is no handle in these URLs to change."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import TooManyRequestsException
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.auth.service import end_sessions, start_session
from askhub.context import AppContext
from askhub.people.ambassadors import ambassador_of, ambassador_out
from askhub.people.completeness import LABELS as COMPLETENESS_LABELS
from askhub.people.completeness import completeness
from askhub.people.expertise import (
    hidden_topics,
    inferred_topics,
    skills_adding,
    skills_hiding,
    skills_showing,
    visible_skills,
)
from askhub.people.schemas import ProfileUpdate
from askhub.people.service import set_reader_language, update_profile
from askhub.privacy.export import export_of
from askhub.privacy.service import erase
from askhub.validation import InputError
from askhub.web.accounts import authenticate, set_password
from askhub.web.core import (
    FormErrors,
    bind_csrf,
    convert,
    flash,
    local_path,
    page,
    redirect,
    state_of,
    text,
    word_list,
    zone_of,
)
from askhub.web.i18n import language_for, translator
from models import Person


async def profile_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Person,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
) -> Response[Any]:
    mine = await ambassador_of(db, viewer)
    base_url = request.app.state.context.settings.base_url
    return page(
        request,
        viewer,
        "profile.html",
        status=status,
        errors=errors or {},
        completeness=await completeness(db, viewer),
        completeness_labels=COMPLETENESS_LABELS,
        ambassador=await ambassador_out(db, base_url, mine) if mine is not None else None,
        skills=visible_skills(viewer),
        topics=await inferred_topics(db, viewer),
        hidden=hidden_topics(viewer),
    )


def _saved(request: Request[Any, Any, Any], viewer: Person) -> None:
    t = translator(language_for(viewer, request.headers.get("accept-language")))
    flash(request, t("Saved."))


async def _update(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    data: dict[str, Any],
    anchor: str = "",
) -> Response[Any]:
    update, errors = convert(data, ProfileUpdate)
    if update is not None:
        try:
            async with db.begin_nested():
                await update_profile(db, context.routing, viewer, update)
        except InputError as exc:
            errors = {exc.field or "form": exc}
            await db.refresh(viewer)
    if errors:
        return await profile_page(request, db, viewer, status=422, errors=errors)
    _saved(request, viewer)
    return redirect("/profile" + anchor)


@get("/profile")
async def show_profile(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person
) -> Response[Any]:
    return await profile_page(request, db, viewer)


@post("/profile", status_code=200)
async def save_profile(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    form = await request.form()
    skills = word_list(text(form, "skills"), 50)
    data = {
        "bio": text(form, "bio", 10_000),
        # Hidden topics are kept; the field shows (and changes) the visible skills only.
        "skills": skills + [s for s in viewer.skills or [] if s.startswith("-")],
        "languages": [x.lower() for x in word_list(text(form, "languages"), 10)],
        "timezone": text(form, "timezone", 64) or "Europe/Amsterdam",
    }
    return await _update(request, db, context, viewer, data)


def _hour(form: FormMultiDict, name: str) -> int | str | None:
    raw = text(form, name, 4)
    if not raw:
        return None
    return int(raw) if raw.isdigit() else raw


@post("/profile/preferences", status_code=200)
async def save_preferences(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    form = await request.form()
    availability = text(form, "availability", 20) or "available"
    away_raw = text(form, "away_until", 40)
    away_until: datetime | None = None
    errors: FormErrors = {}
    if availability == "away":
        try:
            day = datetime.fromisoformat(away_raw) if away_raw else None
        except ValueError:
            day = None
        if day is None:
            errors["away_until"] = "Say until when you are away."
        else:
            # Away until the start of that day, in the person's own time zone.
            away_until = datetime.combine(day.date(), time(0), tzinfo=zone_of(viewer)).astimezone(
                UTC
            )
    channels = ["inapp", *(c for c in form.getall("channels", []) if c in ("email", "webhook"))]
    budget = text(form, "nudge_budget_per_week", 4)
    data = {
        "availability": availability,
        "away_until": away_until,
        "nudge_budget_per_week": int(budget) if budget.isdigit() else budget or 3,
        "quiet_hours_start": _hour(form, "quiet_hours_start"),
        "quiet_hours_end": _hour(form, "quiet_hours_end"),
        "channels": channels,
        "digest": form.get("digest") == "1",
        "webhook_url": text(form, "webhook_url", 500) or None,
    }
    if errors:
        return await profile_page(request, db, viewer, status=422, errors=errors)
    return await _update(request, db, context, viewer, data, "#preferences")


@post("/profile/topics/hide", status_code=200)
async def hide_topic(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    topic = text(await request.form(), "topic", 200)
    if not topic:
        return redirect("/profile")
    return await _update(request, db, context, viewer, {"skills": skills_hiding(viewer, topic)})


@post("/profile/topics/show", status_code=200)
async def show_topic(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    topic = text(await request.form(), "topic", 200)
    return await _update(request, db, context, viewer, {"skills": skills_showing(viewer, topic)})


@post("/profile/skills/add", status_code=200)
async def add_skill(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    skill = text(await request.form(), "skill", 200)
    if not skill:
        return await profile_page(
            request, db, viewer, status=422, errors={"skill": "Type a skill to add."}
        )
    return await _update(request, db, context, viewer, {"skills": skills_adding(viewer, skill)})


@post("/profile/password", status_code=200)
async def change_password(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person
) -> Response[Any]:
    form = await request.form()
    current = form.get("current_password")
    new = form.get("new_password")
    if not isinstance(current, str) or not isinstance(new, str):
        return await profile_page(
            request, db, viewer, status=422, errors={"password": "Fill in both passwords."}
        )
    # Guessing the current password here is limited like signing in (a stolen session must not
    # become a way to find the password): the place is taken before the check.
    web = state_of(request)
    key = f"password:{viewer.id}"
    attempt = web.limiter.begin({key: web.settings.login_max_failures})
    if isinstance(attempt, int):
        raise TooManyRequestsException(
            "too many wrong passwords; try again later", headers={"Retry-After": str(attempt)}
        )
    if await authenticate(db, viewer.handle, current) is None:
        return await profile_page(
            request, db, viewer, status=422, errors={"password": "The current password is wrong."}
        )
    web.limiter.release(attempt, forget=(key,))
    try:
        await set_password(db, viewer, new)
    except InputError as exc:
        return await profile_page(request, db, viewer, status=422, errors={"password": exc})
    # Every session ended with the old password; this browser goes on in a fresh one.
    sid = await start_session(db, viewer, web.settings.session_max_age)
    request.set_session({"sid": sid})
    _saved(request, viewer)
    response = redirect("/profile")
    bind_csrf(request, response, sid)
    return response


@post("/profile/sessions/end", status_code=200)
async def end_all_sessions(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person
) -> Response[Any]:
    """Sign out everywhere: every session of the viewer ends, this one too."""
    await end_sessions(db, viewer)
    request.clear_session()
    response = redirect("/login")
    bind_csrf(request, response, None)
    return response


@post("/profile/erase", status_code=200)
async def erase_account(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    """Erase the signed-in person (GDPR art. 17), after they typed their handle."""
    if text(await request.form(), "confirm_handle", 64).lstrip("@") != viewer.handle:
        return await profile_page(
            request,
            db,
            viewer,
            status=422,
            errors={"confirm_handle": "Type your handle to confirm."},
        )
    await erase(context.sessions, context.routing, viewer.id)  # ends every session too
    request.clear_session()
    response = redirect("/login")
    bind_csrf(request, response, None)
    return response


@get("/profile/export")
async def export(db: AsyncSession, viewer: Person) -> Response[bytes]:
    body = msgspec.json.format(msgspec.json.encode(await export_of(db, viewer)), indent=2)
    return Response(
        body,
        media_type=MediaType.JSON,
        headers={
            "Content-Disposition": f'attachment; filename="askhub-{viewer.handle}.json"',
            "Cache-Control": "no-store",
        },
    )


@post("/language", status_code=200)
async def choose_language(request: Request[Any, Any, Any], viewer: Person) -> Response[Any]:
    """The NL/EN switch in the navigation: pages and nudges follow it from now on."""
    form = await request.form()
    set_reader_language(viewer, text(form, "lang"))
    return redirect(local_path(text(form, "next")))
