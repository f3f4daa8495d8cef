"""Moved to ``askhub.routing.availability`` (routing must not import people: people feed the
index). Kept so that code importing it from here goes on working."""

from askhub.routing.availability import (
    BUDGET_WINDOW,
    asks_in_window,
    held_back,
    is_available,
    open_asks,
    quiet_until,
)

__all__ = [
    "BUDGET_WINDOW",
    "asks_in_window",
    "held_back",
    "is_available",
    "open_asks",
    "quiet_until",
]
