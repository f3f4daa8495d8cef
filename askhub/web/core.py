"""What every page shares: the web state, the signed-in viewer, rendering, forms and errors."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import MediaType, Request, Response
from litestar.datastructures import FormMultiDict
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.middleware.csrf import generate_csrf_hash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_401_UNAUTHORIZED
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.auth.service import person_by_identity, person_for_session
from askhub.errors import DATABASE_AWAY, RETRY_AFTER, database_away
from askhub.i18n import (
    localise,
    localise_error,
    plural_translator,
    reader_language,
    supported,
    translations,
    translator,
)
from askhub.validation import ConflictError, InputError, NotFound, NotPermitted, refuse_nul
from askhub.web.accounts import LoginLimiter
from askhub.web.markdown import render_markdown
from askhub.web.settings import WebSettings
from models import Person

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
OPT_KEY = "askhub_web"
UTC_ZONE = ZoneInfo("UTC")


CSRF_COOKIE = "askhub_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass
class WebState:
    settings: WebSettings
    limiter: LoginLimiter
    # The CSRF middleware's secret: a signed-in session's token is derived with it.
    csrf_secret: str = ""


def state_of(request: Request[Any, Any, Any]) -> WebState:
    state: WebState = request.route_handler.opt[OPT_KEY]
    return state


class NotSignedIn(HTTPException):
    """No (valid) session: the page handler turns it into a redirect to the sign-in page."""

    status_code = HTTP_401_UNAUTHORIZED


class UnknownUser(HTTPException):
    """Trusted header mode: the proxy named someone AskHub does not know."""

    status_code = 403


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = render_markdown
    return env


@lru_cache(maxsize=1)
def _error_environment() -> Environment:
    return environment()


# -- who is asking ----------------------------------------------------------------------------


async def current_person(request: Request[Any, Any, Any], db: AsyncSession) -> Person | None:
    web = state_of(request).settings
    if web.auth_header:
        value = request.headers.get(web.auth_header)
        if not value:
            return None
        person = await person_by_identity(db, value, web.auth_header_field)
        if person is None:
            raise UnknownUser(f"{web.auth_header} names nobody AskHub knows: {value[:64]!r}")
        return person
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        return None
    person = await person_for_session(db, sid)
    if person is None or person.password_hash is None:
        request.clear_session()  # signed out, elsewhere or here, or the session expired
        return None
    if request.method not in SAFE_METHODS and not _csrf_fits(request, sid):
        raise PermissionDeniedException("this form does not belong to this sign-in")
    return person


# -- CSRF bound to the session ----------------------------------------------------------------


def session_csrf_token(request: Request[Any, Any, Any], sid: str) -> str:
    """The CSRF token (and cookie) of a signed-in session, derived from its id: a token from
    another browser, or a cookie planted before the sign-in, does not fit it. It has the CSRF
    middleware's format, so the middleware keeps checking that the form's token is the
    cookie's."""
    secret = state_of(request).csrf_secret
    token = hmac.new(secret.encode(), f"askhub.web.csrf:{sid}".encode(), hashlib.sha256)
    return token.hexdigest() + generate_csrf_hash(token.hexdigest(), secret)


