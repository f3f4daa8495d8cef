"""The pages behind the one-click links in nudges: no login, the signed link is the key.

GET only shows the call and a form (mail scanners follow links; they must not answer for
anyone); POST does the action, once: a link that acted (or whose person used their decline
link for the call) shows what was done and links to the call instead. The pages speak the
person's language (askhub.i18n), look like the site, and show the call (markdown), why this
person was asked, the replies they may see and the way to the call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import service
from askhub.calls.links import ActionGrant, LinkError, read_action
from askhub.calls.notify import call_link
from askhub.calls.schemas import ReplyCreate
from askhub.context import AppContext
from askhub.i18n import Translator, reader_language, translator
from askhub.markdown import render_markdown
from askhub.people.service import ERASED_HANDLE_PREFIX
from models import Call, LinkUse, Person

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
_TEMPLATES.filters["md"] = render_markdown
TITLES = {
    "reply": "Answer",
    "volunteer": "Volunteer",
    "decline": "Not me",
    "forward": "Forward to a colleague",
    "snooze": "Remind me later",
}
DONE = {
    "reply": "Thank you! Your answer was sent to {name}.",
    "volunteer": "Thank you for volunteering! {name} has been told.",
    "decline": "Thanks for letting us know; you will not be asked about this again.",
    "forward": "Thanks! AskHub asked your colleague.",
    "snooze": "We will remind you later.",
}
# What an earlier use of a link did, for a link that no longer acts.
USED = {
    "reply": "You answered this call on {when} with this link.",
    "volunteer": "You volunteered for this call on {when} with this link.",
    "decline": "You said this call is not for you on {when}; its links no longer act.",
    "forward": "You forwarded this call on {when} with this link.",
    "snooze": "You asked to be reminded later on {when} with this link.",
}


def _lang(request: Request[Any, Any, Any], person: Person | None) -> str:
    return reader_language(person, request.headers.get("accept-language"))


def _t(request: Request[Any, Any, Any], person: Person | None) -> Translator:
    return translator(_lang(request, person))


def _page(
    request: Request[Any, Any, Any],
    status: int = 200,
    person: Person | None = None,
    **context: Any,
) -> Response[str]:
    lang = _lang(request, person)
    t = translator(lang)
    context["title"] = t(context.get("title", ""))
    context.setdefault("call", None)
    context.setdefault("form", False)
    context.setdefault("error", False)
    context.setdefault("message", "")
    context.setdefault("quote", "")
    context.setdefault("call_url", "")
    context.setdefault("action", "")
    context.setdefault("home_url", "/")
    call, reader = context["call"], person
    if call is not None and not context["call_url"]:
        context["call_url"] = f"/calls/{call.id}"
    # The call as this person may see it: why they were asked, the replies so far.
    context["reasons"] = _reasons(call, reader) if call and reader else []
    context["replies"] = service.visible_replies(call, reader) if call and reader else []
    context["forwarded_to"] = _forward_targets(call) if call else {}
    html = _TEMPLATES.get_template("action.html.j2").render(t=t, lang=lang, **context)
    return Response(html, status_code=status, media_type=MediaType.HTML)


def _reasons(call: Call, person: Person) -> list[dict[str, str]]:
    match = next((m for m in call.matches if m.person_id == person.id), None)
    return [
        {"title": str(r.get("title") or ""), "snippet": str(r.get("snippet") or "")}
        for r in (match.evidence or [] if match else [])[:3]
    ]


def _forward_targets(call: Call) -> dict[int, str]:
    names = {m.person_id: m.person.name for m in call.matches}
    return {
        r.id: names[r.forward_to_id]
        for r in call.replies
        if r.forward_to_id is not None and r.forward_to_id in names
    }


async def _resolve(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, token: str
) -> tuple[ActionGrant, Call, Person] | Response[str]:
    t = _t(request, None)
    try:
        grant = read_action(context.settings, token)
    except LinkError as exc:
        return _page(request, 403, title="Link not valid", message=t(str(exc)), error=True)
    call = await service.get_call(db, grant.call_id)
    person = await db.get(Person, grant.person_id)
    if person is not None and person.handle.startswith(ERASED_HANDLE_PREFIX):
        person = None  # an erased person's links act for nobody
    if call is None or person is None:
        return _page(
            request,
            404,
            title="Not found",
            message=t("This call no longer exists."),
            error=True,
        )
    return grant, call, person


async def _spent_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    call: Call,
    person: Person,
    use: LinkUse,
    status: int,
) -> Response[str]:
    """What the link (or the person's decline link) did, and the way to the call."""
    t = _t(request, person)
    reply = await service.reply_of(db, use)
    return _page(
        request,
        status,
        person=person,
        title=TITLES.get(use.action, "Answer"),
        call=call,
        message=t(USED.get(use.action, USED["reply"]), when=f"{use.used_at:%Y-%m-%d %H:%M} UTC"),
        quote=reply.body if reply is not None else "",
        call_url=call_link(context.settings, call),
    )


class ActionController(Controller):
    path = "/act"
    tags = ("links",)
    include_in_schema = False

    @get("/{token:str}", exclude_from_auth=True)
    async def show(
        self, request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, token: str
    ) -> Response[str]:
        resolved = await _resolve(request, db, context, token)
        if isinstance(resolved, Response):
            return resolved
        grant, call, person = resolved
        spent = await service.link_spent(db, grant, token)
        if spent is not None:
            return await _spent_page(request, db, context, call, person, spent, 200)
        await service.mark_seen(context.sessions, call, person, datetime.now(UTC))
        t = _t(request, person)
        closed = call.status in service.FINISHED
        return _page(
            request,
            person=person,
            title=TITLES[grant.action],
            call=call,
            action=grant.action,
            form=not closed,
            message=t("This call takes no more replies.") if closed else "",
        )

    @post("/{token:str}", exclude_from_auth=True, status_code=200)
    async def act(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        context: AppContext,
        token: str,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[str]:
        resolved = await _resolve(request, db, context, token)
        if isinstance(resolved, Response):
            return resolved
        grant, call, person = resolved
        t = _t(request, person)
        body = (data.get("body") or "").strip()[:20_000]
        reply: ReplyCreate | None = None
        if grant.action != "snooze":
            kind = {"reply": "answer"}.get(grant.action, grant.action)
            forward_to = (data.get("forward_to") or "").strip().lstrip("@") or None
            reply = ReplyCreate(body=body, kind=kind, forward_to=forward_to)  # type: ignore[arg-type]
        try:
            await service.act_by_link(
                db, context.settings, call, person, grant, token, reply, datetime.now(UTC)
            )
        except service.LinkSpent as spent:
            return await _spent_page(request, db, context, call, person, spent.use, 409)
        except (service.CallError, PermissionError) as exc:
            field = getattr(exc, "field", None)
            status = 403 if isinstance(exc, PermissionError) else 422 if field else 409
            return _page(
                request,
                status,
                person=person,
                title=TITLES[grant.action],
                call=call,
                action=grant.action,
                form=field is not None,
                message=t(str(exc)),
                error=True,
            )
        return _page(
            request,
            person=person,
            title=TITLES[grant.action],
            call=call,
            message=t(DONE[grant.action], name=call.asker.name),
            call_url=call_link(context.settings, call),
        )
