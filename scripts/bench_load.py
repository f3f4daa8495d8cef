#!/usr/bin/env python
"""AskHub under load: a realistic mix against one and two ``askhub serve`` processes on a
large organisation, with a bare Litestar app on the same server and client as the ceiling.

    flock /work/bigmem.lock .venv/bin/python scripts/bench_load.py \\
        --people 100000 --posts 1000000 --database-url postgresql+asyncpg://.../askhub_bench

The database is emptied and filled (COPY; passage vectors synthesised around topic centres
calibrated to the real model, as ``scripts/bench_routing.py`` does), unless it already holds an
organisation of that size from an earlier run (``--reseed`` forces it). Then two ``askhub
serve`` processes start (each its own data dir; the scheduler off, so no tick competes), and a
bare Litestar app served the same way (uvicorn, one process). A closed-loop client (raw
HTTP/1.1 keep-alive over asyncio, one connection per client, spread over the target's ports
as a proxy would) measures, per target:

- plain reads: ``GET /api/calls/{id}`` and ``GET /api/health``, and ``GET /bare`` on the bare
  app (the ceiling), each alone for ``--seconds``;
- routing: ``POST /api/calls`` alone (it encodes, searches and scores: CPU-bound);
- the mix: read a call 45%, the board 25%, reply 12%, post a call 8%, dashboard 10%
  (managers), all at once, per endpoint.

Throughput (requests/s) and p50/p95/p99 per endpoint, the ratios to the bare app and of two
processes to one. ``--reads-only`` measures just the plain reads against one process and the
bare app (before/after a change of the read path); ``--post-only`` just ``POST /api/calls`` on
one process, with one client (a call's own latency) and with ``--route-clients``. Before
routing is measured each process posts two calls and finishes building its approximate index
(above 100,000 vectors), so the figures are the steady state's. Any run above ~3 GB of memory (large
organisations: two processes each hold the index) belongs under ``flock /work/bigmem.lock``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from bench_routing import TextGenerator, TopicSpace, make_org, real_stats_sample
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from indexer.embedders import load_embedder
from models import Embedding, Person, Post
from models.db import create_engine, upgrade

NOW = datetime.now(UTC)
TOKEN_USERS = 256  # people with a token: the clients act as them
MANAGERS = 16  # of those, the first are managers (the dashboard)
CALLS = 5_000  # earlier calls (the board, reads, replies)


def token_of(person_id: int) -> str:
    return f"ah_bench_load_{person_id}"


# -- the organisation ---------------------------------------------------------------------------


async def seeded_size(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            people = await conn.scalar(select(func.count()).select_from(Person))
            # The seeded posts only: calls posted by earlier runs (posts of their own) stay.
            posts = await conn.scalar(
                select(func.count()).select_from(Post).where(Post.source == "bench")
            )
            vectors = await conn.scalar(
                select(func.count()).select_from(Embedding).join(Post).where(Post.source == "bench")
            )
        return (int(people or 0), int(posts or 0)) if vectors == posts else (-1, -1)
    except Exception:  # no schema yet
        return (-1, -1)
    finally:
        await engine.dispose()


async def seed(url: str, people: int, posts: int, seed_no: int) -> None:
    """Empty the database and fill it: people, posts with one passage vector each, tokens,
    earlier calls with matches and replies."""
    # The vectors are the real model's kind (its id, its dimension) and are spread as its
    # are: calibrated on a few hundred real encodings, as scripts/bench_routing.py does.
    embedder = load_embedder()
    model_id = embedder.model_id
    stats = real_stats_sample(embedder, seed_no)
    del embedder
    print(f"  similarity of the real model: {stats.as_dict()}", file=sys.stderr)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    started = time.perf_counter()
    org = make_org(people, posts, seed_no)
    space = TopicSpace(org.n_topics, 512, stats, seed_no)
    rng = np.random.default_rng(seed_no)
    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        pg: Any = raw.driver_connection  # asyncpg's own: COPY
        now = NOW
        departments = [f"Afdeling {d}" for d in range(200)]
        locations = [f"Locatie {d}" for d in range(20)]
        await pg.copy_records_to_table(
            "person",
            columns=[
                "id",
                "handle",
                "name",
                "email",
                "department",
                "location",
                "languages",
                "bio",
                "skills",
                "timezone",
                "availability",
                "nudge_budget_per_week",
                "channels",
                "role",
                "created_at",
                "updated_at",
                "digest",
            ],
            records=(
                (
                    i + 1,
                    f"p{i + 1}",
                    f"Person {i + 1}",
                    f"p{i + 1}@bench.example",
                    departments[i % 200],
                    locations[i % 20],
                    '["nl", "en"]' if i % 3 else '["nl"]',
                    "Collega.",
                    "[]",
                    "Europe/Amsterdam",
                    "available",
                    3,
                    '["inapp"]',
                    "manager" if i < MANAGERS else "member",
                    now,
                    now,
                    False,
                )
                for i in range(people)
            ),
        )
        texts = TextGenerator(org.n_topics, seed_no)
        written = 0
        batch = 50_000
        post_texts = texts.posts(org.post_topic, seed_no)
        for start in range(0, posts, batch):
            end = min(start + batch, posts)
            rows: list[tuple[int, str, str, str]] = []
            for i in range(start, end):
                title, body, tags = next(post_texts)
                rows.append((i + 1, title, body, json.dumps(list(tags))))
            await pg.copy_records_to_table(
                "post",
                columns=[
                    "id",
                    "author_id",
                    "kind",
                    "title",
                    "body",
                    "tags",
                    "source",
                    "created_at",
                ],
                records=(
                    (
                        pid,
                        int(org.post_author[pid - 1]) + 1,
                        "question" if org.post_question[pid - 1] else "answer",
                        title,
                        body,
                        tags,
                        "bench",
                        now - timedelta(days=int(org.post_day[pid - 1])),
                    )
                    for pid, title, body, tags in rows
                ),
            )
            vectors = space.vectors(org.post_topic[start:end], rng)
            await pg.copy_records_to_table(
                "embedding",
                columns=[
                    "id",
                    "post_id",
                    "model_id",
                    "chunk",
                    "text",
                    "dim",
                    "vector",
                    "created_at",
                ],
                records=(
                    (pid, pid, model_id, 0, f"{title}\n{body}", 512, vectors[n].tobytes(), now)
                    for n, (pid, title, body, _tags) in enumerate(rows)
                ),
            )
            written = end
            print(f"  seeded {written:,}/{posts:,} posts", file=sys.stderr)
        await pg.copy_records_to_table(
            "api_token",
            columns=["person_id", "token_hash", "created_at"],
            records=[
                (pid, hashlib.sha256(token_of(pid).encode()).hexdigest(), now)
                for pid in range(1, TOKEN_USERS + 1)
            ],
        )
        await seed_calls(pg, people, random.Random(seed_no), texts)
        for table in ("person", "post", "embedding", "call", "match", "reply"):
            await pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        await sa_conn.commit()
        await pg.execute("ANALYZE")
    await engine.dispose()
    print(f"  seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)


async def seed_calls(conn: Any, people: int, r: random.Random, texts: TextGenerator) -> None:
    """Earlier calls over the last 60 days: 5 asks each, about two replies."""
    calls, matches, replies = [], [], []
    for cid in range(1, CALLS + 1):
        created = NOW - timedelta(minutes=r.randint(10, 60 * 24 * 60))
        status = "open" if cid > CALLS * 0.6 else r.choice(["answered", "expired", "closed"])
        calls.append(
            (
                cid,
                r.randint(1, people),
                "question",
                texts.query(r.randrange(len(texts.topics))),
                "",
                "[]",
                status,
                created,
                1,
            )
        )
        for rank, pid in enumerate(r.sample(range(1, people + 1), 5), 1):
            matches.append((cid, pid, rank, 1.0 / rank, 1, "[]", "nudged", created, created))
            if r.random() < 0.4:
                replies.append(
                    (
                        cid,
                        pid,
                        "answer",
                        "Zie de wiki.",
                        False,
                        False,
                        created + timedelta(hours=r.random() * 30),
                    )
                )
    await conn.copy_records_to_table(
        "call",
        columns=["id", "asker_id", "kind", "title", "body", "tags", "status", "created_at", "wave"],
        records=calls,
    )
    await conn.copy_records_to_table(
        "match",
        columns=[
            "call_id",
            "person_id",
            "rank",
            "score",
            "wave",
            "evidence",
            "state",
            "created_at",
            "nudged_at",
        ],
        records=matches,
    )
    await conn.copy_records_to_table(
        "reply",
        columns=["call_id", "person_id", "kind", "body", "accepted", "helpful", "created_at"],
        records=replies,
    )


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bare_app() -> Any:
    """The ceiling: Litestar with one JSON route, nothing else."""
    from litestar import Litestar, get

    @get("/bare")
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[bare])


def serve_bare(port: int) -> None:
    import uvicorn

    from askhub.cli import server_config

    # As `askhub serve` runs uvicorn (same loop, same HTTP parser, access log off).
    uvicorn.Server(server_config(bare_app(), port=port, log_level="warning")).run()


@dataclass
class Servers:
    app_ports: list[int]
    bare_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_ready(port: int, process: subprocess.Popen[bytes], path: str, limit: float) -> float:
    started = time.perf_counter()
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.perf_counter() - started
        except OSError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"the server on port {port} stopped while starting")
        if time.perf_counter() - started > limit:
            raise SystemExit(f"the server on port {port} was not ready after {limit:.0f} s")
        time.sleep(0.5)


def start_servers(url: str, n_apps: int, workdir: Path) -> Servers:
    servers = Servers([free_port() for _ in range(n_apps)], free_port())
    env = dict(os.environ, ASKHUB_DATABASE_URL=url, ASKHUB_SCHEDULER="false", ASKHUB_LANG="en")
    env["ASKHUB_SECRET_KEY"] = "bench-load-" + "0" * 32
    try:
        for n, port in enumerate(servers.app_ports):
            app_env = dict(env, ASKHUB_DATA_DIR=str(workdir / f"app{n + 1}"))
            log = open(workdir / f"app{n + 1}.log", "wb")  # noqa: SIM115 (the process keeps it)
            process = subprocess.Popen(
                [sys.executable, "-m", "askhub.cli", "serve", "--port", str(port)],
                env=app_env,
                stdout=log,
                stderr=log,
            )
            servers.processes.append(process)
            # One at a time: two processes building their index at once would each take twice
            # as long and hold both peaks in memory together.
            took = wait_ready(port, process, "/api/health", 3600)
            print(f"  app{n + 1} ready on port {port} after {took:.0f} s", file=sys.stderr)
        bare = subprocess.Popen(
            [sys.executable, __file__, "--serve-bare", str(servers.bare_port)], env=env
        )
        servers.processes.append(bare)
        wait_ready(servers.bare_port, bare, "/bare", 120)
    except BaseException:
        servers.stop()
        raise
    return servers


def settle(port: int, limit: float = 3600) -> None:
    """Post two calls (unmeasured) and wait until the process is not building its approximate
    index: above ``ASKHUB_APPROXIMATE_ABOVE`` vectors (100,000 by default) a process builds it
    in the background after its start or the first new post, on the CPU the measurement needs,
    and searches exactly until then. The figures are then the steady state's."""
    for n in range(2):
        request = post_call(random.Random(-1 - n))
        urllib.request.urlopen(
            urllib.request.Request(
                f"http://127.0.0.1:{port}{request.path}",
                data=request.body,
                method="POST",
                headers={
                    "Authorization": f"Bearer {request.token}",
                    "Content-Type": "application/json",
                },
            ),
            timeout=600,
        ).read()
    started = time.perf_counter()
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=60) as got:
            search = json.loads(got.read())["index"]["search"]
        if search["building_since"] is None:
            break
        if time.perf_counter() - started > limit:
            raise SystemExit(f"the approximate index on port {port} took over {limit:.0f} s")
        time.sleep(2)
    print(
        f"  port {port}: {search['kind']} search over {search['vectors']:,} vectors "
        f"(waited {time.perf_counter() - started:.0f} s for its build)",
        file=sys.stderr,
    )