def _csrf_fits(request: Request[Any, Any, Any], sid: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    return hmac.compare_digest(cookie.encode(), session_csrf_token(request, sid).encode())


def bind_csrf(request: Request[Any, Any, Any], response: Response[Any], sid: str | None) -> None:
    """Give the browser the CSRF cookie of its new session (or, signing out, none: the next
    page makes a fresh one). It lasts as long as the session cookie, so a browser that keeps
    the session across a restart keeps its token too."""
    if sid is None:
        response.delete_cookie(CSRF_COOKIE, path="/")
        return
    response.set_cookie(
        CSRF_COOKIE,
        session_csrf_token(request, sid),
        max_age=state_of(request).settings.session_max_age,
        path="/",
        httponly=True,
        secure=state_of(request).settings.secure_cookies,
        samesite="lax",
    )


async def provide_viewer(request: Request[Any, Any, Any], db: AsyncSession) -> Person:
    person = await current_person(request, db)
    if person is None:
        raise NotSignedIn("sign in first")
    # An error page for this request speaks the viewer's language, as the pages do.
    request.state.askhub_lang = reader_language(person, request.headers.get("accept-language"))
    return person


# -- rendering --------------------------------------------------------------------------------


def zone_of(person: Person | None) -> tzinfo:
    try:
        return ZoneInfo(person.timezone) if person and person.timezone else UTC_ZONE
    except (ZoneInfoNotFoundError, ValueError):
        return UTC_ZONE


def flash(request: Request[Any, Any, Any], message: str) -> None:
    """A one-line note shown on the next page (after a redirect)."""
    request.session["flash"] = message


def request_language(request: Request[Any, Any, Any], viewer: Person | None) -> str:
    """The reader's language: the viewer's setting, else ``?lang=`` (anonymous pages have no
    cookie for it), else the browser's."""
    return reader_language(
        viewer, request.headers.get("accept-language"), request.query_params.get("lang")
    )


def page(
    request: Request[Any, Any, Any],
    viewer: Person | None,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    lang = request_language(request, viewer)
    # Error pages have no viewer at hand (no database in an exception handler): they read the
    # language of the last page from the session.
    if viewer is not None and "session" in request.scope and request.session.get("lang") != lang:
        request.session["lang"] = lang
    zone = zone_of(viewer)
    # A fragment (fetched by the page's script) must not eat the note meant for the next page.
    fragment = template.startswith("fragments/")
    note = (
        request.session.pop("flash", None) if "session" in request.scope and not fragment else None
    )

    def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value is not None else ""

    t, tn = translator(lang), plural_translator(lang)
    catalogue = translations(lang)
    # Field errors are message ids too (service messages stay as they are when not translated).
    # A service's error may be passed as it is: its words and values are translated here.
    errors = {
        name: localise_error(message, lang)
        if isinstance(message, Exception)
        else localise(message, lang)
        for name, message in (context.pop("errors", None) or {}).items()
    }
    return Template(
        template_name=template,
        context={
            "t": t,
            "tn": tn,
            # Jinja's i18n extension ({% trans %}) looks these up in the context.
            "gettext": catalogue.gettext,
            "ngettext": catalogue.ngettext,
            "lang": lang,
            "here": _here(request),
            "me": viewer,
            "when": when,
            "flash": note if isinstance(note, str) else None,
            "header_mode": bool(state_of(request).settings.auth_header)
            if OPT_KEY in request.route_handler.opt
            else False,
            "errors": errors,
            **context,
        },
        status_code=status,
        headers=headers,
        media_type=MediaType.HTML,
    )


def _here(request: Request[Any, Any, Any]) -> str:
    """This page's path and query without ``lang``: where the language switch comes back to."""
    query = "&".join(
        f"{quote(k)}={quote(v)}" for k, v in request.query_params.items() if k != "lang"
    )
    return request.url.path + ("?" + query if query else "")


def redirect(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


def local_path(value: str | None, default: str = "/") -> str:
    """Only paths on this site ("/calls/3"), never "//evil.example" or "https://…"."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


# -- forms ------------------------------------------------------------------------------------

_FIELD = re.compile(r"at `\$\.([A-Za-z_]+)")
# A form's errors by field: a message id, or a service's error (translated with its values).
FormErrors = dict[str, str | Exception]


def convert(data: dict[str, Any], kind: type[Any]) -> tuple[Any, FormErrors]:
    """``data`` as ``kind`` (a msgspec struct), or None and {field: message}."""
    try:
        return msgspec.convert(data, kind, strict=False), {}
    except msgspec.ValidationError as exc:
        found = _FIELD.search(str(exc))
        return None, {found.group(1) if found else "form": str(exc).split(" - at ")[0]}


def text(form: FormMultiDict, name: str, limit: int = 100_000) -> str:
    """A form field, trimmed and cut to ``limit``; NUL is refused (422 naming the field)."""
    value = form.get(name)
    return refuse_nul(value, name).strip()[:limit] if isinstance(value, str) else ""


def word_list(raw: str, limit: int = 50) -> list[str]:
    """'a, b ,c' → ['a', 'b', 'c'] without duplicates."""
    seen: dict[str, None] = {}
    for part in raw.replace("\n", ",").split(","):
        item = part.strip()
        if item and item.lower() not in {s.lower() for s in seen}:
            seen[item] = None
    return list(seen)[:limit]


def local_datetime(raw: str, zone: tzinfo) -> datetime | None:
    """An <input type="datetime-local"> or date value, read in the viewer's time zone."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


# -- errors -----------------------------------------------------------------------------------


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors on web pages are pages, not JSON; no session means: sign in."""
    if isinstance(exc, NotSignedIn) and OPT_KEY in request.route_handler.opt:
        if state_of(request).settings.auth_header:
            return _render_error(
                request, 401, "Your company sign-in did not say who you are. Sign in again."
            )
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.method != "GET":
            target = "/"
        return redirect("/login?next=" + quote(target, safe="/"))
    if isinstance(exc, UnknownUser):
        return _render_error(
            request, 403, "AskHub does not know you yet. Ask your AskHub admin to add you."
        )
    if isinstance(exc, NotPermitted):
        return _render_error(request, 403, exc)
    if isinstance(exc, NotFound):
        return _render_error(request, 404, _ERROR_KEYS[404])
    if isinstance(exc, InputError):
        conflict = isinstance(exc, ConflictError) or not exc.field
        return _render_error(request, 409 if conflict else 422, exc)
    if database_away(exc):  # a restart or failover: say so, and when to try again
        return _render_error(request, 503, DATABASE_AWAY, {"Retry-After": RETRY_AFTER})
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 500:
        from askhub.errors import log

        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    headers = dict(getattr(exc, "headers", None) or {})
    return _render_error(
        request, status, _ERROR_KEYS.get(status, "Something went wrong on our side."), headers
    )


_ERROR_KEYS = {
    403: "You may not do this, or the form was too old. Go back, reload the page and try again.",
    404: "This page does not exist (any more).",
    405: "This page does not exist (any more).",
    413: "That is too much text for one go.",
    429: "Too many failed attempts. Wait a few minutes, then try again.",
}


def _render_error(
    request: Request[Any, Any, Any],
    status: int,
    key: str | Exception,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    # ``key`` is a message id, or an error whose words (and values) are translated here.
    # The viewer's language when the viewer was known (set by provide_viewer), else the one
    # remembered from the last page, else the request's.
    remembered = request.session.get("lang") if "session" in request.scope else None
    lang = (
        supported(getattr(request.state, "askhub_lang", None))
        or supported(remembered)
        or request_language(request, None)
    )
    t = translator(lang)
    catalogue = translations(lang)
    body = (
        _error_environment()
        .get_template("error.html")
        .render(
            t=t,
            tn=plural_translator(lang),
            gettext=catalogue.gettext,
            ngettext=catalogue.ngettext,
            here=_here(request),
            lang=lang,
            me=None,
            flash=None,
            header_mode=False,
            status=status,
            message=localise_error(key, lang)
            if isinstance(key, Exception)
            else localise(key, lang),
            errors={},
        )
    )
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=headers)
