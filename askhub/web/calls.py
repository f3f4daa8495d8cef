"""New call (with a live preview of who it reaches), the call page, and what people do there:
answer, volunteer or withdraw, forward, decline; the asker accepts and thanks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import notify
from askhub.calls.schemas import CallCreate, ReplyCreate
from askhub.calls.service import (
    CallError,
    accept_reply,
    add_reply,
    can_see_matches,
    create_call,
    get_call,
    mark_seen,
    may_forward,
    query_text,
    snooze,
    visible_replies,
    withdraw_volunteer,
)
from askhub.context import AppContext
from askhub.i18n import Translator, plural_translator, translator
from askhub.people.service import not_erased
from askhub.web.core import (
    convert,
    flash,
    local_datetime,
    page,
    redirect,
    request_language,
    text,
    word_list,
    zone_of,
)
from askhub.web.markdown import render_markdown
from models import (
    Call,
    CallStatus,
    MatchState,
    NudgeKind,
    Person,
    ReplyKind,
)

CALL_FIELDS = ("kind", "title", "body", "tags", "needed", "deadline", "department", "location")
REPLY_KINDS = ("answer", "volunteer", "decline", "forward")
CLOSED = (CallStatus.CLOSED, CallStatus.EXPIRED)


def _t(request: Request[Any, Any, Any], viewer: Person | None) -> Translator:
    return translator(request_language(request, viewer))


# -- a new call -------------------------------------------------------------------------------


def _call_form(form: FormMultiDict | None) -> dict[str, str]:
    raw = {name: text(form, name, 20_000) if form else "" for name in CALL_FIELDS}
    if raw["kind"] not in ("question", "volunteers", "referral"):
        raw["kind"] = "question"
    return raw


def _call_data(raw: dict[str, str], viewer: Person) -> tuple[CallCreate | None, dict[str, str]]:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "kind": raw["kind"],
        "title": raw["title"],
        "body": raw["body"],
        "tags": word_list(raw["tags"], 20),
    }
    if raw["kind"] == "volunteers":
        try:
            data["needed"] = int(raw["needed"])
        except ValueError:
            errors["needed"] = "Say how many volunteers you need."
    if raw["deadline"]:
        deadline = local_datetime(raw["deadline"], zone_of(viewer))
        if deadline is None:
            errors["deadline"] = "Give a date and time, e.g. 2026-12-01 17:00."
        data["deadline"] = deadline
    audience = {k: raw[k] for k in ("department", "location") if raw[k]}
    if audience:
        data["audience"] = audience
    if errors:
        return None, errors
    created, errors = convert(data, CallCreate)
    return created, errors


async def _preview(
    db: AsyncSession, context: AppContext, viewer: Person, raw: dict[str, str]
) -> list[Any] | None:
    if len(raw["title"]) + len(raw["body"]) < 3:
        return None
    audience = {k: raw[k] for k in ("department", "location") if raw[k]} or None
    tags = word_list(raw["tags"], 20)
    # Exactly what posting would do, with the people held back marked and why.
    return await context.routing.preview(
        db,
        query_text(raw["title"], raw["body"], tags),
        k=8,
        exclude={viewer.id},
        audience=audience,
        tags=tags,
        asker=viewer.id,
        max_open_asks=context.settings.max_open_asks,
    )


@get("/calls/new")
async def new_call(
    request: Request[Any, Any, Any], viewer: Person, kind: str = "question"
) -> Response[Any]:
    raw = _call_form(None)
    raw["kind"] = kind if kind in ("question", "volunteers", "referral") else "question"
    return page(request, viewer, "call_new.html", form=raw, matches=None, body_preview=None)


@post("/calls/new", status_code=200)
async def post_call(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    form = await request.form()
    raw = _call_form(form)
    if form.get("action") == "preview":
        return page(
            request,
            viewer,
            "call_new.html",
            form=raw,
            matches=await _preview(db, context, viewer, raw),
            body_preview=render_markdown(raw["body"]) if raw["body"] else None,
        )
    data, errors = _call_data(raw, viewer)
    if data is not None:
        try:
            async with db.begin_nested():
                call = await create_call(db, context.routing, context.settings, viewer, data)
        except CallError as exc:
            errors = {exc.field or "form": str(exc)}
    if errors or data is None:
        return page(
            request,
            viewer,
            "call_new.html",
            status=422,
            form=raw,
            errors=errors,
            matches=None,
            body_preview=None,
        )
    asked = sum(1 for m in call.matches if m.nudged_at is not None)
    t, tn = _t(request, viewer), plural_translator(request_language(request, viewer))
    flash(
        request,
        tn("Your call was sent to {n} colleague.", "Your call was sent to {n} colleagues.", asked)
        if asked
        else t("Nobody matches yet. Use other or more general words, or add tags."),
    )
    return redirect(f"/calls/{call.id}")


@post("/calls/preview", status_code=200)
async def preview_matches(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    raw = _call_form(await request.form())
    matches = await _preview(db, context, viewer, raw)
    return page(request, viewer, "fragments/matches.html", matches=matches)


@post("/markdown/preview", status_code=200)
async def preview_markdown(request: Request[Any, Any, Any], viewer: Person) -> Response[Any]:
    form = await request.form()
    return page(request, viewer, "fragments/markdown.html", text=text(form, "text"))


# -- the call page ----------------------------------------------------------------------------


async def _load(db: AsyncSession, call_id: int) -> Call:
    call = await get_call(db, call_id)
    if call is None:
        raise NotFoundException(f"no call {call_id}")
    return call


def call_page(
    request: Request[Any, Any, Any],
    call: Call,
    viewer: Person,
    max_waves: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    draft: str = "",
) -> Response[Any]:
    my_match = next((m for m in call.matches if m.person_id == viewer.id), None)
    can_see = can_see_matches(call, viewer)
    asked = [m for m in call.matches if m.nudged_at is not None or m.state != MatchState.PROPOSED]
    return page(
        request,
        viewer,
        "call.html",
        status=status,
        call=call,
        replies=visible_replies(call, viewer),
        may_forward=may_forward(call, viewer),
        is_asker=call.asker_id == viewer.id,
        my_match=my_match,
        can_see=can_see,
        asked=asked if can_see else [],
        reserve=sum(1 for m in call.matches if m.state == MatchState.PROPOSED) if can_see else 0,
        max_waves=max_waves,
        volunteered=any(
            r.person_id == viewer.id and r.kind == ReplyKind.VOLUNTEER for r in call.replies
        ),
        open_for_replies=call.status not in CLOSED,
        errors=errors or {},
        draft=draft,
    )


@get("/calls/{call_id:int}")
async def show_call(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    call = await _load(db, call_id)
    await mark_seen(context.sessions, call, viewer, datetime.now(UTC))
    return call_page(request, call, viewer, context.settings.max_waves)


async def _colleague(db: AsyncSession, value: str) -> str | None:
    """A handle for what was typed in the forward field: a handle, or a unique full name."""
    value = value.strip().lstrip("@")
    if not value:
        return None
    if await db.scalar(select(Person.id).where(Person.handle == value.lower())) is not None:
        return value.lower()
    named = (
        await db.scalars(
            select(Person.handle).where(not_erased(), func.lower(Person.name) == value.lower())
        )
    ).all()
    return named[0] if len(named) == 1 else value


@post("/calls/{call_id:int}/reply", status_code=200)
async def reply(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    call = await _load(db, call_id)
    form = await request.form()
    kind = text(form, "kind", 20)
    body = text(form, "body", 20_000)
    data, errors = convert(
        {
            "kind": kind if kind in REPLY_KINDS else "answer",
            "body": body,
            "forward_to": await _colleague(db, text(form, "forward_to", 200))
            if kind == "forward"
            else None,
        },
        ReplyCreate,
    )
    status = 422
    if data is not None:
        try:
            async with db.begin_nested():
                created = await add_reply(db, context.settings, call, viewer, data)
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from exc
        except CallError as exc:
            errors = {exc.field or "form": str(exc)}
            status = 422 if exc.field else 409
    if errors or data is None:
        call = await _load(db, call_id)
        return call_page(
            request,
            call,
            viewer,
            context.settings.max_waves,
            status=status,
            errors=errors,
            draft=body if kind == "answer" else "",
        )
    t = _t(request, viewer)
    flash(
        request,
        {
            "answer": t("Thank you! Your answer was sent to {name}.", name=call.asker.name),
            "volunteer": t(
                "Thank you for volunteering! {name} has been told.", name=call.asker.name
            ),
            "decline": t("Thanks for letting us know; you will not be asked about this again."),
            "forward": t("Thanks! AskHub asked your colleague."),
        }[str(data.kind)],
    )
    return redirect(f"/calls/{call.id}#reply-{created.id}")


@post("/calls/{call_id:int}/withdraw", status_code=200)
async def withdraw(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    """Take back a volunteer reply. A filled call that drops below its count opens again."""
    call = await _load(db, call_id)
    try:
        async with db.begin_nested():
            await withdraw_volunteer(db, call, viewer)
    except CallError as exc:
        return call_page(
            request,
            await _load(db, call_id),
            viewer,
            context.settings.max_waves,
            status=409,
            errors={"form": str(exc)},
        )
    flash(
        request,
        _t(request, viewer)("You withdrew. {name} sees one volunteer less.", name=call.asker.name),
    )
    return redirect(f"/calls/{call.id}")


@post("/calls/{call_id:int}/replies/{reply_id:int}/accept", status_code=200)
async def accept(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
    reply_id: int,
) -> Response[Any]:
    call = await _load(db, call_id)
    try:
        async with db.begin_nested():
            await accept_reply(db, context.routing, call, reply_id, viewer)
    except PermissionError as exc:
        raise PermissionDeniedException(str(exc)) from exc
    except LookupError as exc:
        raise NotFoundException(str(exc)) from exc
    except CallError as exc:
        call = await _load(db, call_id)
        return call_page(
            request, call, viewer, context.settings.max_waves, status=409, errors={"form": str(exc)}
        )
    flash(request, _t(request, viewer)("Accepted. The answer now counts as their expertise."))
    return redirect(f"/calls/{call.id}#reply-{reply_id}")


@post("/calls/{call_id:int}/snooze", status_code=200)
async def later(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    """ "Later" on the page, as in the email: one reminder after the snooze time."""
    call = await _load(db, call_id)
    if snooze(call, viewer, datetime.now(UTC), context.settings.snooze_seconds):
        flash(request, _t(request, viewer)("We will remind you later."))
    return redirect(f"/calls/{call.id}")


@post("/calls/{call_id:int}/replies/{reply_id:int}/thank", status_code=200)
async def thank(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
    reply_id: int,
) -> Response[Any]:
    call = await _load(db, call_id)
    if call.asker_id != viewer.id:
        raise PermissionDeniedException("only the asker thanks")
    found = next((r for r in call.replies if r.id == reply_id), None)
    if found is None:
        raise NotFoundException(f"call {call_id} has no reply {reply_id}")
    if not found.helpful:
        found.helpful = True
        t = notify.words(found.person)
        await notify.send(
            db,
            context.settings,
            found.person,
            NudgeKind.NOTICE,
            f"thanks:{found.id}",
            {
                "subject": t("{name} thanks you: {title}", name=viewer.name, title=call.title)[
                    :180
                ],
                "intro": t(
                    "{name} thanks you for your reply to “{title}”.",
                    name=viewer.name,
                    title=call.title,
                ),
                "body": "",
                "reasons": [],
                "links": [],
                "items": [],
            },
            datetime.now(UTC),
            call,
        )
    flash(request, _t(request, viewer)("{name} has been thanked.", name=found.person.name))
    return redirect(f"/calls/{call.id}#reply-{reply_id}")
