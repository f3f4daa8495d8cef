"""The web app: server-rendered pages (Jinja), sessions, CSRF protection, Dutch and English.

``askhub.app`` mounts it with :func:`build`: the pages live at every path outside ``/api/``
(and ``/act/``, ``/schema``), the JSON API keeps its bearer tokens.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware.session.client_side import (
    ClientSideSessionBackend,
    CookieBackendConfig,
)
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler, Message, ScopeSession
from sqlalchemy.exc import DBAPIError

from askhub.settings import Settings
from askhub.validation import InputError, NotFound, NotPermitted
from askhub.web import auth, calls, connect, dashboard, home, people, posts, profile, referrals
from askhub.web.accounts import LoginLimiter
from askhub.web.core import (
    CSRF_COOKIE,
    OPT_KEY,
    STATIC,
    WebState,
    environment,
    error_page,
    provide_viewer,
)
from askhub.web.settings import WebSettings

# The bearer-token middleware of the JSON API skips routes with this option: the pages have
# their own sign-in (a session cookie or the trusted header).
EXCLUDE_FROM_BEARER = {"exclude_from_auth": True}
# Paths with their own protection (bearer tokens, signed links) or none needed: no web session,
# no CSRF cookie.
# The public landing page of a referral link (/r/) sets no cookie at all.
NOT_WEB = [r"^/api(/|$)", r"^/act/", r"^/schema", r"^/static/", r"^/r/"]
SESSION_COOKIE = "askhub_session"

# Security headers (CSP, frame and cache rules) are set on every response by askhub.headers.

PAGES: list[ControllerRouterHandler] = [
    auth.login_page,
    auth.login,
    auth.logout,
    home.home,
    home.search,
    home.board_page,
    home.suggest_people,
    calls.new_call,
    calls.post_call,
    calls.preview_matches,
    calls.similar_fragment,
    calls.take_answer,
    calls.preview_markdown,
    calls.show_call,
    calls.reply,
    calls.withdraw,
    calls.accept,
    calls.thank,
    calls.later,
    calls.close_call,
    calls.reopen_call,
    calls.extend_call,
    calls.withdraw_call,
    calls.message_volunteers,
    calls.volunteers_csv,
    calls.edit_call_page,
    calls.edit_call,
    profile.show_profile,
    profile.save_profile,
    profile.save_preferences,
    profile.hide_topic,
    profile.show_topic,
    profile.add_skill,
    profile.change_password,
    profile.end_all_sessions,
    profile.export,
    profile.erase_account,
    profile.choose_language,
    posts.my_posts,
    posts.write_post,
    posts.edit_post_page,
    posts.edit_post,
    posts.delete_post_page,
    posts.remove_post,
    people.person_page,
    connect.introduce_to_call,
    connect.introduce_people,
    connect.toggle_ambassador,
    connect.join,
    dashboard.dashboard_page,
    dashboard.dashboard_csv,
    referrals.share_page,
    referrals.record_share,
    referrals.landing,
    referrals.landing_head,
]


def _derive(settings: Settings, purpose: str) -> bytes:
    """A key for one purpose from the shared secret (the same on every app process)."""
    return hmac.new(settings.signing_key().encode(), purpose.encode(), hashlib.sha256).digest()


_LOADED = "askhub.session_as_loaded"


class ChangedSessionBackend(ClientSideSessionBackend):
    """Sends the session cookie only when the request changed the session.

    Litestar's backend re-sends it with every response. The pages' own fetches (the live
    preview, the forecast) then race a form post: a preview answered after the post's redirect
    wrote its older copy of the session over the post's, and the note "Your call is posted"
    was lost on the next page. Sign-in sessions end at a fixed time (``WebSession.expires_at``),
    so re-sending an unchanged cookie extended nothing.
    """

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = dict(data)  # type: ignore[literal-required]
        return data

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if scope_session and scope_session == connection.scope.get(_LOADED):
            return
        await super().store_in_message(scope_session, message, connection)


@dataclass
class ChangedSessionConfig(CookieBackendConfig):
    _backend_class = ChangedSessionBackend


@dataclass
class WebApp:
    route_handlers: list[ControllerRouterHandler]
    csrf_config: CSRFConfig
    session_config: ChangedSessionConfig
    template_config: TemplateConfig[Any]
    settings: WebSettings = field(default_factory=WebSettings)


def build(settings: Settings) -> WebApp:
    web = WebSettings.from_env(settings)
    csrf_secret = _derive(settings, "askhub.web.csrf.v1").hex()
    state = WebState(
        settings=web,
        limiter=LoginLimiter(web.login_max_failures, web.login_window),
        csrf_secret=csrf_secret,
    )
    router = Router(
        path="/",
        route_handlers=PAGES,
        dependencies={"viewer": Provide(provide_viewer)},
        # Every key the app maps to JSON, mapped to pages here (the nearest layer wins).
        exception_handlers={
            HTTPException: error_page,
            ValidationException: error_page,
            InputError: error_page,
            NotPermitted: error_page,
            NotFound: error_page,
            DBAPIError: error_page,
            ConnectionError: error_page,
            Exception: error_page,
        },
        include_in_schema=False,
        opt={OPT_KEY: state, **EXCLUDE_FROM_BEARER},
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
        opt=EXCLUDE_FROM_BEARER,
    )
    return WebApp(
        route_handlers=[router, static],
        csrf_config=CSRFConfig(
            secret=csrf_secret,
            cookie_name=CSRF_COOKIE,
            cookie_httponly=True,
            cookie_secure=web.secure_cookies,
            cookie_samesite="lax",
            exclude=NOT_WEB,
        ),
        session_config=ChangedSessionConfig(
            secret=_derive(settings, "askhub.web.session.v1"),
            key=SESSION_COOKIE,
            max_age=web.session_max_age,
            httponly=True,
            secure=web.secure_cookies,
            samesite="lax",
            exclude=NOT_WEB,
        ),
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment())),
        settings=web,
    )
