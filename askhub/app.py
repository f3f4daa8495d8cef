"""The Litestar application: JSON API under /api, OpenAPI docs at /schema."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy.exc import DBAPIError

from askhub.auth.controllers import TokensController
from askhub.auth.middleware import BearerTokenMiddleware
from askhub.bounds import check_request_bounds
from askhub.calls.actions import ActionController
from askhub.calls.connect_controllers import ConnectController
from askhub.calls.controllers import CallsController, RepliesController
from askhub.context import AppContext
from askhub.dashboard.controllers import DashboardController
from askhub.dependencies import provide_context, provide_me, provide_session
from askhub.errors import (
    database_error,
    http_error,
    input_error,
    not_found,
    not_permitted,
    server_error,
    validation_error,
)
from askhub.headers import add_security_headers
from askhub.health import health
from askhub.logs import request_log
from askhub.nudges.controllers import InboxController
from askhub.nudges.registry import build_channels, close_channels
from askhub.openapi import StrictStructSchemaPlugin
from askhub.people.controllers import PostsController
from askhub.privacy.controllers import PeopleController
from askhub.referrals.controllers import SharesController
from askhub.routing.follower import IndexFollower
from askhub.scheduler import build_scheduler
from askhub.settings import Settings
from askhub.validation import InputError, NotFound, NotPermitted
from askhub.web import build as build_web
from indexer.embedders import Embedder

# The one-click links carry their own signed authorisation. (The web pages have their own
# sign-in: askhub.web marks its routes exclude_from_auth.)
PUBLIC_PATHS = ["^/api/health$", "^/schema", "^/act/"]


def create_app(
    context: AppContext | None = None,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    freeze: bool = False,
) -> Litestar:
    """Build the app around an existing context, or a new one from settings (and a loaded
    embedder, so tests share one model) that the app closes when it stops. ``freeze`` (a
    serving process, which has the whole process to itself): hide what the start loaded from
    the cyclic garbage collector."""
    ctx = context or AppContext.create(settings or Settings(), embedder)
    web = build_web(ctx.settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.context = ctx
        # Load the model and the index before the first request, not during it, and pay what
        # the first routed call would pay on top (see RoutingService.warm_up).
        async with ctx.sessions() as session:
            await ctx.routing.sync(session)
            await ctx.routing.warm_up(session)
        if freeze:
            # What the start loaded (the model, the index, the first ranker history: millions
            # of objects at 1M posts) lives as long as the process or is replaced whole: out of
            # the cyclic collector's sight, so a full collection walks only what came after it
            # (at 100k posts full collections stopped every thread for 1.8-2.7 s). Frozen
            # objects are freed by reference counting alone: the index and the history hold no
            # cycles (tests/test_ranker_history.py). The start's own garbage goes first.
            gc.collect()
            gc.freeze()
        # Other processes' writes reach this index in the background (askhub/routing/follower.py).
        follower = ctx.follower = IndexFollower(ctx.routing, ctx.sessions, ctx.settings)
        follower.start()
        channels = build_channels(
            email=ctx.settings.smtp_enabled, webhook=ctx.settings.webhook_enabled
        )
        scheduler = build_scheduler(ctx, channels) if ctx.settings.scheduler else None
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await follower.stop()
            ctx.follower = None
            await close_channels(channels)
            ctx.routing.save()
            if context is None:
                await ctx.close()

    app = Litestar(
        route_handlers=[
            health,
            PeopleController,
            PostsController,
            CallsController,
            RepliesController,
            SharesController,
            ActionController,
            InboxController,
            TokensController,
            ConnectController,
            DashboardController,
            *web.route_handlers,
        ],
        dependencies={
            "context": Provide(provide_context, sync_to_thread=False),
            "db": Provide(provide_session),
            "me": Provide(provide_me),
        },
        middleware=[
            web.session_config.middleware,
            DefineMiddleware(BearerTokenMiddleware, exclude=PUBLIC_PATHS),
        ],
        csrf_config=web.csrf_config,
        template_config=web.template_config,
        exception_handlers={
            ValidationException: validation_error,
            InputError: input_error,
            NotPermitted: not_permitted,
            NotFound: not_found,
            HTTPException: http_error,
            # The database away (a restart, a failover): 503 and Retry-After, not 500.
            DBAPIError: database_error,
            ConnectionError: database_error,
            Exception: server_error,
        },
        lifespan=[lifespan],
        plugins=[StrictStructSchemaPlugin()],
        before_request=check_request_bounds,
        before_send=[add_security_headers],
        request_max_body_size=ctx.settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="AskHub",
            version="0.1.0",
            description="Route a colleague's open call to the people most likely to answer it.",
            path="/schema",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", description="askhub token create HANDLE"
                    )
                }
            ),
        ),
    )
    # Outside routing and the exception handlers, so every request (a 404 too) is one line
    # with the status the client got.
    app.asgi_handler = request_log(app.asgi_handler)
    return app
