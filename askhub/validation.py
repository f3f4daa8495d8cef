"""The error services raise for input that is well-formed but not acceptable, and the bounds
that every input must keep to be storable at all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# The largest id a row can have on every database AskHub runs on (PostgreSQL ``integer``); a
# larger number in a path or query names nothing and must never reach the driver.
MAX_ID = 2**31 - 1
# Text may hold anything but NUL, which PostgreSQL cannot store (and no person types).
NO_NUL = r"^[^\x00]*$"
# Spaces and invisible characters as one class, spelled out because "\\s" means different
# things in Python and in JSON Schema (which documents the same pattern).
_BLANK = r"\x01-\x20\x7f-\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
# Text with at least one visible character and no NUL (titles).
VISIBLE = rf"^[{_BLANK}]*[^\x00{_BLANK}][^\x00]*$"
# A JSON body nested deeper than this is refused before it is decoded: AskHub's own shapes are
# at most four levels deep, and unbounded nesting exhausts the decoder's recursion.
MAX_JSON_DEPTH = 32


def check_utc(value: object, field: str) -> None:
    """For a struct's ``__post_init__``: a time zone-aware datetime must still be a datetime in
    UTC (0001-01-01T00:00+05:00 is not), since it is stored in UTC. msgspec turns the
    ValueError into a validation error that names ``field``."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError(
                f"field `{field}` must lie between the years 1 and 9999 in UTC"
            ) from None


class Worded:
    """An error whose words are a catalogue message id with ``{placeholders}`` and the values
    that fill them: ``str(exc)`` is the English text (logs, tests), and the error handlers of
    the API, the pages and the CLI translate ``message_id`` for the reader, then fill in
    ``values`` (:func:`askhub.i18n.localise_error`). Values are names, numbers and the like,
    never words to translate."""

    message_id: str
    values: dict[str, Any]

    def _word(self, message: str, values: dict[str, Any]) -> str:
        self.message_id = message
        self.values = values
        return message.format(**values) if values else message


class InputError(Worded, ValueError):
    """Becomes HTTP 422 naming ``field`` (or 409 when no field is to blame) and CLI exit 2.
    ``InputError("no colleague with handle '{handle}'", "forward_to", handle=h)``."""

    def __init__(self, message: str, field: str | None = None, **values: Any) -> None:
        super().__init__(self._word(message, values))
        self.field = field


class ConflictError(InputError):
    """Acceptable input that clashes with what is stored (an address someone else uses): HTTP
    409, naming ``field`` when one is to blame."""


class NotPermitted(Worded, PermissionError):
    """The person may not do this (HTTP 403, a web page's 403, CLI exit 2). Services raise it
    from their guards, so no handler checks permissions itself."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(self._word(message, values))


class NotFound(Worded, LookupError):
    """A thing named inside a request does not exist (HTTP 404, CLI exit 2)."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(self._word(message, values))


def refuse_nul(value: str, field: str) -> str:
    """``value`` unchanged, or an InputError naming ``field`` when it holds a NUL character."""
    if "\x00" in value:
        raise InputError("must not contain NUL characters", field)
    return value


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``body`` (JSON) nests arrays and objects deeper than ``limit``.

    Brackets inside strings do not count. Stops at the first level beyond the limit, so a
    hostile body costs one pass at most.
    """
    if body.count(b"[") + body.count(b"{") <= limit:  # the usual case, at C speed
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False
