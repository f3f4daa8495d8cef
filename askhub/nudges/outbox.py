"""The outbox: every message a person receives is a row here before any channel sends it.

States: pending → sending → sent, or → failed (retried with exponential backoff) → dead.
A claim is a conditional UPDATE, so two processes can never both own a row; on PostgreSQL the
candidate rows are also read with ``FOR UPDATE SKIP LOCKED`` so processes do not wait on each
other. A row left in ``sending`` by a process that died is claimed again when its lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Nudge, NudgeChannel, NudgeKind, NudgeState


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    person_id: int,
    channel: NudgeChannel,
    kind: NudgeKind,
    payload: dict[str, Any],
    call_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add a message unless one with ``key`` exists; returns whether it was added."""
    if await session.scalar(select(Nudge.id).where(Nudge.idempotency_key == key)) is not None:
        return False
    nudge = Nudge(
        idempotency_key=key,
        person_id=person_id,
        call_id=call_id,
        channel=channel,
        kind=kind,
        payload=payload,
    )
    if not_before is not None:
        nudge.next_attempt_at = not_before
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


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[int]:
    """Claim up to ``limit`` due rows for this process; the caller commits."""
    query = select(Nudge.id).where(_due(now)).order_by(Nudge.next_attempt_at, Nudge.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed: list[int] = []
    for nudge_id in (await session.scalars(query)).all():
        result = await session.execute(
            update(Nudge)
            .where(Nudge.id == nudge_id, _due(now))
            .values(
                state=NudgeState.SENDING,
                claimed_until=now + lease,
                attempts=Nudge.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(nudge_id)
    return claimed


async def mark_sent(session: AsyncSession, nudge_id: int, now: datetime) -> None:
    await session.execute(
        update(Nudge)
        .where(Nudge.id == nudge_id)
        .values(state=NudgeState.SENT, sent_at=now, claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


async def mark_failed(
    session: AsyncSession,
    nudge: Nudge,
    now: datetime,
    error: str,
    permanent: bool,
    retry_base: int,
    max_attempts: int,
) -> NudgeState:
    """Schedule a retry with exponential backoff, or give up (dead)."""
    dead = permanent or nudge.attempts >= max_attempts
    state = NudgeState.DEAD if dead else NudgeState.FAILED
    await session.execute(
        update(Nudge)
        .where(Nudge.id == nudge.id)
        .values(
            state=state,
            claimed_until=None,
            last_error=error[:2000],
            next_attempt_at=now + timedelta(seconds=retry_base * 2 ** max(nudge.attempts - 1, 0)),
        )
        .execution_options(synchronize_session=False)
    )
    return state


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
