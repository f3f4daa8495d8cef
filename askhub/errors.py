"""Every error leaves as JSON that names what was wrong; never a traceback."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import DBAPIError

from askhub.i18n import N_, localise, localise_error, reader_language
from askhub.logs import request_id, route_of
from askhub.validation import ConflictError, InputError, NotFound, NotPermitted
from models import Person

log = logging.getLogger("askhub")


def _json(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    return Response(
        {"status_code": status, "detail": detail, **extra},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


# msgspec names the field inside its message; Litestar then reports the whole body as "data".
_FIELD_IN_MESSAGE = re.compile(r"(?:at `\$\.([^`]+)`|field `([^`]+)`)")


def _field(item: dict[str, Any]) -> str:
    key = item.get("key")
    found = _FIELD_IN_MESSAGE.search(str(item.get("message", "")))
    named = next((g for g in found.groups() if g), None) if found else None
    if key and key != "data":
        # A field named inside the message of an object at ``key`` (posts[0] → its created_at).
        if named and found and found.group(2) and not str(key).endswith(named):
            return f"{key}.{named}"
        return str(key)
    return named or "body"


def _lang(request: Request) -> str:  # type: ignore[type-arg]
    """The caller's reading language: the token's person, else Accept-Language, else English.
    Messages are localised; field names never are (they name the JSON)."""
    user = request.scope.get("user")
    person = user if isinstance(user, Person) else None
    return reader_language(person, request.headers.get("accept-language"))


def validation_error(request: Request, exc: ValidationException) -> Response[dict[str, Any]]:  # type: ignore[type-arg]
    lang = _lang(request)
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {
                    "field": _field(item),
                    "source": item.get("source"),
                    "message": localise(str(item.get("message") or ""), lang),
                }
            )
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or exc.detail
    return _json(HTTP_422_UNPROCESSABLE_ENTITY, detail, errors=errors)


def input_error(request: Request, exc: InputError) -> Response[dict[str, Any]]:  # type: ignore[type-arg]
    message = localise_error(exc, _lang(request))
    if exc.field:
        return _json(
            HTTP_409_CONFLICT if isinstance(exc, ConflictError) else HTTP_422_UNPROCESSABLE_ENTITY,
            f"{exc.field}: {message}",
            errors=[{"field": exc.field, "source": "body", "message": message}],
        )
    return _json(HTTP_409_CONFLICT, message)


def not_permitted(request: Request, exc: NotPermitted) -> Response[dict[str, Any]]:  # type: ignore[type-arg]
    return _json(HTTP_403_FORBIDDEN, localise_error(exc, _lang(request)))


def not_found(request: Request, exc: NotFound) -> Response[dict[str, Any]]:  # type: ignore[type-arg]
    return _json(HTTP_404_NOT_FOUND, localise_error(exc, _lang(request)))


def http_error(request: Request, exc: HTTPException) -> Response[dict[str, Any]]:  # type: ignore[type-arg]
    # Headers the exception carries stay: "Allow" on 405, "WWW-Authenticate" and the like.
    return _json(
        exc.status_code, localise(exc.detail, _lang(request)), headers=dict(exc.headers or {})
    )


def server_error(request: Request, exc: Exception) -> Response[dict[str, Any]]:  # type: ignore[type-arg]
    # The route template, not the path: a one-click link's path is its signed token.
    log.exception(
        "unhandled error on %s %s (request %s)",
        request.method,
        route_of(request.scope),
        request_id.get(),
        exc_info=exc,
    )
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; it has been logged")


DATABASE_AWAY = N_("The database is unavailable for a moment; try again shortly.")
# Seconds a client should wait: a database restart takes about that long.
RETRY_AFTER = "2"
# SQLSTATEs of a database that is away rather than of a bad statement: class 08 (connection
# exceptions), 57P01-57P03 (shut down by an administrator or a crash, or still starting up).
_AWAY_STATES = ("08", "57P01", "57P02", "57P03")


def database_away(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached now (it restarts, fails over), as
    opposed to a statement that failed: the request may work when retried."""
    if isinstance(exc, ConnectionError):  # refused or cut before the driver could wrap it
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and state.startswith(_AWAY_STATES)
    return False


def database_error(request: Request, exc: Exception) -> Response[dict[str, Any]]:  # type: ignore[type-arg]
    """503 with ``Retry-After`` while the database is away (the pool reconnects by itself once
    it is back); any other database error is a 500 like every unexpected one."""
    if not database_away(exc):
        return server_error(request, exc)
    log.warning(
        "database unavailable on %s %s (request %s): %s: %s",
        request.method,
        route_of(request.scope),
        request_id.get(),
        type(exc).__name__,
        exc,
    )
    # The language from Accept-Language only: the caller's person was loaded by a session
    # that has just lost its connection, and reading it could reach for the database again.
    lang = reader_language(None, request.headers.get("accept-language"))
    return _json(
        HTTP_503_SERVICE_UNAVAILABLE,
        localise(DATABASE_AWAY, lang),
        headers={"Retry-After": RETRY_AFTER},
    )
