"""The dispatch tick: claim due outbox rows and hand each to its channel.

Each row is claimed and committed before sending and marked sent right after, one transaction
each, so a crash at any point loses nothing: an unfinished row is retried when its lease ends,
under the same idempotency key (email Message-ID, webhook header) so a receiver can drop the
rare resend of a message that left just before the crash.

A batch is claimed at once but sent one row after the other. Once less than half of the lease
is left, a row's lease is renewed (fenced by its claim) before its send, so a slow channel that
outlasts the lease of the batch's tail makes this process skip those rows rather than send
them alongside another process; half the lease must stay above one send's timeout (SMTP: 10 s
by default). The outcome is recorded fenced too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from askhub.i18n import reader_language
from askhub.nudges import outbox
from askhub.nudges.channels.base import (
    Channel,
    DeliveryError,
    Link,
    OutboundMessage,
    Recipient,
    SessionChannel,
)
from askhub.nudges.payload import NudgePayload
from models import Nudge, NudgeState, Person

log = logging.getLogger("askhub.nudges")


@dataclass
class DispatchResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    # Claimed rows that another process took over (our lease ran out) before we sent them.
    lost: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead


def message_for(nudge: Nudge, person: Person) -> OutboundMessage:
    payload = NudgePayload.from_stored(nudge.payload)
    return OutboundMessage(
        idempotency_key=nudge.idempotency_key,
        kind=str(nudge.kind),
        recipient=Recipient(
            handle=person.handle,
            name=person.name,
            email=person.email,
            webhook_url=person.webhook_url,
        ),
        subject=payload.subject,
        intro=payload.intro,
        body=payload.body,
        reasons=list(payload.reasons),
        links=[Link(label=x.label, url=x.url) for x in payload.links],
        items=list(payload.items),
        language=reader_language(person),
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
    try:
        while True:
            moment = now or datetime.now(UTC)
            async with sessions() as session, session.begin():
                claimed = await outbox.claim_due(
                    session, moment, cfg.batch, timedelta(seconds=cfg.lease_seconds)
                )
                if not claimed:
                    return result
                # The batch's rows and recipients in one query, not two per message.
                rows = await session.execute(
                    select(Nudge, Person)
                    .join(Person, Person.id == Nudge.person_id)
                    .where(Nudge.id.in_([claim.id for claim in claimed]))
                )
                loaded = {nudge.id: (nudge, person) for nudge, person in rows}
            for claim in claimed:
                if claim.id in loaded:
                    nudge, person = loaded[claim.id]
                    await _deliver(sessions, channels, cfg, claim, nudge, person, result, now)
    finally:
        # Many messages went over one SMTP session; end it rather than let it idle till the
        # next tick (servers drop idle clients).
        for channel in channels.values():
            if isinstance(channel, SessionChannel):
                await channel.end_session()


async def _deliver(
    sessions: async_sessionmaker[AsyncSession],
    channels: Mapping[str, Channel],
    cfg: DispatchSettings,
    claim: outbox.Claim,
    nudge: Nudge,
    person: Person,
    result: DispatchResult,
    now: datetime | None,
) -> None:
    lease = timedelta(seconds=cfg.lease_seconds)
    moment = now or datetime.now(UTC)
    async with sessions() as session:
        # No write at all before the send while the lease is young (the usual case).
        if moment + lease / 2 > claim.until:
            async with session.begin():
                if not await outbox.renew(session, claim, moment, lease):
                    log.info("nudge %s was claimed by another process before its send", claim.id)
                    result.lost += 1
                    return
        # Check a connection out (and ping it) before sending, so that between the receiver's
        # acceptance and our record of it there is only the UPDATE and its COMMIT (the SMTP
        # session stays open): a crash in that window is what makes a resend.
        await session.connection()
        error = await _send(channels, nudge, person)
        moment = now or datetime.now(UTC)
        if error is None:
            ours = await outbox.mark_sent(session, claim, moment)
            await session.commit()
            if not ours:
                # Only when one send outlasted the whole lease: the other process may send too.
                log.warning("nudge %s was sent but another process had claimed it", nudge.id)
            result.sent += 1
            return
        state = await outbox.mark_failed(
            session,
            claim,
            moment,
            str(error),
            error.permanent,
            cfg.retry_base_seconds,
            cfg.max_attempts,
        )
        await session.commit()
    if state is None:
        log.warning("nudge %s failed (%s) but another process had claimed it", nudge.id, error)
        result.lost += 1
    elif state == NudgeState.DEAD:
        result.dead += 1
        log.warning("nudge %s is dead after %s attempts: %s", nudge.id, claim.attempt, error)
    else:
        result.failed += 1


async def _send(
    channels: Mapping[str, Channel], nudge: Nudge, person: Person
) -> DeliveryError | None:
    channel = channels.get(str(nudge.channel))
    if channel is None:
        return DeliveryError(f"channel {nudge.channel} is not configured", permanent=True)
    try:
        await channel.send(message_for(nudge, person))
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # a channel bug must not stop the tick for everyone else
        log.exception("channel %s failed on nudge %s", nudge.channel, nudge.id)
        return DeliveryError(f"{type(exc).__name__}: {exc}")
    return None
