"""Sign in and out. Passwords (argon2id) by default; with ``ASKHUB_AUTH_HEADER`` the single
sign-on proxy says who is asking and these pages only send people home."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import TooManyRequestsException
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.auth.service import client_address, end_session, start_session
from askhub.web.accounts import authenticate
from askhub.web.core import (
    bind_csrf,
    current_person,
    local_path,
    page,
    redirect,
    state_of,
    text,
)


def _limits(request: Request[Any, Any, Any], handle: str) -> dict[str, int]:
    """The limiter's keys for a sign-in: the handle (whoever tries it) and the client address
    (whatever handles it tries), each with its limit."""
    web = state_of(request).settings
    address = client_address(
        request.client.host if request.client else None,
        request.headers.getall("x-forwarded-for", []),
        web.trusted_proxies,
    )
    return {
        f"handle:{handle.strip().lower()}": web.login_max_failures,
        f"address:{address}": web.login_max_failures_per_address,
    }


@get("/login", name="web:login")
async def login_page(
    request: Request[Any, Any, Any], db: AsyncSession, next: str | None = None
) -> Response[Any]:
    if state_of(request).settings.auth_header or await current_person(request, db):
        return redirect(local_path(next))
    return page(request, None, "login.html", next=local_path(next), handle="", error=None)


@post("/login", status_code=200)
async def login(request: Request[Any, Any, Any], db: AsyncSession) -> Response[Any]:
    web = state_of(request)
    if web.settings.auth_header:
        return redirect("/")
    form = await request.form()
    handle = text(form, "handle", 64)
    password = form.get("password") if isinstance(form.get("password"), str) else ""
    target = local_path(text(form, "next", 2000))
    limits = _limits(request, handle)
    # The place is taken before the password is checked: of many attempts at once, no more
    # than the limit get checked. A failure keeps its place; a success gives it back.
    attempt = web.limiter.begin(limits)
    if isinstance(attempt, int):
        raise TooManyRequestsException(
            "too many failed sign-ins; try again later", headers={"Retry-After": str(attempt)}
        )
    person = await authenticate(db, handle, str(password))
    if person is None:
        return page(
            request,
            None,
            "login.html",
            status=401,
            next=target,
            handle=handle,
            error="Wrong handle or password.",
        )
    web.limiter.release(attempt, forget=(next(iter(limits)),))
    # A fresh session, recorded on the server: nothing from before the sign-in carries over,
    # not even the CSRF cookie (one planted before would otherwise stay valid).
    sid = await start_session(db, person, web.settings.session_max_age)
    request.set_session({"sid": sid})
    response = redirect(target)
    bind_csrf(request, response, sid)
    return response


@post("/logout", status_code=200)
async def logout(request: Request[Any, Any, Any], db: AsyncSession) -> Response[Any]:
    """Sign out: the session ends on the server, so a copy of the cookie is worthless too."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        await end_session(db, sid)
    request.clear_session()
    response = redirect("/" if state_of(request).settings.auth_header else "/login")
    bind_csrf(request, response, None)
    return response
