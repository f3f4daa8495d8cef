"""The outbox: every message a person receives is a row here before any channel sends it.

States: pending → sending → sent, or → failed (retried with exponential backoff) → dead.
In-app rows are written as sent: the row is the inbox entry, there is nothing to deliver.
A claim is a conditional UPDATE, so two processes can never both own a row; on PostgreSQL the
candidate rows are also read with ``FOR UPDATE SKIP LOCKED`` so processes do not wait on each
other. A row left in ``sending`` by a process that died is claimed again when its lease runs out.

Every claim increments ``attempts``; the value a claim set is its fencing token. Renewing the
lease before a send and recording the outcome after it both require that token, so a process
whose lease ran out (and whose row another process has claimed since) neither sends nor
overwrites the other's outcome.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Dialect, and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from askhub.nudges.payload import NudgePayload
from models import Nudge, NudgeChannel, NudgeKind, NudgeState
from models.entities import utcnow


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    person_id: int,
    channel: NudgeChannel,
    kind: NudgeKind,
    payload: NudgePayload,
    call_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add a message unless one with ``key`` exists; returns whether it was added.

    An in-app message is written as sent: the row itself is the inbox entry, so there is
    nothing to deliver, and it is in the reader's inbox when the transaction that decided to
    send it commits, without a claim, a load and a mark by the dispatch tick afterwards."""
    if await session.scalar(select(Nudge.id).where(Nudge.idempotency_key == key)) is not None:
        return False
    nudge = Nudge(
        idempotency_key=key,
        person_id=person_id,
        call_id=call_id,
        channel=channel,
        kind=kind,
        payload=payload.stored(),
    )
    if not_before is not None:
        nudge.next_attempt_at = not_before
    if channel == NudgeChannel.INAPP:
        nudge.created_at = nudge.sent_at = utcnow()
        nudge.state = NudgeState.SENT
    try:
        # A savepoint: another process adding the same key concurrently loses only this row.
        async with session.begin_nested():
            session.add(nudge)
    except IntegrityError:
        return False
    return True


def _due(now: datetime) -> Any:
    return or_(
        and_(
            Nudge.state.in_([NudgeState.PENDING, NudgeState.FAILED]), Nudge.next_attempt_at <= now
        ),
        and_(Nudge.state == NudgeState.SENDING, Nudge.claimed_until < now),
    )


@dataclass(frozen=True)
class Claim:
    """A row this process claimed, and the ``attempts`` value its claim set (the fence)."""

    id: int
    attempt: int
    # When the lease ends unless renewed.
    until: datetime


