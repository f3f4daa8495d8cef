"""New call (with a live preview of who it reaches), the call page, and what people do there:
answer, volunteer or withdraw, forward, decline; the asker accepts and thanks."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import control, similar
from askhub.calls.introductions import introductions_left
from askhub.calls.reach import Forecast
from askhub.calls.schemas import CallCreate, CallEdit, ReplyCreate
from askhub.calls.service import (
    FINISHED,
    AlreadyPosted,
    AudienceTooSmall,
    CallError,
    add_reply,
    can_see_matches,
    connected_first,
    create_call,
    forward_handle,
    get_call,
    mark_seen,
    may_forward,
    may_reply,
    preview_call,
    query_text,
    snooze,
    visible_replies,
    withdraw_volunteer,
)
from askhub.context import AppContext
from askhub.i18n import Translator, plural_translator, translator
from askhub.people.ambassadors import may_facilitate
from askhub.referrals.service import Report, may_share
from askhub.referrals.service import report as spread_report
from askhub.validation import ConflictError
from askhub.web.core import (
    FormErrors,
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
from models import Call, MatchState, Person, ReplyKind, referral_of

CALL_FIELDS = (
    "kind",
    "title",
    "body",
    "tags",
    "needed",
    "deadline",
    "department",
    "location",
    "language",
    "url",
    "offer",
    "request_key",
)
AUDIENCE_FIELDS = ("department", "location", "language")
REPLY_KINDS = ("answer", "volunteer", "decline", "forward")


def _t(request: Request[Any, Any, Any], viewer: Person | None) -> Translator:
    return translator(request_language(request, viewer))


# -- a new call -------------------------------------------------------------------------------


def _call_form(form: FormMultiDict | None) -> dict[str, str]:
    raw = {name: text(form, name, 20_000) if form else "" for name in CALL_FIELDS}
    if raw["kind"] not in ("question", "volunteers", "referral"):
        raw["kind"] = "question"
    return raw


def _call_data(raw: dict[str, str], viewer: Person) -> tuple[CallCreate | None, FormErrors]:
    errors: FormErrors = {}
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
    if raw["kind"] == "referral":
        data["url"] = raw["url"]
        data["offer"] = raw["offer"] if raw["offer"] in ("vacancy", "event") else "vacancy"
    if raw["deadline"]:
        deadline = local_datetime(raw["deadline"], zone_of(viewer))
        if deadline is None:
            errors["deadline"] = "Give a date and time, e.g. 2026-12-01 17:00."
        data["deadline"] = deadline
    audience = {
        k: raw[k].strip().lower() if k == "language" else raw[k] for k in AUDIENCE_FIELDS if raw[k]
    }
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
    if raw["language"]:
        audience = {**(audience or {}), "language": raw["language"].strip().lower()}
    tags = word_list(raw["tags"], 20)
    # Exactly what posting would do, with the people held back marked and why (a referral:
    # the connected first, as posting it ranks them).
    found = await context.routing.preview(
        db,
        query_text(raw["title"], raw["body"], tags),
        k=8,
        exclude={viewer.id},
        audience=audience,
        tags=tags,
        asker=viewer.id,
    )
    if raw["kind"] == "referral":
        return await connected_first(db, found, datetime.now(UTC), explain=False)
    return found


def too_small(t: Any, exc: AudienceTooSmall) -> str:
    return str(
        t(
            "You need {needed} volunteers, but only {size} people are in this audience besides "
            "you. Ask for fewer or widen the audience.",
            needed=exc.needed,
            size=exc.size,
        )
    )


async def _forecast(
    db: AsyncSession, context: AppContext, viewer: Person, raw: dict[str, str], t: Any
) -> tuple[Forecast | None, str | None]:
    """What posting the form would do (None while it is incomplete), or why it cannot be."""
    if len(raw["title"]) + len(raw["body"]) < 3:
        return None, None
    data, _ = _call_data(raw, viewer)
    if data is None:
        return None, None
    try:
        async with db.begin_nested():
            return await preview_call(db, context.routing, context.settings, viewer, data), None
    except AudienceTooSmall as exc:
        return None, too_small(t, exc)
    except CallError:
        return None, None


async def _similar(
    db: AsyncSession, context: AppContext, raw: dict[str, str]
) -> list[similar.Similar] | None:
    """Earlier answered or filled calls like the one being typed (None: too little typed)."""
    if len(raw["title"]) + len(raw["body"]) < 3:
        return None
    return await similar.similar_calls(
        db, context.routing, raw["title"], raw["body"], word_list(raw["tags"], 20)
    )


@get("/calls/new")
async def new_call(
    request: Request[Any, Any, Any], viewer: Person, kind: str = "question"
) -> Response[Any]:
    raw = _call_form(None)
    raw["kind"] = kind if kind in ("question", "volunteers", "referral") else "question"
    # This form's own request key: a second submit of it (a double click, a reload after a
    # lost answer) finds the call the first one posted instead of asking everyone twice.
    raw["request_key"] = secrets.token_urlsafe(16)
    return page(
        request, viewer, "call_new.html", form=raw, matches=None, similar=None, body_preview=None
    )


@post("/calls/similar", status_code=200)
async def similar_fragment(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    raw = _call_form(await request.form())
    found = await _similar(db, context, raw)
    return page(request, viewer, "fragments/similar.html", similar=found, form=raw)


@post("/calls/{call_id:int}/take", status_code=200)
async def take_answer(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    """The asker takes an earlier call's answers instead of asking anyone (a deflection)."""
    query = text(await request.form(), "query", 300)

    async def work(call: Call) -> None:
        await similar.take(db, call, viewer, query)

    return await _acted(
        request, db, context, viewer, call_id, work, "Glad it was asked before. Nobody was asked."
    )


