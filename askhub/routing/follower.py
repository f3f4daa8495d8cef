"""The follower: keeps this process's index replica in step with the stored vectors in the
background, so a post written through another process is routable here within moments and a
routing call seldom has a change to replay itself.

On PostgreSQL a trigger (migration 0011) NOTIFYs ``askhub_index`` in the transaction that
logs a change to ``embedding``; the notification arrives when that transaction commits. Each
process LISTENs on a connection of its own (asyncpg, outside the pool) and replays the change
log when woken. A notification sent while that connection is down (a PostgreSQL restart, a cut
network) is lost, so the follower reconnects with a growing pause, replays at once after every
(re)connect, and also polls the log's head every ``ASKHUB_INDEX_POLL_SECONDS`` whatever it
heard: a missed NOTIFY delays a replica by one poll at most, and a routing call reads the head
itself anyway. On SQLite (one process) it only polls.

Every ``ASKHUB_INDEX_AUDIT_SECONDS`` a round counts the stored vectors instead
(:meth:`RoutingService.audit`): the one full-table query, kept off the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from askhub.logs import emit
from askhub.routing.service import RoutingService, index_log
from askhub.settings import Settings

# The channel migration 0011's trigger notifies (keep the two in step).
CHANNEL = "askhub_index"
# How the listening connection shows in pg_stat_activity.
APPLICATION_NAME = "askhub-index-follower"
# Pauses between attempts to (re)connect, doubling from the first to the last (and never
# longer than the poll interval: a process that cannot listen polls at that pace).
FIRST_PAUSE, LAST_PAUSE = 0.5, 10.0
# How long a stop waits for a round under way before cancelling it (a cancel in the middle of
# a database call can leave its pooled connection in a state the pool then waits on).
STOP_TIMEOUT = 10.0
# A quiet listening connection is pinged at each poll; one that does not answer in this many
# seconds is dropped and opened again (a cut network shows no error of its own).
PING_TIMEOUT = 5.0


class IndexFollower:
    def __init__(
        self,
        routing: RoutingService,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
    ) -> None:
        self.routing = routing
        self.sessions = sessions
        self.settings = settings
        url = make_url(settings.database_url)
        self.listens = url.get_backend_name() == "postgresql"
        # asyncpg takes the libpq form of the URL (no "+asyncpg").
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.listening = False
        self.last_round: float | None = None
        # notifications heard, rounds run (replays are counted by the routing service),
        # connects, connections lost, failed rounds or connects.
        self.counters: Counter[str] = Counter()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="askhub-index-follower")

    async def stop(self) -> None:
        """Let the round under way finish, then end (cancel only if it takes too long)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def state(self) -> dict[str, object]:
        """What ``/api/health`` shows of the follower."""
        return {
            "mode": "listen" if self.listens else "poll",
            "listening": self.listening,
            "poll_seconds": self.settings.index_poll_seconds,
            "audit_seconds": self.settings.index_audit_seconds,
            "last_round": None
            if self.last_round is None
            else datetime.fromtimestamp(self.last_round, UTC).isoformat(),
            **{
                what: self.counters[what]
                for what in ("notifications", "rounds", "connects", "disconnects", "failures")
            },
        }

    async def _run(self) -> None:
        pause = FIRST_PAUSE
        next_audit = self._next_audit()
        connection: asyncpg.Connection | None = None
        try:
            while not self._stopping:
                if self.listens and connection is None:
                    try:
                        connection = await self._listen()
                        pause = FIRST_PAUSE
                    except Exception as exc:  # unreachable, refused: try again after a pause
                        self._failed(exc, pause)
                # A round right after every (re)connect: what was notified while nobody
                # listened is in the log.
                audit = next_audit is not None and time.monotonic() >= next_audit
                try:
                    await self._round(audit)
                    if audit:
                        next_audit = self._next_audit()
                except Exception as exc:  # the database is down: the next round retries
                    self._failed(exc, pause)
                if self.listens and connection is None:
                    # Not listening: poll at the reconnect pace (or faster, if set so).
                    await self._wait(min(pause, self.settings.index_poll_seconds))
                    pause = min(pause * 2, LAST_PAUSE)
                    continue
                woken = await self._wait(self.settings.index_poll_seconds)
                if self._stopping:
                    break
                if connection is not None and not await _alive(connection, woken):
                    self.counters["disconnects"] += 1
                    self.listening = False
                    await _close(connection)
                    connection = None
        finally:
            self.listening = False
            if connection is not None:
                await _close(connection)

    def _failed(self, exc: Exception, pause: float) -> None:
        self.counters["failures"] += 1
        emit(
            index_log,
            logging.WARNING,
            {"event": "follower_failed", "error": type(exc).__name__, "retry_in": pause},
        )

    def _next_audit(self) -> float | None:
        seconds = self.settings.index_audit_seconds
        return time.monotonic() + seconds if seconds else None

    async def _listen(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(
            self._dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
        )
        try:
            await connection.add_listener(CHANNEL, self._heard)
        except BaseException:
            await _close(connection)
            raise
        # A dropped connection wakes the loop, which then reconnects.
        connection.add_termination_listener(lambda _connection: self._wake.set())
        self.counters["connects"] += 1
        self.listening = True
        return connection

    def _heard(self, _connection: Any, _pid: int, _channel: str, _payload: str) -> None:
        self.counters["notifications"] += 1
        self._wake.set()

    async def _wait(self, seconds: float) -> bool:
        """Until a notification or a stop (True) or ``seconds`` (False). The event is cleared
        before the round, so a change notified during the round wakes the next one."""
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
            woken = True
        except TimeoutError:
            woken = False
        self._wake.clear()
        return woken

    async def _round(self, audit: bool) -> None:
        async with self.sessions() as session:
            if audit:
                await self.routing.audit(session)
            else:
                await self.routing.sync(session)
        self.counters["rounds"] += 1
        self.last_round = time.time()


async def _alive(connection: asyncpg.Connection, woken: bool) -> bool:
    """Whether the listening connection still works: closed ones say so (their termination
    woke the loop); a quiet one is pinged, since a cut network shows no error of its own."""
    if connection.is_closed():
        return False
    if woken:
        return True
    try:
        await asyncio.wait_for(connection.execute("SELECT 1"), PING_TIMEOUT)
    except Exception:  # any failure: open a new one
        return False
    return True


async def _close(connection: asyncpg.Connection) -> None:
    # A connection whose server is gone cannot say goodbye; do not wait for it.
    try:
        await asyncio.wait_for(connection.close(), PING_TIMEOUT)
    except Exception:
        connection.terminate()
