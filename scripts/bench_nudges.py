#!/usr/bin/env python
"""Nudge delivery speed and scheduler overhead (issue 4, "Done when").

Everything is measured in one run, on this machine, with the baseline in the same run:

1. Delivery rate: email nudges dispatched per second through the outbox (claim, render, SMTP,
   record: ``askhub.nudges.dispatch.dispatch_due``) into an SMTP server on loopback, with one
   message in flight (the default) and with ``--concurrency K`` (4) in flight, each against raw
   aiosmtplib (``SMTP.sendmail``) sending the same messages, rendered beforehand to bytes, to
   the same server over as many sessions: the baseline issue 13 names, SMTP without rendering
   or a database. Also raw ``aiosmtplib.send`` with one connection per message (what the
   channel did before it kept its session), the email channel alone (render + send, no
   database), and bare SMTP spoken on asyncio streams over one session without aiosmtplib (the
   floor of what the protocol itself costs the sender). The runs take turns, a fifth of each
   per round (``--quick``: half), so a change in the load of this shared machine during the
   run falls on all of them alike; each figure adds up its rounds.
2. Scheduler overhead per tick with 10,000 open matches: 2,000 open calls, each with 5 nudged
   matches (and 5 more proposed candidates for a next wave), the outbox holding the 20,000 sent
   nudges of those asks. ``lifecycle_tick`` + ``dispatch_due`` when nothing is due, p50/p95 over
   the ticks; then one tick in which 1% of the calls are due for their next wave.

The SMTP server is a tiny aiosmtpd sink in a process of its own that only counts Message-IDs,
so it costs both sides of the comparison alike (a real server is another process too); its CPU
per message is reported beside the sender's, and ``--sink-processes N`` runs N of them on one
port (SO_REUSEPORT), to tell a sink that is the ceiling from a sender that is. Databases: a
temporary SQLite file, and with ``--postgres URL`` also PostgreSQL, in a schema of its own that is dropped
afterwards (nothing else in that database is touched).

Usage: .venv/bin/python scripts/bench_nudges.py [--quick] [--postgres URL] [--concurrency K]
       [--sink-processes N]
The report goes to stdout; its last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.process
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from askhub.calls.scheduled import lifecycle_tick
from askhub.nudges.channels.base import Channel, OutboundMessage
from askhub.nudges.channels.email import EmailChannel, EmailSettings, Rendered, render_bytes
from askhub.nudges.channels.inapp import InAppChannel
from askhub.nudges.dispatch import DispatchSettings, dispatch_due, message_for
from askhub.settings import Settings
from models import (
    Call,
    CallKind,
    CallStatus,
    Match,
    MatchState,
    Nudge,
    NudgeChannel,
    NudgeKind,
    NudgeState,
    Person,
)
from models.db import create_engine, session_factory, upgrade

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Sizes:
    nudges: int  # email nudges delivered through the outbox, with 1 and with K in flight
    baseline: int  # raw sends with a connection per message; as many via the channel alone
    rounds: int  # the runs alternate, a share of every figure in each round
    calls: int  # open calls for the tick overhead
    asked: int  # nudged (open) matches per call
    candidates: int  # proposed matches per call, for the next wave
    ticks: int  # measured idle ticks
    due_fraction: float  # share of calls due for their next wave in the last tick


FULL = Sizes(
    nudges=2000,
    baseline=400,
    rounds=5,
    calls=2000,
    asked=5,
    candidates=5,
    ticks=20,
    due_fraction=0.01,
)
QUICK = Sizes(
    nudges=200,
    baseline=100,
    rounds=2,
    calls=400,
    asked=5,
    candidates=5,
    ticks=8,
    due_fraction=0.01,
)


# -- the SMTP sink ----------------------------------------------------------------------------

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class _Counter:
    """The aiosmtpd handler: counts accepted messages per Message-ID."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = MESSAGE_ID.search(envelope.original_content or b"")
        with self.lock:
            self.counts[found.group(1).decode() if found else "?"] += 1
        return "250 OK"


