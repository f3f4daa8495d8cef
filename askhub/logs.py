"""Structured logs: one ``key=value`` (logfmt) line per HTTP request and per tick outcome.

logfmt rather than JSON: a line reads at a glance in a terminal or ``journalctl``, and log
tools (Loki, Vector, ``grep``/``awk``) split it into fields as they would JSON. Values with a
space, quote or ``=`` are quoted with JSON string escapes in ASCII, so no value can break a
line in two.

What a request line never holds: the raw path (the one-click links carry signed tokens in it,
and other paths carry ids), the query string, ``Authorization`` or cookies. It names the route
template instead (``/act/{token:str}``), or ``-`` when no route matched.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from time import perf_counter

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

requests_log = logging.getLogger("askhub.requests")
ticks_log = logging.getLogger("askhub.ticks")

REQUEST_ID_HEADER = "X-Request-ID"
_RID = REQUEST_ID_HEADER.lower().encode()
# An incoming request id is kept only if it is short and plain (a proxy's UUID or similar);
# anything else is replaced, so a header cannot smuggle text into the logs.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_BARE = re.compile(r"[A-Za-z0-9._:/{}@+-]+")
# Marks a record whose message is already logfmt (the formatter does not quote it again).
_STRUCTURED = "askhub_structured"

request_id: ContextVar[str] = ContextVar("askhub_request_id", default="-")


def logfmt(**fields: object) -> str:
    """``key=value`` pairs in the order given; ``None`` values are left out."""
    return " ".join(f"{key}={_value(value)}" for key, value in fields.items() if value is not None)


def _value(value: object) -> str:
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text)


def emit(
    logger: logging.Logger, level: int, fields: dict[str, object], exc_info: bool = False
) -> None:
    """Log ``fields`` as one logfmt line (built only if ``level`` is on)."""
    if logger.isEnabledFor(level):
        logger.log(level, logfmt(**fields), exc_info=exc_info, extra={_STRUCTURED: True})


class LogfmtFormatter(logging.Formatter):
    """``ts=… level=… logger=…`` then the line's own fields (or ``msg="…"`` for a plain log
    message); a traceback, if any, follows on the next lines."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        head = logfmt(ts=moment.replace("+00:00", "Z"), level=record.levelname.lower())
        message = record.getMessage()
        body = message if getattr(record, _STRUCTURED, False) else logfmt(msg=message)
        line = f"{head} logger={record.name} {body}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str) -> None:
    """AskHub's own lines at ``level`` (``ASKHUB_LOG_LEVEL``), other libraries' warnings and
    errors, all as logfmt on stderr. (Uvicorn keeps its own start and stop lines.)"""
    handler = logging.StreamHandler()
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("askhub").setLevel(level.upper())


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SAFE_REQUEST_ID.fullmatch(text):
                return text
            break
    return secrets.token_hex(8)


def route_of(scope: Scope) -> str:
    """The matched route's template (ids and tokens stay placeholders), ``-`` if none."""
    return str(scope.get("path_template") or "-")


def request_log(app: ASGIApp) -> ASGIApp:
    """Wrap the app's ASGI handler: one line per HTTP request once its response is sent, and
    the request id in the ``X-Request-ID`` response header. It sits outside routing, so
    requests no route matched (404, 405) are logged too."""

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = perf_counter()
        rid = _incoming_request_id(scope)
        token = request_id.set(rid)
        status: int | None = None

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers") or () if h[0].lower() != _RID]
                headers.append((_RID, rid.encode()))
                message["headers"] = headers
            await send(message)

        failed = True
        try:
            await app(scope, receive, send_noting_status)
            failed = False
        finally:
            request_id.reset(token)
            emit(
                requests_log,
                logging.INFO,
                {
                    "method": scope.get("method", "-"),
                    "route": route_of(scope),
                    "status": status or (500 if failed else "-"),
                    "duration_ms": (perf_counter() - started) * 1000,
                    "request_id": rid,
                },
            )

    return logged


@contextmanager
def tick_outcome(name: str) -> Iterator[dict[str, object]]:
    """Time one round of a tick and log its outcome as one line; the body fills in the counts
    (and may set ``outcome``, e.g. ``skipped``). A failed round is logged (ERROR, with its
    traceback) and swallowed: the next round tries again and the other ticks are not affected.
    A round that did nothing logs at DEBUG, so an idle service does not write a line per tick
    every few seconds."""
    started = perf_counter()
    counts: dict[str, object] = {}
    try:
        yield counts
    except Exception:
        emit(
            ticks_log,
            logging.ERROR,
            {"tick": name, "outcome": "failed", "duration_ms": (perf_counter() - started) * 1000},
            exc_info=True,
        )
    else:
        outcome = counts.pop("outcome", "ok")
        done = {key: value for key, value in counts.items() if value}
        emit(
            ticks_log,
            logging.INFO if done or outcome != "ok" else logging.DEBUG,
            {
                "tick": name,
                "outcome": outcome,
                **done,
                "duration_ms": (perf_counter() - started) * 1000,
            },
        )
