"""The dispatch tick: claim due outbox rows and hand each to its channel.

A batch is claimed (and committed) before anything is sent; each message is recorded as sent
right after the receiver accepted it, so a crash at any point loses nothing: an unfinished row
is retried when its lease ends, under the same idempotency key (email Message-ID, webhook
header), so a receiver can drop the rare resend of a message that left just before the crash.

A batch is sent by ``concurrency`` senders (``ASKHUB_DELIVERY_CONCURRENCY``, 1 by default),
each one message after the other, over as many SMTP sessions. The batch's outcomes are written
on one autocommit connection, each UPDATE its own transaction (one round trip), and grouped:
what the senders report while an UPDATE is under way goes into the next one, for all the
messages sent meanwhile. A sender sends its next message only once its last one is committed, so at any moment each sender has at most one
message the receiver may have accepted and the outbox has not recorded: a kill costs at most
one resend per sender (one, by default), never a batch.

Once less than half of the lease is left, a row's lease is renewed (fenced by its claim) before
its send, so a slow channel that outlasts the lease of the batch's tail makes this process skip
those rows rather than send them alongside another process; half the lease must stay above one
send's timeout (SMTP: 10 s by default). The outcome is recorded fenced too.

A round takes batch after batch until nothing is due, or until its time budget
(``ASKHUB_TICK_BUDGET_SECONDS``) is spent: then it takes no new batch, and reports how many rows
are still due (the next round delivers them). The budget is checked between batches, so a round
always delivers at least one batch and can overrun its budget by one batch's sends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

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
T = TypeVar("T")


@dataclass
class DispatchResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    # Claimed rows that another process took over (our lease ran out) before we sent them.
    lost: int = 0
    # "budget" when the round stopped on its time budget with rows still due (``remaining``).
    stopped: str = ""
    remaining: int = 0

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
    # Messages in flight at once (ASKHUB_DELIVERY_CONCURRENCY): a crash mid-round may cost
    # a resend of each.
    concurrency: int = 1
    # A round takes no new batch once it has run this long (ASKHUB_TICK_BUDGET_SECONDS); what is
    # still due waits for the next round. None: until nothing is due.
    budget_seconds: float | None = None


def _engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("dispatch needs a session factory bound to an AsyncEngine")
    return bind


async def dispatch_due(
    sessions: async_sessionmaker[AsyncSession],
    channels: Mapping[str, Channel],
    settings: DispatchSettings | None = None,
    now: datetime | None = None,
) -> DispatchResult:
    """Deliver what is due, one claimed batch at a time, until nothing is due or the round's
    time budget is spent (then ``result.stopped`` is ``"budget"`` and ``result.remaining``
    counts what waits for the next round)."""
    cfg = settings or DispatchSettings()
    result = DispatchResult()
    started = time.monotonic()
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
            # One connection for the batch's records, shared by its senders (a Recorder).
            async with _records(_engine(sessions)) as connection:
                recorder = _Recorder(connection)
                work = iter([(c, *loaded[c.id]) for c in claimed if c.id in loaded])
                senders = [
                    asyncio.ensure_future(_sender(recorder, work, channels, cfg, result, now))
                    for _ in range(max(cfg.concurrency, 1))
                ]
                try:
                    await asyncio.gather(*senders)
                except BaseException:
                    # One sender failed (the database went away): stop the others before the
                    # connection closes; their rows are retried after the lease.
                    for task in senders:
                        task.cancel()
                    await asyncio.gather(*senders, return_exceptions=True)
                    raise
            if cfg.budget_seconds is not None and time.monotonic() - started >= cfg.budget_seconds:
                async with sessions() as session:
                    result.remaining = await outbox.count_due(session, now or datetime.now(UTC))
                if result.remaining:
                    result.stopped = "budget"
                return result
    finally:
        # Many messages went over one SMTP session; end it rather than let it idle till the
        # next tick (servers drop idle clients).
        for channel in channels.values():
            if isinstance(channel, SessionChannel):
                await channel.end_session()


@asynccontextmanager
async def _records(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a batch's outcomes, in autocommit: each outcome is one UPDATE, its own
    transaction, one round trip to the database (no BEGIN and COMMIT around it).

    On PostgreSQL it also commits without waiting for the WAL flush (``synchronous_commit``
    off, for this connection while it records, as SQLite's ``synchronous=NORMAL`` does for
    every commit). A killed AskHub process loses nothing by it: the server has the commit and
    flushes it within a fraction of a second. Only a crash of the database server itself (not
    a restart) within that fraction may forget the last outcomes, and a forgotten "sent" means
    a resend under the same Message-ID, never a lost message; what it saves is a disk flush
    per message."""
    async with engine.connect() as pooled:
        connection = await pooled.execution_options(isolation_level="AUTOCOMMIT")
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            await connection.execute(text("SET synchronous_commit TO OFF"))
        try:
            yield connection
        except BaseException:
            if postgres:
                # Not back to the pool with the setting: the next user would commit unflushed.
                await pooled.invalidate()
            raise
        if postgres:
            await connection.execute(text("RESET synchronous_commit"))


