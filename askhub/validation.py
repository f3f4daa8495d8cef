"""The error services raise for input that is well-formed but not acceptable."""

from __future__ import annotations


class InputError(ValueError):
    """Becomes HTTP 422 naming ``field`` (or 409 when no field is to blame) and CLI exit 2."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConflictError(InputError):
    """Acceptable input that clashes with what is stored (an address someone else uses): HTTP
    409, naming ``field`` when one is to blame."""