@post("/calls/new", status_code=200)
async def post_call(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    form = await request.form()
    raw = _call_form(form)
    if form.get("action") == "preview":
        forecast, forecast_error = await _forecast(db, context, viewer, raw, _t(request, viewer))
        return page(
            request,
            viewer,
            "call_new.html",
            form=raw,
            matches=await _preview(db, context, viewer, raw),
            forecast=forecast,
            forecast_error=forecast_error,
            similar=await _similar(db, context, raw),
            body_preview=render_markdown(raw["body"]) if raw["body"] else None,
        )
    data, errors = _call_data(raw, viewer)
    if data is not None:
        try:
            async with db.begin_nested():
                call = await create_call(
                    db, context.routing, context.settings, viewer, data, request_key=_key(raw)
                )
        except AlreadyPosted as posted:
            t = _t(request, viewer)
            flash(request, t("This call was already posted; nobody was asked again."))
            return redirect(f"/calls/{posted.call_id}")
        except AudienceTooSmall as exc:
            errors = {"needed": too_small(_t(request, viewer), exc)}
        except (CallError, ConflictError) as exc:
            # The form's own request key is no field the asker sees: its refusal is the form's.
            field = exc.field if exc.field and exc.field != "Idempotency-Key" else "form"
            errors = {field: exc}
    if errors or data is None:
        return page(
            request,
            viewer,
            "call_new.html",
            status=422,
            form=raw,
            errors=errors,
            matches=None,
            similar=None,
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


def _key(raw: dict[str, str]) -> str | None:
    """The request key of a submitted Ask form: the form's own key and what it says, so a
    repeated submit is one call while the same form changed and sent again is a new one."""
    form_key = raw["request_key"]
    if not re.fullmatch(r"[\w-]{1,40}", form_key, re.ASCII):
        return None
    said = "\x00".join(raw[name] for name in CALL_FIELDS if name != "request_key")
    return f"web:{form_key}:{hashlib.sha256(said.encode()).hexdigest()[:32]}"


@post("/calls/preview", status_code=200)
async def preview_matches(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    raw = _call_form(await request.form())
    matches = await _preview(db, context, viewer, raw)
    forecast, forecast_error = await _forecast(db, context, viewer, raw, _t(request, viewer))
    return page(
        request,
        viewer,
        "fragments/matches.html",
        matches=matches,
        forecast=forecast,
        forecast_error=forecast_error,
    )


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


load_call = _load


def call_page(
    request: Request[Any, Any, Any],
    call: Call,
    viewer: Person,
    max_waves: int,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    draft: str = "",
    introductions_left: int | None = None,
    introduce_note: str = "",
    spread: Report | None = None,
) -> Response[Any]:
    """The call page. ``introductions_left``: for managers and admins, how many
    introductions they may still make this week (None: the introduce form is not shown)."""
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
        open_for_replies=call.status not in FINISHED,
        may_reply=may_reply(call, viewer),
        steward=control.may_steward(call, viewer),
        finished=call.status in FINISHED,
        volunteers=[r for r in call.replies if r.kind == ReplyKind.VOLUNTEER]
        if control.may_steward(call, viewer)
        else [],
        errors=errors or {},
        draft=draft,
        may_introduce=introductions_left is not None and call.status not in FINISHED,
        introductions_left=introductions_left or 0,
        introduce_note=introduce_note,
        referral=referral_of(call),
        may_share=may_share(call, viewer),
        spread=spread,
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
    # How a referral spread: shares and visits per sharer and per day (asker and managers).
    spread = (
        await spread_report(db, call, viewer)
        if referral_of(call) is not None and control.may_steward(call, viewer)
        else None
    )
    left = (
        await introductions_left(db, context.settings, viewer) if may_facilitate(viewer) else None
    )
    return call_page(
        request, call, viewer, context.settings.max_waves, spread=spread, introductions_left=left
    )


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
            "forward_to": await forward_handle(db, text(form, "forward_to", 200))
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
        except CallError as exc:
            errors = {exc.field or "form": exc}
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


async def _acted(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
    work: Callable[[Call], Awaitable[object]],
    done: str,
    anchor: str = "",
    **values: Any,
) -> Response[Any]:
    """Do ``work`` on the call in a savepoint; a refusal shows the call page with why, a
    success goes back to it with ``done`` (translated) as the note. Who may is decided by
    the service (a refusal there is the 403 page)."""
    call = await _load(db, call_id)
    try:
        async with db.begin_nested():
            await work(call)
    except CallError as exc:
        return call_page(
            request,
            await _load(db, call_id),
            viewer,
            context.settings.max_waves,
            status=422 if exc.field else 409,
            errors={exc.field or "form": exc},
        )
    flash(request, _t(request, viewer)(done, **values))
    return redirect(f"/calls/{call.id}{anchor}")


def _deadline(raw: str, viewer: Person) -> datetime | None:
    value = local_datetime(raw, zone_of(viewer)) if raw else None
    if raw and value is None:
        raise CallError("Give a date and time, e.g. 2026-12-01 17:00.", "deadline")
    return value


@post("/calls/{call_id:int}/withdraw", status_code=200)
async def withdraw(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    """Take back a volunteer reply. A filled call that drops below its count opens again."""

    async def work(call: Call) -> None:
        await withdraw_volunteer(db, context.settings, call, viewer)

    call = await _load(db, call_id)
    return await _acted(
        request,
        db,
        context,
        viewer,
        call_id,
        work,
        "You withdrew. {name} sees one volunteer less.",
        name=call.asker.name,
    )


@post("/calls/{call_id:int}/replies/{reply_id:int}/accept", status_code=200)
async def accept(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
    reply_id: int,
) -> Response[Any]:
    keep_open = text(await request.form(), "keep_open", 10) in ("1", "on", "true")

    async def work(call: Call) -> None:
        await control.accept(
            db, context.settings, context.routing, call, reply_id, viewer, keep_open=keep_open
        )

    return await _acted(
        request,
        db,
        context,
        viewer,
        call_id,
        work,
        "Accepted. The answer now counts as their expertise."
        if keep_open
        else "Accepted, and the question is closed. The answer now counts as their expertise.",
        f"#reply-{reply_id}",
    )


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
    thanked: list[str] = []

    async def work(call: Call) -> None:
        reply = await control.thank(db, context.settings, call, reply_id, viewer)
        thanked.append(reply.person.name)

    response = await _acted(
        request, db, context, viewer, call_id, work, "Thanked.", f"#reply-{reply_id}"
    )
    if thanked:
        flash(request, _t(request, viewer)("{name} has been thanked.", name=thanked[0]))
    return response


# -- the asker in control ---------------------------------------------------------------------


@post("/calls/{call_id:int}/close", status_code=200)
async def close_call(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    async def work(call: Call) -> None:
        await control.close(db, context.settings, call, viewer)

    return await _acted(
        request,
        db,
        context,
        viewer,
        call_id,
        work,
        "Closed. The colleagues still asked have been told they are no longer needed.",
    )


@post("/calls/{call_id:int}/reopen", status_code=200)
async def reopen_call(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    raw = text(await request.form(), "deadline", 40)

    async def work(call: Call) -> None:
        await control.reopen(db, context.settings, call, viewer, _deadline(raw, viewer))

    return await _acted(request, db, context, viewer, call_id, work, "Reopened.")


@post("/calls/{call_id:int}/extend", status_code=200)
async def extend_call(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    raw = text(await request.form(), "deadline", 40)

    async def work(call: Call) -> None:
        deadline = _deadline(raw, viewer)
        if deadline is None:
            raise CallError("Give a date and time, e.g. 2026-12-01 17:00.", "deadline")
        await control.extend(db, call, viewer, deadline)

    return await _acted(request, db, context, viewer, call_id, work, "The deadline is changed.")


@post("/calls/{call_id:int}/withdraw-call", status_code=200)
async def withdraw_call(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    async def work(call: Call) -> None:
        await control.withdraw(db, context.settings, context.routing, call, viewer)

    return await _acted(
        request,
        db,
        context,
        viewer,
        call_id,
        work,
        "Withdrawn. Everyone asked and every volunteer has been told.",
    )


@post("/calls/{call_id:int}/message", status_code=200)
async def message_volunteers(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    body = text(await request.form(), "body", 20_000)
    sent: list[int] = []

    async def work(call: Call) -> None:
        sent.append(await control.message_volunteers(db, context.settings, call, viewer, body))

    response = await _acted(request, db, context, viewer, call_id, work, "Sent.")
    if sent:
        flash(request, _t(request, viewer)("Sent to {n} volunteers.", n=sent[0]))
    return response


@get("/calls/{call_id:int}/volunteers.csv")
async def volunteers_csv(db: AsyncSession, viewer: Person, call_id: int) -> Response[str]:
    call = await _load(db, call_id)
    return Response(
        control.volunteers_csv(call, viewer),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="call-{call.id}-volunteers.csv"'},
    )


def _edit_form(call: Call) -> dict[str, str]:
    return {"title": call.title, "body": call.body, "tags": ", ".join(call.tags or [])}


@get("/calls/{call_id:int}/edit")
async def edit_call_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, call_id: int
) -> Response[Any]:
    call = await _load(db, call_id)
    control.require_asker(call, viewer)
    return page(request, viewer, "call_edit.html", call=call, form=_edit_form(call))


@post("/calls/{call_id:int}/edit", status_code=200)
async def edit_call(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    call_id: int,
) -> Response[Any]:
    call = await _load(db, call_id)
    form = await request.form()
    raw = {name: text(form, name, 20_000) for name in ("title", "body", "tags")}
    data, errors = convert(
        {"title": raw["title"], "body": raw["body"], "tags": word_list(raw["tags"], 20)}, CallEdit
    )
    if data is not None:
        try:
            async with db.begin_nested():
                await control.edit(db, context.routing, call, viewer, data)
        except CallError as exc:
            errors = {exc.field or "form": exc}
    if errors or data is None:
        return page(
            request, viewer, "call_edit.html", status=422, call=call, form=raw, errors=errors
        )
    flash(request, _t(request, viewer)("Saved."))
    return redirect(f"/calls/{call.id}")
