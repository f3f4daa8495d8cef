"""The pages behind the one-click links in nudges: no login, the signed link is the key.

GET only shows the call and a form (mail scanners follow links; they must not answer for
anyone); POST does the action.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, MediaType, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls import service
from askhub.calls.links import ActionGrant, LinkError, read_action
from askhub.calls.schemas import ReplyCreate
from askhub.context import AppContext
from models import Call, CallStatus, Person

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
TITLES = {
    "reply": "Answer",
    "volunteer": "Volunteer",
    "decline": "Not me",
    "forward": "Forward to a colleague",
    "snooze": "Remind me later",
}
DONE = {
    "reply": "Thank you! Your answer was sent to {asker}.",
    "volunteer": "Thank you for volunteering! {asker} has been told.",
    "decline": "Thanks for letting us know; you will not be asked about this again.",
    "forward": "Thanks! AskHub asked your colleague.",
    "snooze": "We will remind you later.",
}


def _page(status: int = 200, **context: Any) -> Response[str]:
    html = _TEMPLATES.get_template("action.html.j2").render(**context)
    return Response(html, status_code=status, media_type=MediaType.HTML)


async def _resolve(
    db: AsyncSession, context: AppContext, token: str
) -> tuple[ActionGrant, Call, Person] | Response[str]:
    try:
        grant = read_action(context.settings, token)
    except LinkError as exc:
        return _page(403, title="Link not valid", message=str(exc), error=True)
    call = await service.get_call(db, grant.call_id)
    person = await db.get(Person, grant.person_id)
    if call is None or person is None:
        return _page(404, title="Not found", message="This call no longer exists.", error=True)
    return grant, call, person


class ActionController(Controller):
    path = "/act"
    tags = ("links",)
    include_in_schema = False

    @get("/{token:str}", exclude_from_auth=True)
    async def show(self, db: AsyncSession, context: AppContext, token: str) -> Response[str]:
        resolved = await _resolve(db, context, token)
        if isinstance(resolved, Response):
            return resolved
        grant, call, person = resolved
        await service.mark_seen(context.sessions, call, person, datetime.now(UTC))
        closed = call.status in (CallStatus.CLOSED, CallStatus.EXPIRED)
        return _page(
            title=TITLES[grant.action],
            call=call,
            action=grant.action,
            form=not closed,
            message=f"This call is {call.status}; it takes no more replies." if closed else "",
        )

    @post("/{token:str}", exclude_from_auth=True, status_code=200)
    async def act(
        self,
        db: AsyncSession,
        context: AppContext,
        token: str,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[str]:
        resolved = await _resolve(db, context, token)
        if isinstance(resolved, Response):
            return resolved
        grant, call, person = resolved
        now = datetime.now(UTC)
        body = (data.get("body") or "").strip()[:20_000]
        try:
            if grant.action == "snooze":
                service.snooze(call, person, now, context.settings.snooze_seconds)
            else:
                kind = {"reply": "answer"}.get(grant.action, grant.action)
                forward_to = (data.get("forward_to") or "").strip().lstrip("@") or None
                reply = ReplyCreate(body=body, kind=kind, forward_to=forward_to)  # type: ignore[arg-type]
                await service.add_reply(db, context.settings, call, person, reply, now)
        except service.CallError as exc:
            return _page(
                409 if exc.field is None else 422,
                title=TITLES[grant.action],
                call=call,
                action=grant.action,
                form=exc.field is not None,
                message=str(exc),
                error=True,
            )
        return _page(
            title=TITLES[grant.action],
            call=call,
            message=DONE[grant.action].format(asker=call.asker.name),
        )
