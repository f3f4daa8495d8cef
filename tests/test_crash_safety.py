"""Crash safety of the nudge loop (issue 4, section 5), with real ``askhub serve`` processes:
one is killed with SIGKILL in the middle of a batch and restarted, and two run the scheduler on
the same database at once. A real SMTP server on loopback counts what it accepted, per
Message-ID (derived from the outbox row's idempotency key, so a resend carries the same one).

Exactly-once delivery over SMTP is impossible across a crash: if the process dies after it
sent the message's final dot and before its "sent" commit, the server may have accepted the
message (while it processes the DATA, or after its 250, during our QUIT and the UPDATE that
records it) and the outbox cannot know: it sends the message again after the lease. Each of the
dispatch round's senders (``ASKHUB_DELIVERY_CONCURRENCY``, 1 by default, as here) sends its next
message only once its last one is recorded (outcomes are group-committed, never held back for a
batch), so a kill costs at most one duplicate per sender; the resend carries the same
Message-ID, so receivers can drop it. Without a crash there is no such window: two processes
must never both send a row.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from askhub.context import AppContext
from askhub.nudges.channels.base import Channel, OutboundMessage
from askhub.nudges.channels.email import message_id
from askhub.nudges.dispatch import DispatchResult, DispatchSettings, dispatch_due
from askhub.nudges.outbox import enqueue
from askhub.nudges.payload import NudgeLink, NudgePayload
from models import Nudge, NudgeChannel, NudgeKind, NudgeState, Person
from tests.sinks import SMTPSink, free_port

TOTAL = 300
# Each message waits this long in the SMTP server before its 250, as a real server's DATA
# processing does, so ~300 messages take several seconds and a kill lands mid-batch. A killed
# client's connection closes only once the kernel has torn down the process, so the server often
# still accepts the message in flight: that is the duplicate a kill may cost.
SINK_DELAY = 0.02
# Seconds a claimed row stays owned: the restarted process retries what the killed one left in
# "sending" after this (the restart itself takes longer, loading the embedding model).
LEASE_SECONDS = 3
# The kill lands at a random moment up to this many seconds after the 30th email, leaving the
# rest of the claimed batch in "sending" for the restart to take over after the lease.
KILL_JITTER = 0.5
# More kills per run for measuring how often a kill costs a duplicate (1 in CI).
KILLS = int(os.environ.get("ASKHUB_CRASH_KILLS", "1"))
START_TIMEOUT = 60.0
DELIVERY_TIMEOUT = 60.0


async def seed(context: AppContext, total: int, prefix: str) -> set[str]:
    """Enqueue ``total`` due email asks, spread over the people who have an address; returns
    the Message-IDs the sink should receive."""
    async with context.sessions() as session, session.begin():
        people = (await session.scalars(select(Person).where(Person.email.is_not(None)))).all()
        assert people
        keys = [f"{prefix}:{n}" for n in range(total)]
        for n, key in enumerate(keys):
            person = people[n % len(people)]
            added = await enqueue(
                session,
                key=key,
                person_id=person.id,
                channel=NudgeChannel.EMAIL,
                kind=NudgeKind.ASK,
                payload=NudgePayload(
                    subject=f"Crash test {n}",
                    intro="A colleague asks:",
                    body=f"Message {n} of {total}.",
                    reasons=["You are in the test organisation"],
                    links=[NudgeLink(label="Answer", url=f"http://askhub.test/act/{n}")],
                ),
            )
            assert added
    return {message_id(key) for key in keys}


async def states(context: AppContext) -> dict[str, int]:
    async with context.sessions() as session:
        rows = await session.execute(select(Nudge.state, func.count()).group_by(Nudge.state))
        return {str(state): int(count) for state, count in rows.all()}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[Server]:
    """``askhub serve`` in its own process, SIGKILLed on the way out whatever happens."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "askhub.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    try:
        yield server
    finally:
        server.kill()