class _Recorder:
    """Records outcomes on one autocommit connection for the batch's senders, grouped: an
    outcome waits for the UPDATE that holds it, and outcomes that arrive while one is under way
    go together in the next (one UPDATE for all the messages sent meanwhile). A sender sends its
    next message only after its last one is recorded, so each sender has at most one accepted
    but unrecorded message at any moment."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self._lock = asyncio.Lock()
        self._sent: list[tuple[outbox.Claim, asyncio.Future[bool]]] = []

    async def run(self, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """One write on its own (a renewal, a failure: rare)."""
        async with self._lock:
            return await write(self.connection)

    async def sent(self, claim: outbox.Claim, now: datetime) -> bool:
        """Record ``claim`` sent; False if another process had claimed the row meanwhile."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._sent.append((claim, done))
        async with self._lock:
            if not done.done():
                group, self._sent = self._sent, []
                try:
                    ours = await outbox.mark_all_sent(
                        self.connection, [claim for claim, _ in group], now
                    )
                except BaseException as exc:
                    for _, waiting in group:
                        if waiting is not done:
                            waiting.set_exception(exc)
                    raise
                for member, waiting in group:
                    waiting.set_result(member.id in ours)
        return await done


async def _sender(
    recorder: _Recorder,
    work: Iterator[tuple[outbox.Claim, Nudge, Person]],
    channels: Mapping[str, Channel],
    cfg: DispatchSettings,
    result: DispatchResult,
    now: datetime | None,
) -> None:
    """One of the batch's senders: the next message not yet taken, one after the other."""
    for claim, nudge, person in work:
        await _deliver(recorder, channels, cfg, claim, nudge, person, result, now)


async def _deliver(
    recorder: _Recorder,
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
    # No write at all before the send while the lease is young (the usual case).
    if moment + lease / 2 > claim.until:
        renewed = await recorder.run(lambda c: outbox.renew(c, claim, moment, lease))
        if not renewed:
            log.info("nudge %s was claimed by another process before its send", claim.id)
            result.lost += 1
            return
    # The connection is open before the send, so between the receiver's acceptance and our
    # record of it there is only one autocommitted UPDATE (the SMTP session stays open): a
    # crash in that window is what makes a resend, of the message each sender has in flight.
    error = await _send(channels, nudge, person)
    moment = now or datetime.now(UTC)
    if error is None:
        if not await recorder.sent(claim, moment):
            # Only when one send outlasted the whole lease: the other process may send too.
            log.warning("nudge %s was sent but another process had claimed it", nudge.id)
        result.sent += 1
        return
    failure = error
    state = await recorder.run(
        lambda c: outbox.mark_failed(
            c,
            claim,
            moment,
            str(failure),
            failure.permanent,
            cfg.retry_base_seconds,
            cfg.max_attempts,
        )
    )
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
