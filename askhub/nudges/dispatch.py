"""The dispatch tick: claim due outbox rows and hand each to its channel.

Each row is claimed and committed before sending and marked sent right after, one transaction
each, so a crash at any point loses nothing: an unfinished row is retried when its lease ends,
under the same idempotency key (email Message-ID, webhook header) so a receiver can drop the
rare resend of a message that left just before the crash.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from askhub.nudges import outbox
from askhub.nudges.channels.base import Channel, DeliveryError, Link, OutboundMessage, Recipient
from models import Nudge, NudgeState, Person

log = logging.getLogger("askhub.nudges")


@dataclass
class DispatchResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead


def message_for(nudge: Nudge, person: Person) -> OutboundMessage:
    payload = nudge.payload or {}
    return OutboundMessage(
        idempotency_key=nudge.idempotency_key,
        kind=str(nudge.kind),
        recipient=Recipient(
            handle=person.handle,
            name=person.name,
            email=person.email,
            webhook_url=payload.get("webhook_url") or person.webhook_url,
        ),
        subject=str(payload.get("subject", "")),
        intro=str(payload.get("intro", "")),
        body=str(payload.get("body", "")),
        reasons=[str(r) for r in payload.get("reasons", [])],
        links=[Link(label=str(x["label"]), url=str(x["url"])) for x in payload.get("links", [])],
        items=[str(i) for i in payload.get("items", [])],
    )


@dataclass(frozen=True)
class DispatchSettings:
    batch: int = 50
    lease_seconds: int = 120
    retry_base_seconds: int = 30
    max_attempts: int = 6


async def dispatch_due(
    sessions: async_sessionmaker[AsyncSession],
    channels: Mapping[str, Channel],
    settings: DispatchSettings | None = None,
    now: datetime | None = None,
) -> DispatchResult:
    """Deliver what is due, one claimed batch at a time, until nothing is due."""
    cfg = settings or DispatchSettings()
    result = DispatchResult()
    while True:
        moment = now or datetime.now(UTC)
        async with sessions() as session, session.begin():
            claimed = await outbox.claim_due(
                session, moment, cfg.batch, timedelta(seconds=cfg.lease_seconds)
            )
        if not claimed:
            return result
        for nudge_id in claimed:
            await _deliver(sessions, channels, cfg, nudge_id, result, now)


async def _deliver(
    sessions: async_sessionmaker[AsyncSession],
    channels: Mapping[str, Channel],
    cfg: DispatchSettings,
    nudge_id: int,
    result: DispatchResult,
    now: datetime | None,
) -> None:
    async with sessions() as session:
        nudge = await session.get(Nudge, nudge_id)
        person = await session.get(Person, nudge.person_id) if nudge else None
    if nudge is None or person is None:
        return
    channel = channels.get(str(nudge.channel))
    error: DeliveryError | None = None
    if channel is None:
        error = DeliveryError(f"channel {nudge.channel} is not configured", permanent=True)
    else:
        try:
            await channel.send(message_for(nudge, person))
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a channel bug must not stop the tick for everyone else
            log.exception("channel %s failed on nudge %s", nudge.channel, nudge.id)
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
    async with sessions() as session, session.begin():
        moment = now or datetime.now(UTC)
        if error is None:
            await outbox.mark_sent(session, nudge.id, moment)
            result.sent += 1
            return
        state = await outbox.mark_failed(
            session,
            nudge,
            moment,
            str(error),
            error.permanent,
            cfg.retry_base_seconds,
            cfg.max_attempts,
        )
    if state == NudgeState.DEAD:
        result.dead += 1
        log.warning("nudge %s is dead after %s attempts: %s", nudge.id, nudge.attempts, error)
    else:
        result.failed += 1