async def wait_until(
    done: Callable[[], bool | Awaitable[bool]],
    seconds: float,
    what: str,
    servers: list[Server],
    poll: float = 0.01,
) -> None:
    """Poll ``done`` until it holds; fail naming ``what`` (and showing the app logs) if a
    server exits or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        holds = done()
        if holds if isinstance(holds, bool) else await holds:
            return
        for server in servers:
            if server.process.poll() is not None:
                pytest.fail(f"askhub serve exited ({server.process.returncode}):\n{server.tail()}")
        if time.monotonic() >= deadline:
            logs = "\n".join(server.tail() for server in servers)
            pytest.fail(f"timed out after {seconds}s waiting for {what}\n{logs}")
        await asyncio.sleep(poll)


def all_delivered(sink: SMTPSink, expected: set[str]) -> Callable[[], bool]:
    # Counting first: reading every Message-ID header is too slow to do at every poll.
    return lambda: len(sink.messages) >= len(expected) and set(sink.by_message_id()) >= expected


def all_healthy(servers: list[Server]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        async with httpx.AsyncClient(timeout=1) as client:
            for server in servers:
                try:
                    response = await client.get(f"http://127.0.0.1:{server.port}/api/health")
                except httpx.HTTPError:
                    return False
                if not response.is_success:
                    return False
        return True

    return check


async def dispatch_rounds(servers: list[Server]) -> dict[int, int]:
    """The dispatch rounds each server has finished, by port (its ``/api/health``)."""
    rounds = {}
    async with httpx.AsyncClient(timeout=5) as client:
        for server in servers:
            health = await client.get(f"http://127.0.0.1:{server.port}/api/health")
            rounds[server.port] = int(health.json()["scheduler"].get("dispatch", 0))
    return rounds


async def rounds_past(servers: list[Server], goal: dict[int, int]) -> bool:
    now = await dispatch_rounds(servers)
    return all(now[port] >= n for port, n in goal.items())


def app_env(cli_env: dict[str, str], sink: SMTPSink, **extra: str) -> dict[str, str]:
    return {
        **cli_env,
        "ASKHUB_SCHEDULER": "true",
        "ASKHUB_TICK_SECONDS": "1",
        "ASKHUB_DISPATCH_LEASE_SECONDS": str(LEASE_SECONDS),
        "ASKHUB_SMTP_HOST": sink.host,
        "ASKHUB_SMTP_PORT": str(sink.port),
        "ASKHUB_EMBED_THREADS": "1",
        **extra,
    }


async def test_sigkill_mid_batch_then_restart_delivers_everything(
    org: AppContext, cli_env: dict[str, str], tmp_path: Path
) -> None:
    expected = await seed(org, TOTAL, "crash")
    env = app_env(cli_env, sink := SMTPSink(delay=SINK_DELAY).start())
    log = tmp_path / "serve.log"
    try:
        at_kill: list[int] = []
        for _ in range(KILLS):
            with serving(env, log) as server:
                goal = len(sink.messages) + 30
                await wait_until(
                    lambda: len(sink.messages) >= goal,  # noqa: B023  (used in this round only)
                    START_TIMEOUT,
                    f"{goal} emails before the kill",
                    [server],
                )
                # At a random moment over several messages' cycles, not right after a 250.
                await asyncio.sleep(random.uniform(0, KILL_JITTER))
                server.kill()
            at_kill.append(len(sink.messages))
            assert at_kill[-1] < TOTAL, "the kill came after the whole batch; nothing to test"

        with serving(env, log) as server:
            await wait_until(
                all_delivered(sink, expected),
                START_TIMEOUT + DELIVERY_TIMEOUT,
                f"all {TOTAL} emails after the restart",
                [server],
                poll=0.2,
            )
        counts = sink.by_message_id()
    finally:
        sink.stop()

    assert set(counts) == expected  # every due nudge was delivered, and nothing else
    twice = {mid: n for mid, n in counts.items() if n > 1}
    # A kill can land between our final dot and our "sent" commit: the one row in flight is
    # sent again after its lease, with the same Message-ID. Never more than that.
    assert len(twice) <= KILLS and all(n == 2 for n in twice.values()), twice
    print(f"\ncrash-safety: kills at {at_kill} of {TOTAL}; duplicates: {len(twice)}")
    assert await states(org) == {NudgeState.SENT.value: TOTAL}


async def test_two_processes_deliver_each_nudge_exactly_once(
    org: AppContext, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with ExitStack() as stack:
        sink = stack.enter_context(SMTPSink(delay=SINK_DELAY))
        # Each process signs its mail with its own sender, so the sink can tell who sent what.
        servers = [
            stack.enter_context(
                serving(
                    app_env(cli_env, sink, ASKHUB_SMTP_FROM=f"AskHub {name} <{name}@askhub.test>"),
                    tmp_path / f"serve-{name}.log",
                )
            )
            for name in ("one", "two")
        ]
        # Both schedulers are ticking before anything is due, so both take part.
        await wait_until(all_healthy(servers), START_TIMEOUT, "both apps", servers, 0.2)
        expected = await seed(org, TOTAL, "twin")
        await wait_until(
            all_delivered(sink, expected), DELIVERY_TIMEOUT, f"all {TOTAL} emails", servers, 0.2
        )
        # Let each process finish a whole dispatch round that began after the last email
        # arrived: a double send (a row claimed again) would show up now. A round counted
        # after this read may have begun before it; the one after that began after it.
        start = await dispatch_rounds(servers)
        await wait_until(
            lambda: rounds_past(servers, {p: n + 2 for p, n in start.items()}),
            DELIVERY_TIMEOUT,
            "another dispatch round in each process",
            servers,
            0.2,
        )
        counts = sink.by_message_id()
        senders = Counter(str(message["From"].addresses[0].username) for message in sink.messages)

    assert set(counts) == expected
    twice = {mid: n for mid, n in counts.items() if n > 1}
    assert not twice, f"{len(twice)} nudges were delivered more than once without any crash"
    assert senders["one"] > 0 and senders["two"] > 0, senders
    assert sum(senders.values()) == TOTAL
    print(f"\ntwo processes: {dict(senders)}")
    assert await states(org) == {NudgeState.SENT.value: TOTAL}


class SlowChannel:
    """An email channel that takes ``seconds`` per send and records what it sent."""

    name = "email"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[str] = []

    async def send(self, message: OutboundMessage) -> None:
        await asyncio.sleep(self.seconds)
        self.sent.append(message.idempotency_key)


async def test_a_batch_that_outlasts_its_lease_is_never_sent_twice(org: AppContext) -> None:
    # One dispatcher claims a batch whose sends take longer than the lease; another dispatcher
    # polls meanwhile and claims the batch's tail once its lease has run out. Each row must be
    # sent by one of them only: the first renews a row's lease before sending it, and skips the
    # rows it has lost (fenced by the claim's attempt number).
    rows = 20
    await seed(org, rows, "slow")
    channel = SlowChannel(0.1)  # the batch takes 2 s, its lease is 1 s
    channels: dict[str, Channel] = {"email": channel}
    slow = DispatchSettings(batch=rows, lease_seconds=1)
    quick = DispatchSettings(batch=1, lease_seconds=1)

    async def poller() -> list[DispatchResult]:
        await asyncio.sleep(0.3)  # the slow dispatcher claims the whole batch first
        results = []
        deadline = time.monotonic() + 20
        while len(channel.sent) < rows and time.monotonic() < deadline:
            results.append(await dispatch_due(org.sessions, channels, quick))
            await asyncio.sleep(0.05)
        return results

    first, others = await asyncio.gather(dispatch_due(org.sessions, channels, slow), poller())
    counts = Counter(channel.sent)
    assert sorted(counts) == sorted(f"slow:{n}" for n in range(rows))
    assert set(counts.values()) == {1}, counts
    assert first.sent + sum(r.sent for r in others) == rows
    assert first.lost > 0, first  # part of the tail was taken over, and not sent again
    assert await states(org) == {NudgeState.SENT.value: rows}