def _ours(claim: Claim) -> Any:
    return and_(
        Nudge.id == claim.id,
        Nudge.state == NudgeState.SENDING,
        Nudge.attempts == claim.attempt,
    )


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[Claim]:
    """Claim up to ``limit`` due rows for this process, oldest first; the caller commits."""
    query = select(Nudge.id).where(_due(now)).order_by(Nudge.next_attempt_at, Nudge.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list((await session.scalars(query)).all())
    if not due:
        return []
    # One UPDATE for the batch; re-checking "due" keeps a row another process claimed since
    # the SELECT (SQLite, where there is no SKIP LOCKED) out of ours.
    claimed = await session.execute(
        update(Nudge)
        .where(Nudge.id.in_(due), _due(now))
        .values(state=NudgeState.SENDING, claimed_until=now + lease, attempts=Nudge.attempts + 1)
        .returning(Nudge.id, Nudge.attempts)
        .execution_options(synchronize_session=False)
    )
    attempts = {nudge_id: attempt for nudge_id, attempt in claimed.all()}
    return [Claim(n, attempts[n], now + lease) for n in due if n in attempts]


async def count_due(session: AsyncSession, now: datetime) -> int:
    """How many rows are due now (the rest a round left when its time budget ran out)."""
    return int(await session.scalar(select(func.count()).select_from(Nudge).where(_due(now))) or 0)


async def _write(connection: AsyncConnection, statement: Any) -> int:
    """Run an UPDATE on a plain connection, bypassing the ORM (nothing mirrors the row): less
    work between a send and its record. Returns the rows matched (dispatch runs these in
    autocommit: each is its own transaction)."""
    result = await connection.execute(statement)
    return int(result.rowcount)


async def renew(connection: AsyncConnection, claim: Claim, now: datetime, lease: timedelta) -> bool:
    """Extend the lease before sending; False if the row is no longer ours (our lease ran out
    while earlier rows of the batch were sent, and another process claimed it)."""
    matched = await _write(
        connection, update(Nudge).where(_ours(claim)).values(claimed_until=now + lease)
    )
    return matched == 1


# Built once: constructing the statement cost more CPU than running it, per message. Used on
# a database without a driver-level statement below.
_MARK_SENT = (
    update(Nudge)
    .where(
        tuple_(Nudge.id, Nudge.attempts).in_(bindparam("claims", expanding=True)),
        Nudge.state == NudgeState.SENDING,
    )
    .values(state=NudgeState.SENT, sent_at=bindparam("now"), claimed_until=None, last_error=None)
    .returning(Nudge.id)
)

# The same UPDATE as each driver takes it, one round trip and no SQLAlchemy in between: it runs
# once per message sent, and through SQLAlchemy it cost 0.15 ms (asyncpg) to 0.25 ms (aiosqlite:
# three hand-offs to its thread, where this is one) of CPU, a fifth of a delivery's. Fenced
# like every outcome: only rows still in "sending" under their claim's attempt.
_MARK_SENT_SET = (
    "UPDATE nudge SET state = {0}, sent_at = {1}, claimed_until = NULL, last_error = NULL"
)
_MARK_SENT_POSTGRES = (
    _MARK_SENT_SET.format("$1", "$2") + " WHERE state = $3 AND (id, attempts) IN"
    " (SELECT * FROM unnest($4::integer[], $5::integer[])) RETURNING id"
)
_MARK_SENT_SQLITE = (
    _MARK_SENT_SET.format("?", "?") + " WHERE state = ? AND (id, attempts) IN (VALUES {pairs})"
    " RETURNING id"
)


@functools.lru_cache(maxsize=8)
def _sent_at(dialect: Dialect) -> Callable[[datetime], Any]:
    """``sent_at`` as this dialect's driver takes it (the column type's own bind processing)."""
    process = Nudge.__table__.c.sent_at.type.bind_processor(dialect)
    return process or (lambda value: value)


async def _driver(connection: AsyncConnection) -> Any:
    """The driver's own connection (asyncpg, aiosqlite) under ``connection``."""
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("the connection is closed")
    return driver


async def mark_all_sent(
    connection: AsyncConnection, claims: Sequence[Claim], now: datetime
) -> set[int]:
    """Record these deliveries in one UPDATE (fenced by each claim); returns the ids that were
    still ours (a row another process claimed meanwhile keeps that process's state).
    ``connection`` must be in autocommit: the UPDATE is its own transaction."""
    if not claims:
        return set()
    dialect = connection.dialect
    stamp = _sent_at(dialect)(now)
    sent, sending = NudgeState.SENT.value, NudgeState.SENDING.value
    if dialect.name == "postgresql":
        driver = await _driver(connection)
        rows = await driver.fetch(
            _MARK_SENT_POSTGRES,
            sent,
            stamp,
            sending,
            [claim.id for claim in claims],
            [claim.attempt for claim in claims],
        )
        return {int(row[0]) for row in rows}
    if dialect.name == "sqlite":
        driver = await _driver(connection)
        pairs = ", ".join(["(?, ?)"] * len(claims))
        fenced = [value for claim in claims for value in (claim.id, claim.attempt)]
        rows = await driver.execute_fetchall(
            _MARK_SENT_SQLITE.format(pairs=pairs), [sent, stamp, sending, *fenced]
        )
        return {int(row[0]) for row in rows}
    pairs_ = [(claim.id, claim.attempt) for claim in claims]
    result = await connection.execute(_MARK_SENT, {"claims": pairs_, "now": now})
    return set(result.scalars().all())


async def mark_failed(
    connection: AsyncConnection,
    claim: Claim,
    now: datetime,
    error: str,
    permanent: bool,
    retry_base: int,
    max_attempts: int,
) -> NudgeState | None:
    """Schedule a retry with exponential backoff, or give up (dead); None if the row is no
    longer ours (its outcome belongs to the process that claimed it since)."""
    dead = permanent or claim.attempt >= max_attempts
    state = NudgeState.DEAD if dead else NudgeState.FAILED
    matched = await _write(
        connection,
        update(Nudge)
        .where(_ours(claim))
        .values(
            state=state,
            claimed_until=None,
            last_error=error[:2000],
            next_attempt_at=now + timedelta(seconds=retry_base * 2 ** max(claim.attempt - 1, 0)),
        ),
    )
    return state if matched == 1 else None


async def inbox(
    session: AsyncSession, person_id: int, limit: int = 50, offset: int = 0
) -> Sequence[Nudge]:
    return (
        await session.scalars(
            select(Nudge)
            .where(Nudge.person_id == person_id, Nudge.channel == NudgeChannel.INAPP)
            .order_by(Nudge.created_at.desc(), Nudge.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
