"""Input bounds every request passes before a handler runs: what no database or decoder can
take is refused here with a 4xx, whichever route it was sent to (API, pages, links, files)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException, ValidationException

from askhub.validation import MAX_ID, MAX_JSON_DEPTH, NotFound, json_depth_exceeds

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _refused(field: str, source: str, message: str) -> ValidationException:
    return ValidationException(
        f"{field}: {message}", extra=[{"key": field, "source": source, "message": message}]
    )


async def check_request_bounds(request: Request[Any, Any, Any]) -> None:
    """Refuse NUL characters in the URL, ids beyond the database's integer range, and JSON
    nested deeper than ``MAX_JSON_DEPTH``."""
    # A path that cannot name a file or a row (NUL, an id no row can have) names nothing.
    if "\x00" in request.url.path:
        raise NotFoundException("no such page")
    for name, value in request.path_params.items():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            raise NotFound("no such {name}: {value}", name=name.removesuffix("_id"), value=value)
        if isinstance(value, str) and "\x00" in value:
            raise NotFoundException("no such page")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise _refused(name.replace("\x00", ""), "query", "must not contain NUL characters")
    is_json = "json" in request.headers.get("content-type", "")
    if request.method in _BODY_METHODS and is_json and json_depth_exceeds(await request.body()):
        raise _refused("body", "body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
