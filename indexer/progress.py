"""How long work reports how far it is, without knowing who listens.

Deep code (the indexer, the routing service, imports, evaluations) calls a :class:`Progress`
after each batch with a stage name, the items done and the items in all; the caller decides
what that becomes (a bar on a terminal, a plain line in a log, nothing). Nothing here prints.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None:
        """``done`` of ``total`` items of ``stage`` (a stable key such as ``"embed"``) are
        finished; called with ``done == 0`` when the stage starts and ``done == total`` when
        it ends."""


def silent(stage: str, done: int, total: int) -> None:
    """The progress of work nobody watches."""