class _SharedPortController(Controller):
    """aiosmtpd listening with SO_REUSEPORT, so several sink processes can share one port (the
    kernel spreads the sessions over them)."""

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, reuse_port=True
        )

    def _trigger_server(self) -> None:
        # start() connects once to see this server answer; with the port shared, a connection
        # may land on another process, so connect until one has reached this one.
        for _ in range(100):
            super()._trigger_server()  # type: ignore[no-untyped-call]
            if self._factory_invoked.wait(0.05):
                return


def _serve_sink(commands: Connection, port: int) -> None:
    """A sink process: aiosmtpd on loopback ``port`` (0: a free one), answering ``snapshot``,
    ``reset`` and ``stop`` on the pipe; a snapshot also carries this process's CPU seconds."""
    counter = _Counter()
    for attempt in range(5):
        chosen = port
        if not chosen:
            # aiosmtpd needs a concrete port (it connects to it to see that it is up).
            with socket.socket() as probe:
                probe.bind((HOST, 0))
                chosen = int(probe.getsockname()[1])
        controller = _SharedPortController(
            counter, hostname=HOST, port=chosen, server_hostname="bench-sink"
        )
        try:
            controller.start()
        except OSError:
            if attempt == 4 or port:
                raise
            continue
        break
    commands.send(chosen)
    try:
        while (command := commands.recv()) != "stop":
            with counter.lock:
                commands.send((dict(counter.counts), time.process_time()))
                if command == "reset":
                    counter.counts.clear()
    finally:
        controller.stop()


class CountingSink:
    """aiosmtpd on loopback in ``processes`` processes of its own sharing one port, as a real
    mail server is: its work does not compete with the sender for this process's interpreter
    (it did when it ran in a thread here, and capped every figure at what one interpreter does
    for both ends). With more than one, the kernel spreads the sessions over them, so a sink
    that is the ceiling can be told apart from a sender that is."""

    def __init__(self, processes: int = 1) -> None:
        self.port = 0
        self.processes = processes
        self._pipes: list[Connection] = []
        self._children: list[multiprocessing.process.BaseProcess] = []

    def start(self) -> CountingSink:
        context = multiprocessing.get_context("spawn")
        for _ in range(self.processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve_sink, args=(theirs, self.port), daemon=True)
            process.start()
            self._pipes.append(ours)
            self._children.append(process)
            if not ours.poll(120):
                raise RuntimeError("an SMTP sink process did not start")
            self.port = int(ours.recv())
        return self

    def _ask(self, command: str) -> tuple[Counter[str], float]:
        counts: Counter[str] = Counter()
        cpu = 0.0
        for pipe in self._pipes:
            pipe.send(command)
            theirs, seconds = pipe.recv()
            counts.update(theirs)
            cpu += seconds
        return counts, cpu

    def stop(self) -> None:
        for pipe, process in zip(self._pipes, self._children, strict=True):
            pipe.send("stop")
            process.join(10)
        self._pipes, self._children = [], []

    def reset(self) -> None:
        self._ask("reset")

    def snapshot(self) -> Counter[str]:
        return self._ask("snapshot")[0]

    def cpu_seconds(self) -> float:
        """CPU seconds the sink processes have used so far, all together."""
        return self._ask("snapshot")[1]


# -- databases --------------------------------------------------------------------------------


@dataclass
class Database:
    name: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    url: str


@asynccontextmanager
async def sqlite_database(directory: Path, label: str) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{directory / f'{label}.db'}"
    engine = create_engine(url)  # the app's engine: WAL, foreign keys, busy timeout
    try:
        await upgrade(engine)
        yield Database("sqlite", engine, session_factory(engine), url)
    finally:
        await engine.dispose()


@asynccontextmanager
async def postgres_database(url: str, label: str) -> AsyncIterator[Database]:
    """A schema of its own (search_path), dropped afterwards: nothing else is touched."""
    schema = f"askhub_bench_{label}_{os.getpid()}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_async_engine(
        url, pool_pre_ping=True, connect_args={"server_settings": {"search_path": schema}}
    )
    try:
        await upgrade(engine)
        yield Database("postgresql", engine, session_factory(engine), url)
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