# -- the client ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    label: str
    method: str
    path: str
    token: str | None = None
    body: bytes = b""

    def encode(self) -> bytes:
        head = [f"{self.method} {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        if self.token:
            head.append(f"Authorization: Bearer {self.token}")
        if self.body:
            head += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


async def read_response(reader: asyncio.StreamReader) -> int:
    """One response off a keep-alive connection; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


async def one_client(
    port: int, make: Callable[[random.Random], Request], r: random.Random, until: float, t: Tally
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            request = make(r)
            began = time.perf_counter()
            writer.write(request.encode())
            status = await read_response(reader)
            spent = time.perf_counter() - began
            if 200 <= status < 300:
                t.latencies[request.label].append(spent)
            else:
                t.errors[f"{request.label} {status}"] += 1
    finally:
        writer.close()


async def run_load(
    ports: Sequence[int], make: Callable[[random.Random], Request], clients: int, seconds: float
) -> tuple[Tally, float]:
    tally = Tally()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(
            one_client(ports[n % len(ports)], make, random.Random(n), until, tally)
            for n in range(clients)
        )
    )
    return tally, time.perf_counter() - started


@dataclass
class Row:
    target: str
    phase: str
    endpoint: str
    count: int
    rate: float
    p50: float
    p95: float
    p99: float
    errors: int

    def line(self) -> str:
        return (
            f"{self.target:11} {self.phase:8} {self.endpoint:28} {self.rate:8.1f}/s "
            f"p50 {self.p50:7.1f}  p95 {self.p95:7.1f}  p99 {self.p99:7.1f} ms  "
            f"n={self.count}{f'  errors={self.errors}' if self.errors else ''}"
        )


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rows_of(target: str, phase: str, tally: Tally, elapsed: float) -> list[Row]:
    out = []
    labels = sorted(set(tally.latencies) | {k.rsplit(" ", 1)[0] for k in tally.errors})
    for label in labels:
        values = tally.latencies.get(label, [])
        errors = sum(n for k, n in tally.errors.items() if k.rsplit(" ", 1)[0] == label)
        out.append(
            Row(
                target,
                phase,
                label,
                len(values),
                len(values) / elapsed,
                pct(values, 0.5),
                pct(values, 0.95),
                pct(values, 0.99),
                errors,
            )
        )
    return out


# -- what the clients ask -----------------------------------------------------------------------


def call_ids(r: random.Random) -> int:
    # Recent calls are read more: the newest 40% (open ones) half of the time.
    return r.randint(int(CALLS * 0.6), CALLS) if r.random() < 0.5 else r.randint(1, CALLS)


def read_call(r: random.Random) -> Request:
    who = r.randint(MANAGERS + 1, TOKEN_USERS)
    return Request("GET /api/calls/{id}", "GET", f"/api/calls/{call_ids(r)}", token_of(who))


def health(_r: random.Random) -> Request:
    return Request("GET /api/health", "GET", "/api/health")


def bare(_r: random.Random) -> Request:
    return Request("GET /bare (ceiling)", "GET", "/bare")


QUESTIONS = [
    "Wie weet iets van staalbouw voor het datacenter?",
    "Who knows our GDPR rules for customer data exports?",
    "Heeft iemand ervaring met glasvezel in oude wijken?",
    "Who can help with Kubernetes monitoring and alerting?",
    "Zoek een collega met kennis van warmtepompen in kantoren",
    "Who has worked with the new invoicing system?",
]


def post_call(r: random.Random) -> Request:
    body = {"kind": "question", "title": f"{r.choice(QUESTIONS)} ({r.randint(1, 10**6)})"}
    who = r.randint(MANAGERS + 1, TOKEN_USERS)
    return Request(
        "POST /api/calls (routing)", "POST", "/api/calls", token_of(who), json.dumps(body).encode()
    )


def reply(r: random.Random) -> Request:
    body = json.dumps({"body": "Ik weet hier iets van: bel me.", "kind": "answer"}).encode()
    who = r.randint(MANAGERS + 1, TOKEN_USERS)
    call = r.randint(int(CALLS * 0.6) + 1, CALLS)  # open calls
    return Request(
        "POST /api/calls/{id}/replies", "POST", f"/api/calls/{call}/replies", token_of(who), body
    )


def board(r: random.Random) -> Request:
    who = r.randint(MANAGERS + 1, TOKEN_USERS)
    return Request("GET /api/calls (board)", "GET", "/api/calls?limit=20", token_of(who))


def dashboard(r: random.Random) -> Request:
    return Request("GET /api/dashboard", "GET", "/api/dashboard/", token_of(r.randint(1, MANAGERS)))


MIX: list[tuple[Callable[[random.Random], Request], int]] = [
    (read_call, 45),
    (board, 25),
    (reply, 12),
    (post_call, 8),
    (dashboard, 10),
]


def mixed(r: random.Random) -> Request:
    pick = r.choices([m for m, _ in MIX], weights=[w for _, w in MIX])[0]
    return pick(r)


# -- the run ------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def machine() -> str:
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return f"{os.cpu_count()} cores, {int(mem) / 2**20:.0f} GiB; load {load_average()}"


def measure(
    servers: Servers,
    clients: int,
    seconds: float,
    reads_only: bool,
    route_clients: int,
    post_only: bool = False,
) -> list[Row]:
    rows: list[Row] = []

    def run(target: str, ports: Sequence[int], phase: str, make: Any, n: int) -> None:
        # CPU the serving processes spent per request: steadier than latency on a shared
        # machine, where other work decides how long a request waits for a core.
        apps = [servers.processes[servers.app_ports.index(p)] for p in ports if target != "bare"]
        cpu = sum(cpu_seconds(a.pid) for a in apps)
        tally, elapsed = asyncio.run(run_load(ports, make, n, seconds))
        cpu = sum(cpu_seconds(a.pid) for a in apps) - cpu
        found = rows_of(target, phase, tally, elapsed)
        served = sum(row.count for row in found)
        for row in found:
            spent = f", {1000 * cpu / served:.1f} ms CPU a request" if apps and served else ""
            print(row.line() + f"   (load {load_average()}{spent})", flush=True)
        rows.extend(found)

    targets = [("1 process", servers.app_ports[:1])]
    if not reads_only and len(servers.app_ports) > 1:
        targets.append(("2 processes", servers.app_ports))
    # Warm each process's connections and caches, unmeasured.
    for _target, ports in targets:
        asyncio.run(run_load(ports, read_call, clients, 2))
    if not reads_only:
        for port in servers.app_ports:
            settle(port)
    run("bare", [servers.bare_port], "reads", bare, clients)
    if post_only:
        # Routing alone, one client (a call's own latency) and then several (how posting
        # scales; on a 2-core machine that is mostly queueing for the CPU).
        for target, ports in targets:
            run(target, ports, "routing/1", post_call, 1)
            run(target, ports, f"routing/{route_clients}", post_call, route_clients)
        run("bare", [servers.bare_port], "reads", bare, clients)
        return rows
    for target, ports in targets:
        run(target, ports, "reads", read_call, clients)
        run(target, ports, "reads", health, clients)
        if not reads_only:
            run(target, ports, "routing", post_call, route_clients)
            run(target, ports, "mix", mixed, clients)
    run("bare", [servers.bare_port], "reads", bare, clients)
    return rows


def summary(rows: Sequence[Row]) -> None:
    def rate(target: str, phase: str, endpoint: str) -> float:
        found = [
            r.rate for r in rows if (r.target, r.phase, r.endpoint) == (target, phase, endpoint)
        ]
        return statistics.mean(found) if found else math.nan

    ceiling = rate("bare", "reads", "GET /bare (ceiling)")
    print(f"\nceiling (bare Litestar, mean of the runs before and after): {ceiling:.0f}/s")
    for target in ("1 process", "2 processes"):
        for endpoint in ("GET /api/calls/{id}", "GET /api/health"):
            got = rate(target, "reads", endpoint)
            if not math.isnan(got):
                print(f"{target:11} {endpoint:22} {got:8.1f}/s = {got / ceiling:6.1%} of bare")
    for phase, endpoint in (
        ("reads", "GET /api/calls/{id}"),
        ("routing", "POST /api/calls (routing)"),
    ):
        one, two = rate("1 process", phase, endpoint), rate("2 processes", phase, endpoint)
        if not math.isnan(two):
            print(f"2 processes / 1 process, {endpoint}: {two / one:.2f}")
    mix = [r for r in rows if r.phase == "mix"]
    for target in ("1 process", "2 processes"):
        total = sum(r.rate for r in mix if r.target == target)
        if total:
            print(f"{target:11} mix: {total:.1f} requests/s in all")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "ASKHUB_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/askhub_bench"
        ),
        help="a PostgreSQL database used for nothing else: it is emptied and filled",
    )
    parser.add_argument("--reseed", action="store_true", help="fill it again even if it fits")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--route-clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--processes",
        type=int,
        choices=(1, 2),
        default=2,
        help="app processes (each holds the whole index: at 1M posts about 9 GB of memory)",
    )
    parser.add_argument("--reads-only", action="store_true", help="plain reads, one process")
    parser.add_argument(
        "--post-only",
        action="store_true",
        help="POST /api/calls alone, with one client and with --route-clients, one process",
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    url = make_url(args.database_url)
    if not url.drivername.startswith("postgresql"):
        print("bench_load: --database-url must be a PostgreSQL database", file=sys.stderr)
        return 2
    if args.people < TOKEN_USERS or args.posts < 1:
        print(f"bench_load: --people must be at least {TOKEN_USERS}", file=sys.stderr)
        return 2
    print(f"bench_load: {args.people:,} people / {args.posts:,} posts; {machine()}")
    if args.reseed or asyncio.run(seeded_size(args.database_url)) != (args.people, args.posts):
        asyncio.run(seed(args.database_url, args.people, args.posts, args.seed))
    else:
        print("  the database already holds this organisation: reused", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        servers = start_servers(
            args.database_url, 1 if args.reads_only or args.post_only else args.processes, Path(tmp)
        )
        try:
            print(
                f"clients {args.clients} (routing alone: {args.route_clients}), "
                f"{args.seconds:.0f} s per phase"
            )
            rows = measure(
                servers,
                args.clients,
                args.seconds,
                args.reads_only,
                args.route_clients,
                args.post_only,
            )
        finally:
            servers.stop()
    summary(rows)
    print(f"load at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