async def insert_rows(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    async with db.sessions() as session, session.begin():
        for start in range(0, len(rows), 2000):
            await session.execute(insert(table), rows[start : start + 2000])


def person_row(n: int) -> dict[str, Any]:
    return {
        "handle": f"p{n}",
        "name": f"Person {n}",
        "email": f"p{n}@bench.example",
        "bio": "",
        "timezone": "UTC",
    }


LINKS = [
    {"label": label, "url": f"http://askhub.bench/act/{'x' * 120}{n}"}
    for n, label in enumerate(["Answer", "Forward to a colleague", "Later", "Not me"])
]


def ask_payload(n: int) -> dict[str, Any]:
    return {
        "subject": f"Person {n % 97} asks: who knows about fibre splicing in old buildings? #{n}",
        "intro": "Person 7 asks your help: “Who knows about fibre splicing in old buildings?”.",
        "body": "We are planning a pilot in Utrecht and need someone who has done it before. " * 4,
        "reasons": [
            "Fibre in monumental buildings: we replaced copper in three listed buildings",
            "Skill: fibre splicing",
        ],
        "links": LINKS,
        "items": [],
    }


# -- 1. delivery rate -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float
    cpu_seconds: float  # this process (the sink runs in its own)
    sink_cpu_seconds: float  # the sink's processes, all together

    @property
    def per_s(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.count


async def timed(count: int, work: Callable[[], Awaitable[Any]], sink: CountingSink) -> Rate:
    sink_cpu = sink.cpu_seconds()
    start, cpu = time.perf_counter(), time.process_time()
    await work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Rate(count, seconds, cpu, sink.cpu_seconds() - sink_cpu)


async def timed_rate(
    count: int, send: Callable[[int], Awaitable[None]], sink: CountingSink
) -> Rate:
    """``count`` sends, one after the other."""

    async def work() -> None:
        for n in range(count):
            await send(n)

    return await timed(count, work, sink)


class Tally:
    """One kind of run's rounds added up."""

    def __init__(self) -> None:
        self.count, self.seconds, self.cpu, self.sink_cpu = 0, 0.0, 0.0, 0.0
        self.rounds: list[float] = []

    def add(self, rate: Rate) -> None:
        self.count += rate.count
        self.seconds += rate.seconds
        self.cpu += rate.cpu_seconds
        self.sink_cpu += rate.sink_cpu_seconds
        self.rounds.append(round(rate.per_s, 1))

    @property
    def per_s(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.count

    @property
    def sink_cpu_ms(self) -> float:
        return 1000 * self.sink_cpu / self.count


async def delivery(
    db: Database, sink: CountingSink, sizes: Sizes, concurrency: int
) -> dict[str, Any]:
    """Every kind of run in turn, ``sizes.rounds`` times, so that a change in the machine's
    load (other jobs start and stop) falls on all of them alike."""
    people = 100
    await insert_rows(db, Person.__table__, [person_row(n) for n in range(people)])
    async with db.sessions() as session:
        ids = list((await session.scalars(select(Person.id).order_by(Person.id))).all())
        person_by_id = {p.id: p for p in (await session.scalars(select(Person))).all()}

    async def seed(prefix: str, count: int) -> None:
        now = datetime.now(UTC)
        rows = [
            {
                "idempotency_key": f"{prefix}:{n}",
                "person_id": ids[n % people],
                "channel": NudgeChannel.EMAIL,
                "kind": NudgeKind.ASK,
                "state": NudgeState.PENDING,
                "attempts": 0,
                "payload": ask_payload(n),
                "next_attempt_at": now,
                "created_at": now,
            }
            for n in range(count)
        ]
        await insert_rows(db, Nudge.__table__, rows)

    # The messages as the dispatcher builds them, for the raw runs and the channel alone.
    await seed("template", people)
    async with db.sessions() as session:
        nudges = (await session.scalars(select(Nudge).order_by(Nudge.id))).all()
        await session.execute(update(Nudge).values(state=NudgeState.DEAD))
        await session.commit()
    outbound: list[OutboundMessage] = [
        message_for(nudge, person_by_id[nudge.person_id]) for nudge in nudges
    ]
    # As bytes, rendered beforehand: the raw runs measure SMTP alone.
    rendered: list[Rendered] = [render_bytes(message) for message in outbound]

    async def raw(n: int) -> None:
        message = rendered[n % len(rendered)]
        await aiosmtplib.send(
            message.data,
            sender=message.sender,
            recipients=[message.recipient],
            hostname=HOST,
            port=sink.port,
            timeout=10,
        )

    async def raw_sessions(count: int, sessions: int) -> Rate:
        """``count`` messages over ``sessions`` SMTP sessions at once, each one after the other."""

        async def one(share: range) -> None:
            client = aiosmtplib.SMTP(hostname=HOST, port=sink.port, timeout=10)
            await client.connect()
            for n in share:
                message = rendered[n % len(rendered)]
                await client.sendmail(message.sender, [message.recipient], message.data)
            await client.quit()

        async def work() -> None:
            await asyncio.gather(*(one(range(k, count, sessions)) for k in range(sessions)))

        return await timed(count, work, sink)

    async def bare_session(count: int) -> Rate:
        """``count`` messages over one SMTP session spoken on asyncio streams, without
        aiosmtplib: MAIL, RCPT and DATA one after the other as aiosmtplib sends them, checking
        nothing but the reply codes. The floor of what the protocol costs the sender."""

        async def reply(reader: asyncio.StreamReader) -> int:
            while (line := await reader.readline())[3:4] == b"-":
                pass
            return int(line[:3])

        async def work() -> None:
            reader, writer = await asyncio.open_connection(HOST, sink.port)
            assert await reply(reader) == 220
            writer.write(b"EHLO bench\r\n")
            assert await reply(reader) == 250
            for n in range(count):
                message = rendered[n % len(rendered)]
                for command, code in (
                    (f"MAIL FROM:<{message.sender}>\r\n".encode(), 250),
                    (f"RCPT TO:<{message.recipient}>\r\n".encode(), 250),
                    (b"DATA\r\n", 354),
                    (message.data.replace(b"\r\n.", b"\r\n..") + b".\r\n", 250),
                ):
                    writer.write(command)
                    assert await reply(reader) == code
            writer.write(b"QUIT\r\n")
            await reply(reader)
            writer.close()
            await writer.wait_closed()

        return await timed(count, work, sink)

    single = EmailChannel(EmailSettings(host=HOST, port=sink.port))

    async def channel(n: int) -> None:
        await single.send(replace(outbound[n % len(outbound)], idempotency_key=f"channel:{n}"))

    async def through_outbox(prefix: str, count: int, in_flight: int) -> Rate:
        await seed(prefix, count)
        sink.reset()
        email = EmailChannel(EmailSettings(host=HOST, port=sink.port, sessions=in_flight))
        dispatched: list[Any] = []

        async def dispatch() -> None:
            settings = DispatchSettings(concurrency=in_flight)
            dispatched.append(await dispatch_due(db.sessions, {"email": email}, settings))

        rate = await timed(count, dispatch, sink)
        [result] = dispatched
        counts = sink.snapshot()
        async with db.sessions() as session:
            sent = await session.scalar(
                select(func.count())
                .select_from(Nudge)
                .where(Nudge.state == NudgeState.SENT, Nudge.idempotency_key.like(f"{prefix}:%"))
            )
        assert result.sent == count == sent, (result, sent)
        assert len(counts) == count and set(counts.values()) == {1}, "not exactly once"
        return rate

    chunk = sizes.nudges // sizes.rounds
    per_connection = max(sizes.baseline // sizes.rounds, 1)
    kinds = ("session", "sessions", "one", "many", "raw", "channel", "bare")
    runs = {name: Tally() for name in kinds}
    for n in range(sizes.rounds):
        runs["session"].add(await raw_sessions(chunk, 1))
        runs["bare"].add(await bare_session(chunk))
        runs["one"].add(await through_outbox(f"one{n}", chunk, 1))
        runs["sessions"].add(await raw_sessions(chunk, concurrency))
        runs["many"].add(await through_outbox(f"many{n}", chunk, concurrency))
        runs["raw"].add(await timed_rate(per_connection, raw, sink))
        runs["channel"].add(await timed_rate(per_connection, channel, sink))
        await single.end_session()
    sink.reset()
    ceiling, parallel = runs["session"], runs["sessions"]
    one, many = runs["one"], runs["many"]
    figures: dict[str, Any] = {
        "concurrency": concurrency,
        "rounds": sizes.rounds,
        "nudges": chunk * sizes.rounds,
        "ratio_outbox_to_raw_session": round(one.per_s / ceiling.per_s, 3),
        "ratio_parallel_outbox_to_raw_parallel": round(many.per_s / parallel.per_s, 3),
        "ratio_parallel_outbox_to_raw_session": round(many.per_s / ceiling.per_s, 3),
        "ratio_channel_to_raw_session": round(runs["channel"].per_s / ceiling.per_s, 3),
        "ratio_outbox_to_bare_session": round(one.per_s / runs["bare"].per_s, 3),
        "ratio_outbox_to_raw_connection_per_message": round(one.per_s / runs["raw"].per_s, 3),
        "delivered_exactly_once": True,
    }
    for name, tally in runs.items():
        figures[name] = {
            "count": tally.count,
            "per_s": round(tally.per_s, 1),
            "cpu_ms": round(tally.cpu_ms, 3),
            "sink_cpu_ms": round(tally.sink_cpu_ms, 3),
            "per_s_by_round": tally.rounds,
        }
    return figures


# -- 2. scheduler overhead --------------------------------------------------------------------


async def populate(db: Database, sizes: Sizes, now: datetime) -> None:
    per_call = sizes.asked + sizes.candidates
    askers = max(sizes.calls // 10, 1)
    people = askers + sizes.calls * per_call
    await insert_rows(db, Person.__table__, [person_row(n) for n in range(people)])
    async with db.sessions() as session:
        ids = list((await session.scalars(select(Person.id).order_by(Person.id))).all())
    started = now - timedelta(minutes=5)
    await insert_rows(
        db,
        Call.__table__,
        [
            {
                "asker_id": ids[n % askers],
                "kind": CallKind.QUESTION,
                "title": f"Who knows about topic {n}?",
                "body": "Details of the question. " * 5,
                "status": CallStatus.OPEN,
                "deadline": now + timedelta(days=7),
                "wave": 1,
                "wave_started_at": started,
                "created_at": started,
            }
            for n in range(sizes.calls)
        ],
    )
    async with db.sessions() as session:
        calls = list((await session.scalars(select(Call.id).order_by(Call.id))).all())
    matches: list[dict[str, Any]] = []
    nudges: list[dict[str, Any]] = []
    evidence = [{"kind": "post", "title": "A post about the topic", "snippet": "…the topic…"}]
    for c, call_id in enumerate(calls):
        for rank in range(per_call):
            person_id = ids[askers + c * per_call + rank]
            asked = rank < sizes.asked
            matches.append(
                {
                    "call_id": call_id,
                    "person_id": person_id,
                    "rank": rank + 1,
                    "score": 1.0 / (rank + 1),
                    "wave": 1,
                    "evidence": evidence,
                    "state": MatchState.NUDGED if asked else MatchState.PROPOSED,
                    "nudged_at": started if asked else None,
                    "created_at": started,
                }
            )
            if asked:
                for channel in (NudgeChannel.INAPP, NudgeChannel.EMAIL):
                    nudges.append(
                        {
                            "idempotency_key": f"ask:{call_id}:{person_id}:{channel}",
                            "person_id": person_id,
                            "call_id": call_id,
                            "channel": channel,
                            "kind": NudgeKind.ASK,
                            "state": NudgeState.SENT,
                            "attempts": 1,
                            "payload": ask_payload(c),
                            "next_attempt_at": started,
                            "created_at": started,
                            "sent_at": started,
                        }
                    )
    await insert_rows(db, Match.__table__, matches)
    await insert_rows(db, Nudge.__table__, nudges)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def overhead(db: Database, sink: CountingSink, sizes: Sizes, data: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    setup = time.perf_counter()
    await populate(db, sizes, now)
    setup_seconds = time.perf_counter() - setup
    settings = Settings(
        database_url=db.url,
        data_dir=data,
        scheduler=False,
        smtp_enabled=True,
        webhook_enabled=False,
        base_url="http://askhub.bench",
        secret_key="bench-secret",
    )
    channels: dict[str, Channel] = {
        "inapp": InAppChannel(),
        "email": EmailChannel(EmailSettings(host=HOST, port=sink.port)),
    }

    cpu_ms: list[float] = []

    async def tick() -> tuple[float, float, Any, Any]:
        start, cpu = time.perf_counter(), time.process_time()
        lifecycle = await lifecycle_tick(db.sessions, settings)
        middle = time.perf_counter()
        dispatched = await dispatch_due(db.sessions, channels, DispatchSettings())
        end = time.perf_counter()
        cpu_ms.append((time.process_time() - cpu) * 1000)
        return (middle - start) * 1000, (end - middle) * 1000, lifecycle, dispatched

    await tick()  # warm-up: statement caches, connection pool
    cpu_ms.clear()
    lifecycle_ms: list[float] = []
    dispatch_ms: list[float] = []
    for _ in range(sizes.ticks):
        life, disp, lifecycle, dispatched = await tick()
        assert lifecycle.asked == lifecycle.reminders == lifecycle.closed == 0, lifecycle
        assert dispatched.handled == 0, dispatched
        lifecycle_ms.append(life)
        dispatch_ms.append(disp)
    total_ms = [a + b for a, b in zip(lifecycle_ms, dispatch_ms, strict=True)]

    # 1% of the calls reach their wave interval: the next wave is asked and delivered.
    due = max(1, round(sizes.calls * sizes.due_fraction))
    async with db.sessions() as session, session.begin():
        first = (await session.scalars(select(Call.id).order_by(Call.id).limit(due))).all()
        await session.execute(
            update(Call)
            .where(Call.id.in_(first))
            .values(wave_started_at=now - timedelta(seconds=settings.wave_interval + 60))
        )
    sink.reset()
    wave_life, wave_disp, lifecycle, dispatched = await tick()
    emails = sum(sink.snapshot().values())
    sink.reset()
    assert lifecycle.waves == due, lifecycle
    return {
        "calls": sizes.calls,
        "open_matches": sizes.calls * sizes.asked,
        "proposed_candidates": sizes.calls * sizes.candidates,
        "outbox_rows": sizes.calls * sizes.asked * 2,
        "setup_seconds": round(setup_seconds, 2),
        "idle_ticks": sizes.ticks,
        "idle_tick_ms": {
            "p50": round(percentile(total_ms, 0.5), 2),
            "p95": round(percentile(total_ms, 0.95), 2),
            "max": round(max(total_ms), 2),
        },
        "idle_tick_cpu_ms_p50": round(statistics.median(cpu_ms[: sizes.ticks]), 2),
        "idle_lifecycle_ms_p50": round(statistics.median(lifecycle_ms), 2),
        "idle_dispatch_ms_p50": round(statistics.median(dispatch_ms), 2),
        "wave_tick": {
            "due_calls": due,
            "waves": lifecycle.waves,
            "asked": lifecycle.asked,
            "nudges_sent": dispatched.sent,
            "emails_received": emails,
            "lifecycle_ms": round(wave_life, 1),
            "dispatch_ms": round(wave_disp, 1),
            "total_ms": round(wave_life + wave_disp, 1),
            "cpu_ms": round(cpu_ms[-1], 1),
        },
    }


# -- report -----------------------------------------------------------------------------------


def report(name: str, d: dict[str, Any], o: dict[str, Any]) -> None:
    k = d["concurrency"]
    print(f"\n== {name}")
    print(
        f"delivery of {d['nudges']} email nudges per outbox run into the local SMTP sink, "
        f"every run in turn, {d['rounds']} rounds:"
    )
    labels = {
        "many": f"outbox, {k} in flight",
        "sessions": f"raw aiosmtplib, {k} sessions",
        "one": "outbox, 1 in flight",
        "session": "raw aiosmtplib, 1 session",
        "channel": "email channel, no DB",
        "raw": "raw, a connection each",
        "bare": "bare SMTP on streams, 1 session",
    }
    for key, label in labels.items():
        run = d[key]
        print(
            f"  {label:32} {run['per_s']:8.1f} /s  {run['cpu_ms']:6.3f} ms CPU each "
            f"(sink {run['sink_cpu_ms']:5.3f})  "
            f"({run['count']} sends; by round {run['per_s_by_round']})"
        )
    print(
        f"  ratios: outbox {k} in flight / raw {k} sessions "
        f"{d['ratio_parallel_outbox_to_raw_parallel']}, / raw 1 session "
        f"{d['ratio_parallel_outbox_to_raw_session']}; outbox 1 in flight / raw 1 session "
        f"{d['ratio_outbox_to_raw_session']}, / a connection each "
        f"{d['ratio_outbox_to_raw_connection_per_message']} (channel / raw 1 session "
        f"{d['ratio_channel_to_raw_session']}; outbox 1 in flight / bare SMTP "
        f"{d['ratio_outbox_to_bare_session']}); every Message-ID exactly once"
    )
    idle = o["idle_tick_ms"]
    wave = o["wave_tick"]
    print(
        f"scheduler tick with {o['open_matches']:,} open matches ({o['calls']:,} open calls, "
        f"{o['proposed_candidates']:,} candidates, {o['outbox_rows']:,} outbox rows; "
        f"set up in {o['setup_seconds']} s):"
    )
    print(
        f"  nothing due, {o['idle_ticks']} ticks  p50 {idle['p50']} ms  p95 {idle['p95']} ms  "
        f"max {idle['max']} ms, CPU p50 {o['idle_tick_cpu_ms_p50']} ms  "
        f"(lifecycle p50 {o['idle_lifecycle_ms_p50']} ms, "
        f"dispatch p50 {o['idle_dispatch_ms_p50']} ms)"
    )
    print(
        f"  next wave due for {wave['due_calls']} calls (1%): {wave['total_ms']} ms, "
        f"CPU {wave['cpu_ms']} ms "
        f"(lifecycle {wave['lifecycle_ms']} ms: {wave['asked']} asked; dispatch "
        f"{wave['dispatch_ms']} ms: {wave['nudges_sent']} nudges sent, "
        f"{wave['emails_received']} emails received)"
    )


async def bench(
    db_factory: Callable[[str], Any], sink: CountingSink, sizes: Sizes, concurrency: int
) -> Any:
    with tempfile.TemporaryDirectory(prefix="askhub-bench-") as tmp:
        async with db_factory("delivery") as db:
            name = db.name
            delivered = await delivery(db, sink, sizes, concurrency)
        async with db_factory("ticks") as db:
            ticks = await overhead(db, sink, sizes, Path(tmp))
    report(name, delivered, ticks)
    return name, {"delivery": delivered, "scheduler": ticks}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    results: dict[str, Any] = {
        "bench": "nudges",
        "quick": bool(args.quick),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "sizes": sizes.__dict__,
    }
    load = [round(x, 2) for x in os.getloadavg()]
    results["load_average_at_start"] = load
    print(
        f"askhub nudge bench ({'quick' if args.quick else 'full'}) on {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; load average at start {load}; "
        f"{args.sink_processes} sink process(es) (CPU ms below are this process's, then the "
        "sink's: less sensitive to a busy machine than the rates)"
    )
    sink = CountingSink(args.sink_processes).start()
    results["sink_processes"] = args.sink_processes
    try:
        with tempfile.TemporaryDirectory(prefix="askhub-bench-db-") as directory:
            path = Path(directory)

            def sqlite(label: str) -> Any:
                return sqlite_database(path, label)

            name, figures = await bench(sqlite, sink, sizes, args.concurrency)
            results[name] = figures
        if args.postgres:

            def postgres(label: str) -> Any:
                return postgres_database(args.postgres, label)

            name, figures = await bench(postgres, sink, sizes, args.concurrency)
            results[name] = figures
    finally:
        sink.stop()
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nfinished in {results['seconds']} s")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, < 30 s")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure on PostgreSQL, e.g. postgresql+asyncpg://postgres@127.0.0.1/test",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        metavar="K",
        help="messages in flight for the parallel runs (ASKHUB_DELIVERY_CONCURRENCY), default 4",
    )
    parser.add_argument(
        "--sink-processes",
        type=int,
        default=1,
        metavar="N",
        help="aiosmtpd sink processes sharing the port (SO_REUSEPORT), default 1",
    )
    args = parser.parse_args()
    if args.concurrency < 1 or args.sink_processes < 1:
        parser.error("--concurrency and --sink-processes must be at least 1")
    results = asyncio.run(main_async(args))
    print(json.dumps(results, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
